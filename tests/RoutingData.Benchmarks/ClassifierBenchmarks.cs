using BenchmarkDotNet.Attributes;
using RoutingData.Routing;
using RoutingData.Sql;

namespace RoutingData.Benchmarks;

/// <summary>Cost of classifying a statement: cached (seen before) and new (a 1 KB statement, lexed in full).</summary>
[MemoryDiagnoser]
public class ClassifierBenchmarks
{
    private const string Typical = "SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = @id";

    private readonly StatementClassifier _classifier = new(FunctionCatalog.CreateDefault([], []));
    private readonly FunctionCatalog _catalog = FunctionCatalog.CreateDefault([], []);
    private string _typicalCopy = null!;
    private string _large = null!;

    [GlobalSetup]
    public void Setup()
    {
        // A different string instance with the same text: measures the cache lookup, not a reference check.
        _typicalCopy = new string(Typical.AsSpan());
        _classifier.Classify(Typical);
        _large = BuildLargeStatement();
        if (_large.Length is < 1000 or > 1100)
        {
            throw new InvalidOperationException($"The large statement is {_large.Length} characters.");
        }
    }

    [Benchmark(Description = "cached ~100-char SELECT (new string instance)")]
    public int Cached() => (int)_classifier.Classify(_typicalCopy).Kind;

    [Benchmark(Description = "new 1 KB SELECT (lexed in full, no cache)")]
    public int Uncached1KB() => (int)StatementClassifier.ClassifyUncached(_large, _catalog).Kind;

    private static string BuildLargeStatement() =>
        """
        WITH recent AS (
            SELECT o.id, o.customer_id, o.total, o.created_at
            FROM orders o
            WHERE o.created_at > now() - interval '7 days' AND o.status IN ('paid', 'shipped') -- only settled orders
        ), ranked AS (
            SELECT r.*, row_number() OVER (PARTITION BY r.customer_id ORDER BY r.total DESC) AS rn
            FROM recent r
        )
        SELECT c.id, c.name, lower(c.email) AS email, coalesce(sum(r.total), 0) AS spent,
               count(*) FILTER (WHERE r.total > 100) AS big_orders,
               max(r.created_at)::date AS last_order,
               string_agg(DISTINCT r.id::text, ',' ORDER BY r.id::text) AS order_ids,
               /* ranking of the customer's biggest order */ min(r.rn) AS best_rank
        FROM customers c
        JOIN ranked r ON r.customer_id = c.id
        LEFT JOIN addresses a ON a.customer_id = c.id AND a.kind = 'billing'
        WHERE c.deleted_at IS NULL
          AND c.name NOT LIKE 'test%' AND c.country = $1 AND c.segment = ANY($2)
          AND EXISTS (SELECT 1 FROM payments p WHERE p.order_id = r.id AND p.state = 'captured')
        GROUP BY c.id, c.name, c.email
        HAVING coalesce(sum(r.total), 0) > $3
        ORDER BY spent DESC, c.id
        LIMIT 50 OFFSET 0
        """;
}
