using RoutingData.LoadHarness;
using Xunit;

namespace RoutingData.Tests.LoadHarness;

/// <summary>The round-by-round comparison the load report states "at least" and "behind" with.</summary>
public sealed class RoundComparisonTests
{
    [Fact]
    public void Pairs_rounds_by_number_and_gives_the_geometric_mean_median_and_rounds_ahead()
    {
        // By round: 0.5, 3.0, 1.2, 1.0. Paired by size instead, the ratios would be 1.0, 1.0, 1.2, 1.5.
        var comparison = RoundComparison.Of([100, 300, 240, 50], [200, 100, 200, 50]);

        Assert.NotNull(comparison);
        Assert.Equal(4, comparison.Rounds);
        Assert.Equal([0.5, 3.0, 1.2, 1.0], comparison.Ratios);
        Assert.Equal(Math.Pow(0.5 * 3.0 * 1.2 * 1.0, 0.25), comparison.GeometricMean, 9);
        Assert.Equal(1.1, comparison.Median, 9);
        Assert.Equal(2, comparison.Ahead);
    }

    [Fact]
    public void The_median_of_an_odd_number_of_rounds_is_the_middle_ratio()
    {
        var comparison = RoundComparison.Of([90, 130, 100], [100, 100, 100]);

        Assert.NotNull(comparison);
        Assert.Equal(1.0, comparison.Median, 9);
        Assert.Equal(1, comparison.Ahead);
    }

    [Fact]
    public void Past_thirty_degrees_of_freedom_the_interval_takes_the_bands_widest_quantile()
    {
        // 40 rounds alternating 1.1 and 0.9: 39 degrees of freedom, inside the 31–40 band, which uses t(0.975, 30) = 2.042.
        var ratios = Enumerable.Range(0, 40).Select(i => i % 2 == 0 ? 1.1 : 0.9).ToArray();
        var comparison = RoundComparison.Of(ratios.Select(r => r * 1000).ToList(), ratios.Select(_ => 1000.0).ToList());

        var logs = ratios.Select(r => Math.Log(r)).ToArray();
        var mean = logs.Average();
        var sd = Math.Sqrt(logs.Sum(l => (l - mean) * (l - mean)) / (logs.Length - 1));
        Assert.NotNull(comparison);
        Assert.Equal(Math.Exp(mean + 2.042 * sd / Math.Sqrt(40)), comparison.High, 9);
        Assert.Equal(Math.Exp(mean - 2.042 * sd / Math.Sqrt(40)), comparison.Low, 9);
    }

    [Fact]
    public void The_confidence_interval_is_students_t_on_the_log_ratios_and_contains_the_mean()
    {
        double[] ratios = [1.02, 0.98, 1.05, 1.01, 0.99, 1.03];
        var comparison = RoundComparison.Of(ratios.Select(r => r * 1000).ToList(), ratios.Select(_ => 1000.0).ToList());

        var logs = ratios.Select(r => Math.Log(r)).ToArray();
        var mean = logs.Average();
        var sd = Math.Sqrt(logs.Sum(l => (l - mean) * (l - mean)) / (logs.Length - 1));
        var half = 2.571 * sd / Math.Sqrt(logs.Length); // t(0.975, 5)
        Assert.NotNull(comparison);
        Assert.Equal(Math.Exp(mean - half), comparison.Low, 9);
        Assert.Equal(Math.Exp(mean + half), comparison.High, 9);
        Assert.True(comparison.Low < comparison.GeometricMean && comparison.GeometricMean < comparison.High);
    }

    [Fact]
    public void Identical_rounds_give_a_ratio_of_one_with_no_spread()
    {
        var comparison = RoundComparison.Of([500, 700, 600], [500, 700, 600]);

        Assert.NotNull(comparison);
        Assert.Equal(1, comparison.GeometricMean, 12);
        Assert.Equal(1, comparison.Low, 12);
        Assert.Equal(1, comparison.High, 12);
        Assert.Equal(0, comparison.Ahead);
    }

    [Fact]
    public void Fewer_than_two_pairs_or_an_empty_round_give_no_comparison()
    {
        Assert.Null(RoundComparison.Of([100], [100]));
        Assert.Null(RoundComparison.Of([100, 100, 100], [100]));
        Assert.Null(RoundComparison.Of([100, 0], [100, 100]));
    }

    [Fact]
    public void Unequal_round_counts_pair_only_the_rounds_both_ran()
    {
        var comparison = RoundComparison.Of([120, 80, 999], [100, 100]);

        Assert.NotNull(comparison);
        Assert.Equal(2, comparison.Rounds);
        Assert.Equal([1.2, 0.8], comparison.Ratios);
    }
}
