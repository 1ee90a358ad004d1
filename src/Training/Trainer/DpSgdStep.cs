using System.Security.Cryptography;
using FedTune.Core.Configuration;
using FedTune.Core.Privacy;
using FedTune.Training.Data;
using FedTune.Training.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Trainer;

/// <summary>
/// The gradient of one record-level DP-SGD step (Abadi et al. 2016, with Opacus's conventions), in three parts a test
/// can check one by one:
/// <list type="number">
/// <item><see cref="DrawSample"/>: a Poisson sample, each training record in with probability q = expected batch / records;</item>
/// <item><see cref="ClipAndSum"/>: each sampled record's gradient (of its mean token loss, over all adapter parameters)
/// clipped to L2 norm C and summed;</item>
/// <item><see cref="SetNoisyGradients"/>: the sum plus N(0, (z·C)²) per coordinate, divided by the expected batch (not the
/// realized sample size, as Opacus does under Poisson sampling), set as each parameter's gradient.</item>
/// </list>
/// The sample and the noise come from the operating system's cryptographic generator, never from the run's seed: the
/// plan (and so the seed) is public, and a sample or noise anyone can replay voids the guarantee. Each step seeds a
/// fresh torch generator with 64 bits from <see cref="RandomNumberGenerator"/> for its noise (torch's generator itself is
/// not cryptographic, as in Opacus without <c>secure_mode</c>; floating-point attacks on the Gaussian are not addressed).
/// </summary>
public sealed class DpSgdStep
{
    /// <summary>Added to a record's gradient norm before dividing, as Opacus does, so a zero gradient is not divided by 0.</summary>
    private const double NormEpsilon = 1e-6;

    private readonly RecordPrivacyConfig _privacy;
    private readonly int _recordCount;

    /// <param name="privacy">Clip norm C, noise multiplier z (δ is only for the ledger).</param>
    /// <param name="expectedBatch">Records per step on average: batch size × gradient accumulation steps.</param>
    /// <param name="recordCount">The hospital's training records.</param>
    public DpSgdStep(RecordPrivacyConfig privacy, int expectedBatch, int recordCount)
    {
        _privacy = (privacy ?? throw new ArgumentNullException(nameof(privacy))).Validate();
        _recordCount = recordCount;
        ExpectedBatch = expectedBatch;
        SamplingRate = RecordPrivacyLedger.SamplingRate(expectedBatch, recordCount);
    }

    /// <summary>The clip norm, noise multiplier and δ this step applies.</summary>
    public RecordPrivacyConfig Privacy => _privacy;

    /// <summary>q: each record's chance to be in a step's sample.</summary>
    public double SamplingRate { get; }

    /// <summary>B: the divisor of the noised sum.</summary>
    public int ExpectedBatch { get; }

    /// <summary>The record indices of one step's Poisson sample (possibly none), drawn from secret randomness.</summary>
    public int[] DrawSample()
    {
        var bits = new byte[_recordCount * sizeof(ulong)];
        RandomNumberGenerator.Fill(bits);
        var sample = new List<int>();
        for (int i = 0; i < _recordCount; i++)
        {
            var uniform = (BitConverter.ToUInt64(bits, i * sizeof(ulong)) >> 11) * (1.0 / (1UL << 53));
            if (uniform < SamplingRate)
            {
                sample.Add(i);
            }
        }

        return [.. sample];
    }

    /// <summary>
    /// Runs forward and backward on each sampled record alone (loss: its summed token NLL over its scored tokens) and
    /// adds its gradient, scaled by min(1, C / ‖g‖), into one sum per parameter. The sums live in the caller's dispose
    /// scope; every other tensor is freed per record. The parameters' gradients are left zeroed.
    /// </summary>
    public ClippedGradientSum ClipAndSum(
        ICausalLanguageModel model,
        IReadOnlyList<KeyValuePair<string, TorchSharp.Modules.Parameter>> parameters,
        IReadOnlyList<TokenizedExample> examples,
        IReadOnlyList<int> sample,
        CausalLmBatchCollator collator)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(collator);
        var sums = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using (torch.no_grad())
        {
            foreach (var (name, parameter) in parameters)
            {
                sums[name] = torch.zeros_like(parameter);
            }
        }

