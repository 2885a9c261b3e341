using System.Text;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace RoutingData.Docs.Tests;

/// <summary>
/// Every C# example in the README, docs/ and the packages' READMEs compiles against the packages as they are now.
/// Each ```csharp block says how, in an HTML comment on the line before it (not rendered):
/// <c>&lt;!-- compile: WebApplicationBuilder builder, long id --&gt;</c> — statements, run as the body of an async
/// method with those parameters (the names the example takes from its surroundings);
/// <c>&lt;!-- compile: types --&gt;</c> — type declarations; <c>&lt;!-- compile: no, reason --&gt;</c> — not C# to compile.
/// </summary>
public sealed partial class DocsSnippetTests
{
    [Fact]
    public void Every_csharp_example_in_the_docs_compiles()
    {
        var snippets = FindSnippets();
        Assert.True(snippets.Count >= 20, $"Found only {snippets.Count} examples: is the repository root right ({RepositoryRoot})?");

        var unmarked = snippets.Where(s => s.Directive is null).Select(s => s.Location).ToList();
        Assert.True(unmarked.Count == 0, "These examples say neither how to compile them nor why not (<!-- compile: … --> on the line before):\n" + string.Join("\n", unmarked));

        var compiled = snippets.Where(s => !s.Directive!.StartsWith("no", StringComparison.Ordinal)).ToList();
        var trees = new List<SyntaxTree> { Parse(SupportCode, "support.cs") };
        for (var i = 0; i < compiled.Count; i++)
        {
            trees.Add(Parse(Wrap(compiled[i], i), compiled[i].Location));
        }

        var compilation = CSharpCompilation.Create(
            "DocsSnippets",
            trees,
            References(),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        var errors = compilation.GetDiagnostics(TestContext.Current.CancellationToken).Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, "Examples that do not compile:\n" + string.Join("\n", errors.Select(Describe)));
    }

