namespace FedTune.TestSupport;

/// <summary>Whether 64-bit ring elements look uniformly random: what a curious server sees of a masked secure-aggregation upload.</summary>
public static class RingUniformity
{
    /// <summary>
    /// Chi-square test of uniformity on all 8 bytes of every 64-bit word (256 bins each, pooled: 8 x 255 degrees of
    /// freedom), with the Wilson-Hilferty normal approximation for the p-value.
    /// </summary>
    public static double PValue(IReadOnlyCollection<ulong> words)
    {
        ArgumentNullException.ThrowIfNull(words);
        double chi = 0;
        for (var b = 0; b < 8; b++)
        {
            var counts = new long[256];
            foreach (var w in words)
            {
                counts[(int)((w >> (8 * b)) & 0xff)]++;
            }

            var expected = words.Count / 256.0;
            chi += counts.Sum(c => (c - expected) * (c - expected) / expected);
        }

        const double k = 8 * 255;
        var z = (Math.Pow(chi / k, 1.0 / 3) - (1 - 2 / (9 * k))) / Math.Sqrt(2 / (9 * k));
        return 0.5 * Erfc(z / Math.Sqrt(2));
    }

    private static double Erfc(double x)
    {
        // Abramowitz-Stegun 7.1.26 is enough for a 1e-3 threshold; for large x it tends to 0 as it should.
        var t = 1 / (1 + 0.3275911 * Math.Abs(x));
        var y = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.Exp(-x * x);
        return x >= 0 ? y : 2 - y;
    }
}
