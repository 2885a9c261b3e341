namespace RoutingData.LoadHarness;

/// <summary>
/// One system's throughput against another's, round by round. The systems of a round run one after the other, so a
/// pair of same-numbered rounds sees the machine in much the same state (load, caches, the servers' autovacuum): the
/// per-round ratio leaves out most of the drift that moves the totals.
/// </summary>
/// <remarks>
/// The interval treats the rounds as independent. They are not quite (a disturbance can outlast a round, and whatever
/// lasts the whole run moves every pair alike), so it understates the uncertainty: repeat the run and compare the runs.
/// </remarks>
/// <param name="Rounds">How many rounds were paired.</param>
/// <param name="GeometricMean">The geometric mean of the per-round ratios.</param>
/// <param name="Low">The lower end of the 95 % confidence interval of <paramref name="GeometricMean"/> (t-distribution on the log ratios).</param>
/// <param name="High">The upper end of that interval.</param>
/// <param name="Median">The median per-round ratio.</param>
/// <param name="Ahead">In how many rounds the system's throughput was above the other's.</param>
/// <param name="Ratios">The per-round ratios, in the order the rounds ran.</param>
internal sealed record RoundComparison(int Rounds, double GeometricMean, double Low, double High, double Median, int Ahead, IReadOnlyList<double> Ratios)
{
    // Two-sided 95 % quantiles of Student's t for 1–30 degrees of freedom.
    private static readonly double[] T95 =
    [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];

    /// <summary>Pairs the rounds by number; null with fewer than two pairs or a round without throughput.</summary>
    public static RoundComparison? Of(IReadOnlyList<double> system, IReadOnlyList<double> other)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(other);
        var n = Math.Min(system.Count, other.Count);
        if (n < 2)
        {
            return null;
        }

        var ratios = new double[n];
        var logs = new double[n];
        var ahead = 0;
        for (var i = 0; i < n; i++)
        {
            if (system[i] <= 0 || other[i] <= 0)
            {
                return null;
            }

            ratios[i] = system[i] / other[i];
            logs[i] = Math.Log(ratios[i]);
            ahead += ratios[i] > 1 ? 1 : 0;
        }

        var mean = 0.0;
        foreach (var log in logs)
        {
            mean += log;
        }

        mean /= n;
        var squares = 0.0;
        foreach (var log in logs)
        {
            squares += (log - mean) * (log - mean);
        }

        var halfWidth = TQuantile(n - 1) * Math.Sqrt(squares / (n - 1) / n);
        var sorted = (double[])ratios.Clone();
        Array.Sort(sorted);
        var median = n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
        return new RoundComparison(n, Math.Exp(mean), Math.Exp(mean - halfWidth), Math.Exp(mean + halfWidth), median, ahead, ratios);
    }

    // Past the table, each band takes the quantile of its lowest degrees of freedom (wider, never narrower).
    private static double TQuantile(int degreesOfFreedom) => degreesOfFreedom switch
    {
        <= 30 => T95[degreesOfFreedom - 1],
        <= 40 => 2.042,
        <= 60 => 2.021,
        <= 120 => 2.000,
        _ => 1.980,
    };
}