        var norms = new List<double>(sample.Count);
        double lossSum = 0;
        int scoredRecords = 0;
        long tokens = 0;
        foreach (var index in sample)
        {
            var example = examples[index];
            var scored = example.ScoredTokenCount;
            if (scored == 0)
            {
                norms.Add(0);
                continue;
            }

            using var recordScope = torch.NewDisposeScope();
            ZeroGradients(parameters);
            using var batch = collator.Collate([example], model.Device);
            var sum = model.SumNll(batch.InputIds, batch.AttentionMask, batch.Labels);
            (sum / scored).backward();
            lossSum += sum.item<float>() / scored;
            scoredRecords++;
            tokens += batch.RealTokens;

            using var noGrad = torch.no_grad();
            Tensor? squares = null;
            foreach (var (_, parameter) in parameters)
            {
                if (parameter.grad is { } grad)
                {
                    var s = grad.pow(2).sum();
                    squares = squares is null ? s : squares + s;
                }
            }

            var norm = squares is null ? 0 : Math.Sqrt(squares.to_type(ScalarType.Float64).item<double>());
            norms.Add(norm);
            var scale = Math.Min(1.0, _privacy.ClipNorm / (norm + NormEpsilon));
            foreach (var (name, parameter) in parameters)
            {
                if (parameter.grad is { } grad)
                {
                    sums[name].add_(grad, alpha: scale);
                }
            }
        }

        ZeroGradients(parameters);
        return new ClippedGradientSum(sums, norms, scoredRecords > 0 ? lossSum / scoredRecords : 0, scoredRecords, tokens);
    }

    /// <summary>
    /// Sets each parameter's gradient to (its clipped sum + N(0, (z·C)²) per coordinate) / B and returns the L2 norm of
    /// the result. The noise is drawn on the CPU (the same on every device; the adapter is small) from a torch generator
    /// seeded with fresh secret bits, then moved to each parameter's device.
    /// </summary>
    public double SetNoisyGradients(
        IReadOnlyList<KeyValuePair<string, TorchSharp.Modules.Parameter>> parameters,
        ClippedGradientSum clipped)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(clipped);
        var standardDeviation = _privacy.NoiseMultiplier * _privacy.ClipNorm;
        using var noGrad = torch.no_grad();
        Tensor? squares = null;
        using var generator = new Generator(SecretSeed());
        foreach (var (name, parameter) in parameters)
        {
            var noise = torch.randn(parameter.shape, dtype: parameter.dtype, generator: generator).to(parameter.device);
            var gradient = clipped.Sums[name].add(noise, alpha: standardDeviation).div_(ExpectedBatch);
            var square = gradient.pow(2).sum().to_type(ScalarType.Float64);
            squares = squares is null ? square : squares + square;
            parameter.grad = gradient;
        }

        return squares is null ? 0 : Math.Sqrt(squares.item<double>());
    }

    private static ulong SecretSeed()
    {
        Span<byte> bytes = stackalloc byte[sizeof(ulong)];
        RandomNumberGenerator.Fill(bytes);
        return BitConverter.ToUInt64(bytes);
    }

    private static void ZeroGradients(IReadOnlyList<KeyValuePair<string, TorchSharp.Modules.Parameter>> parameters)
    {
        foreach (var (_, parameter) in parameters)
        {
            parameter.grad?.zero_();
        }
    }
}

/// <summary>
/// What <see cref="DpSgdStep.ClipAndSum"/> produced: the clipped per-parameter sums, each sampled record's gradient norm
/// before clipping (0 for a record with no scored token), the mean of the records' mean token losses (0 when no sampled
/// record had a scored token), the records that had one, and the real tokens processed.
/// </summary>
public sealed record ClippedGradientSum(
    IReadOnlyDictionary<string, Tensor> Sums,
    IReadOnlyList<double> RecordNorms,
    double MeanLoss,
    int ScoredRecords,
    long Tokens);