    [Fact]
    public void A_broken_example_is_reported_with_its_file_and_line()
    {
        // The check itself must be able to fail: an example calling a method that does not exist.
        var snippet = new Snippet("docs/example.md:3", "ReplicatedDataSource dataSource", "dataSource.NoSuchMethod();");
        var compilation = CSharpCompilation.Create(
            "Broken",
            [Parse(SupportCode, "support.cs"), Parse(Wrap(snippet, 0), snippet.Location)],
            References(),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var error = Assert.Single(compilation.GetDiagnostics(TestContext.Current.CancellationToken), d => d.Severity == DiagnosticSeverity.Error);
        Assert.Contains("docs/example.md:3", Describe(error), StringComparison.Ordinal);
        Assert.Contains("NoSuchMethod", Describe(error), StringComparison.Ordinal);
    }

    private sealed record Snippet(string Location, string? Directive, string Code);

    private static string RepositoryRoot
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "RoutingData.sln")))
                {
                    return directory.FullName;
                }
            }

            throw new InvalidOperationException($"RoutingData.sln not found above {AppContext.BaseDirectory}.");
        }
    }

    private static List<Snippet> FindSnippets()
    {
        var root = RepositoryRoot;
        var files = new List<string> { Path.Combine(root, "README.md") };
        files.AddRange(Directory.GetFiles(Path.Combine(root, "docs"), "*.md"));
        var bin = $"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}";
        foreach (var folder in new[] { "src", "samples" })
        {
            files.AddRange(Directory.GetFiles(Path.Combine(root, folder), "README.md", SearchOption.AllDirectories).Where(f => !f.Contains(bin, StringComparison.Ordinal)));
        }
        var snippets = new List<Snippet>();
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            var lines = File.ReadAllLines(file);
            var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            for (var i = 0; i < lines.Length; i++)
            {
                if (lines[i].Trim() != "```csharp")
                {
                    continue;
                }

                string? directive = null;
                for (var j = i - 1; j >= 0 && j >= i - 2; j--)
                {
                    if (CompileDirective().Match(lines[j]) is { Success: true } match)
                    {
                        directive = match.Groups[1].Value.Trim();
                        break;
                    }

                    if (lines[j].Trim().Length > 0)
                    {
                        break;
                    }
                }

                var start = i + 1;
                var end = start;
                while (end < lines.Length && lines[end].Trim() != "```")
                {
                    end++;
                }

                // The #line directive maps errors back to the markdown file's own lines.
                var code = new StringBuilder().Append("#line ").Append(start + 1).Append(" \"").Append(relative).Append("\"\n");
                for (var k = start; k < end; k++)
                {
                    code.Append(lines[k]).Append('\n');
                }

                code.Append("#line default\n");
                snippets.Add(new Snippet($"{relative}:{i + 1}", directive, code.ToString()));
                i = end;
            }
        }

        return snippets;
    }

    private static string Wrap(Snippet snippet, int index)
    {
        if (snippet.Directive == "types")
        {
            return $"namespace Snippet{index}\n{{\n{snippet.Code}}}\n";
        }

        // An example may start with the usings it needs: they go above the method (blank lines keep the numbering).
        var usings = new StringBuilder();
        var body = UsingLine().Replace(snippet.Code, match =>
        {
            usings.Append(match.Value.Trim()).Append('\n');
            return string.Empty;
        });
        return $"namespace Snippet{index}\n{{\n{usings}    internal static class Example\n    {{\n#pragma warning disable CS1998, CS0168, CS0219, CS8321\n        public static async System.Threading.Tasks.Task RunAsync({snippet.Directive})\n        {{\n{body}        }}\n    }}\n}}\n";
    }

    [GeneratedRegex(@"^using [\w.]+;[^\n]*(?=\n)", RegexOptions.Multiline)]
    private static partial Regex UsingLine();

    private static SyntaxTree Parse(string code, string path) =>
        CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(LanguageVersion.Latest), path);

    private static string Describe(Diagnostic diagnostic)
    {
        var span = diagnostic.Location.GetMappedLineSpan();
        return $"{span.Path}:{span.StartLinePosition.Line + 1}: {diagnostic.Id} {diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
    }

    private static List<MetadataReference> References()
    {
        var references = new List<MetadataReference>();
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        foreach (var path in paths)
        {
            if (path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) && !Path.GetFileName(path).StartsWith("Microsoft.CodeAnalysis", StringComparison.Ordinal))
            {
                references.Add(MetadataReference.CreateFromFile(path));
            }
        }

        return references;
    }

    [GeneratedRegex(@"^\s*<!--\s*compile:\s*(.*?)\s*-->\s*$")]
    private static partial Regex CompileDirective();

    /// <summary>The usings an application would have, and the application types the examples mention.</summary>
    private const string SupportCode = """
        global using System;
        global using System.Collections.Generic;
        global using System.Linq;
        global using System.Net;
        global using System.Threading;
        global using System.Threading.Tasks;
        global using Dapper;
        global using Microsoft.AspNetCore.Builder;
        global using Microsoft.EntityFrameworkCore;
        global using Microsoft.Extensions.Configuration;
        global using Microsoft.Extensions.DependencyInjection;
        global using Microsoft.Extensions.Hosting;
        global using Microsoft.Extensions.Logging;
        global using OpenTelemetry.Metrics;
        global using OpenTelemetry.Trace;
        global using Polly;
        global using RoutingData;
        global using RoutingData.AspNetCore;
        global using RoutingData.EntityFrameworkCore;
        global using RoutingData.Testing;
        global using RoutingData.Testing.Faults;
        global using RoutingData.Testing.Patroni;
        global using RoutingData.Testing.Xunit;
        global using Xunit;

        public partial class Program;

        public sealed class Order
        {
            public long Id { get; set; }
            public string State { get; set; } = "";
        }

        public sealed class ShopContext(DbContextOptions<ShopContext> options) : DbContext(options)
        {
            public DbSet<Order> Orders => Set<Order>();
        }

        public sealed record Message(string Body, IReadOnlyDictionary<string, string> Headers);

        public interface IMessageQueue
        {
            Task PublishAsync(Message message);
        }

        public sealed class MyAttemptLoggerOptions : ResilienceStrategyOptions;

        public sealed class MyAttemptLogger : ResilienceStrategy
        {
            protected override ValueTask<Outcome<TResult>> ExecuteCore<TResult, TState>(
                Func<ResilienceContext, TState, ValueTask<Outcome<TResult>>> callback, ResilienceContext context, TState state) =>
                callback(context, state);
        }
        """;
}
