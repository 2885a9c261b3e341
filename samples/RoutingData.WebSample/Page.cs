namespace RoutingData.WebSample;

/// <summary>A page that adds todos and reads them back, showing the host, role and reason of every read.</summary>
internal static class Page
{
    public const string Html = """
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>RoutingData web sample</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 52rem; color: #222; }
  table { border-collapse: collapse; width: 100%; margin-top: 1rem; }
  td, th { border-bottom: 1px solid #ddd; padding: .3rem .5rem; text-align: left; font-size: .9rem; }
  .Primary { color: #a33; font-weight: 600; } .Replica { color: #275; font-weight: 600; }
  code { background: #f3f3f3; padding: 0 .2rem; }
</style>
</head>
<body>
<h1>Todos on a replicated cluster</h1>
<p>Writes go to the primary. Reads go to a replica that has replayed this browser's session (carried in the
<code>RoutingData-Session</code> cookie); right after a write the replicas are 500 ms behind, so the read goes
to the primary — and a moment later back to a replica.</p>
<form id="add"><input id="title" placeholder="What needs doing?" required> <button>Add</button>
<button type="button" id="reload">Read again</button></form>
<table><thead><tr><th>#</th><th>what</th><th>served by</th><th>role</th><th>why</th></tr></thead><tbody id="log"></tbody></table>
<h2>Latest todos</h2>
<ul id="todos"></ul>
<script>
const log = (what, s) => {
  const row = document.createElement('tr');
  row.innerHTML = `<td>${document.getElementById('log').children.length + 1}</td><td>${what}</td><td>${s.host}</td><td class="${s.role}">${s.role}</td><td>${s.reason}</td>`;
  document.getElementById('log').prepend(row);
};
async function reload() {
  const r = await (await fetch('/api/todos')).json();
  log('read the list', r.servedBy);
  document.getElementById('todos').innerHTML = r.items.map(t => `<li>${t.title.replace(/</g, '&lt;')}</li>`).join('');
}
document.getElementById('add').onsubmit = async e => {
  e.preventDefault();
  const title = document.getElementById('title').value;
  const r = await (await fetch('/api/todos', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title }) })).json();
  log('add "' + title.replace(/</g, '&lt;') + '"', r.servedBy);
  document.getElementById('title').value = '';
  await reload();
};
document.getElementById('reload').onclick = reload;
reload();
</script>
</body>
</html>
""";
}
