using System.IO.Compression;
using System.Text;

namespace FedTune.Core.Privacy;

/// <summary>
/// Per-record attack scores from token log-probabilities (higher = more likely a member). Pure functions, so a
/// hospital can score its own records anywhere the model's outputs are available.
/// </summary>
public static class AttackScoring
{
    /// <summary>The Min-K% fractions the audit sweeps; <see cref="DefaultMinKFraction"/> is the headline one.</summary>
    public static IReadOnlyList<double> MinKFractions { get; } = [0.05, 0.10, 0.20, 0.30, 0.50];

    public const double DefaultMinKFraction = 0.20;

    /// <summary>Loss attack: −mean NLL.</summary>
    public static double Loss(TokenLogProbabilities target)
    {
        ArgumentNullException.ThrowIfNull(target);
        return -target.MeanNll;
    }

    /// <summary>Reference-calibrated loss: NLL_reference − NLL_target (how much the fine-tuning lowered this record's loss).</summary>
    public static double ReferenceCalibratedLoss(TokenLogProbabilities target, TokenLogProbabilities reference)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(reference);
        return reference.MeanNll - target.MeanNll;
    }

    /// <summary>zlib attack: mean log-likelihood (−NLL, ≤ 0) over the zlib-compressed UTF-8 byte length of the text.</summary>
    public static double Zlib(TokenLogProbabilities target)
    {
        ArgumentNullException.ThrowIfNull(target);
        return -target.MeanNll / ZlibLength(target.Text);
    }

    /// <summary>Min-K% Prob: the mean of the lowest <paramref name="fraction"/> of the token log-probabilities.</summary>
    public static double MinK(TokenLogProbabilities target, double fraction = DefaultMinKFraction)
    {
        ArgumentNullException.ThrowIfNull(target);
        return MeanOfLowest(target.LogProbabilities.Select(v => (double)v).ToArray(), fraction);
    }

    /// <summary>
    /// Min-K%++: each token's (log p − μ) / σ with μ, σ² the mean and variance of log p(z) under the model's next-token
    /// distribution at that position, then the mean of the lowest <paramref name="fraction"/>. σ is floored at 1e-6
    /// (a near-deterministic position would otherwise divide by zero).
    /// </summary>
    public static double MinKPlusPlus(TokenLogProbabilities target, double fraction = DefaultMinKFraction)
    {
        ArgumentNullException.ThrowIfNull(target);
        var n = target.TokenCount;
        if (target.ExpectedLogProbabilities.Length != n || target.LogProbabilityVariances.Length != n)
        {
            throw new ArgumentException("Min-K%++ needs the expected log-probability and its variance at every scored token.", nameof(target));
        }

        var standardised = new double[n];
        for (var i = 0; i < n; i++)
        {
            var sigma = Math.Max(Math.Sqrt(Math.Max(target.LogProbabilityVariances[i], 0)), 1e-6);
            standardised[i] = (target.LogProbabilities[i] - target.ExpectedLogProbabilities[i]) / sigma;
        }

        return MeanOfLowest(standardised, fraction);
    }

    /// <summary>Mean of the lowest max(1, floor(fraction·n)) values.</summary>
    public static double MeanOfLowest(double[] values, double fraction)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (!(fraction > 0 && fraction <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "The Min-K% fraction must be in (0, 1], e.g. 0.2 for 20%.");
        }

        if (values.Length == 0)
        {
            throw new ArgumentException("A record with no scored tokens has no Min-K% score: drop empty records before scoring.", nameof(values));
        }

        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        var count = Math.Max(1, (int)Math.Floor(fraction * sorted.Length));
        double sum = 0;
        for (var i = 0; i < count; i++)
        {
            sum += sorted[i];
        }

        return sum / count;
    }

    /// <summary>Length in bytes of the zlib stream (RFC 1950, optimal compression) of the UTF-8 text.</summary>
    public static int ZlibLength(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        using var buffer = new MemoryStream();
        using (var zlib = new ZLibStream(buffer, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            zlib.Write(bytes, 0, bytes.Length);
        }

        return (int)buffer.Length;
    }
}
