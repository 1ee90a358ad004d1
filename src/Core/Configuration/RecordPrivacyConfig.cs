namespace FedTune.Core.Configuration;

/// <summary>
/// <c>train.differential_privacy:</c> record-level DP-SGD at every hospital (Abadi et al. 2016): each optimizer step
/// takes a Poisson sample of the hospital's training records (each with probability batch / records), clips each
/// record's gradient to <see cref="ClipNorm"/>, sums them, adds Gaussian noise N(0, (z·C)²) per coordinate and divides
/// by the expected batch. It protects each patient record (what the membership-inference audit measures), which
/// hospital-level DP (<c>federation.differential_privacy:</c>, one hospital's whole contribution) cannot do with a
/// handful of hospitals.
/// </summary>
public sealed record RecordPrivacyConfig
{
    /// <summary><c>clip_norm</c>: L2 norm each record's gradient (over all adapter parameters) is clipped to (C).</summary>
    public required double ClipNorm { get; init; }

    /// <summary><c>noise_multiplier</c>: the noise's standard deviation divided by C (z).</summary>
    public required double NoiseMultiplier { get; init; }

    /// <summary><c>delta</c>: the δ of the (ε, δ) guarantee each hospital reports.</summary>
    public double Delta { get; init; } = ConfigDefaults.Delta;

    /// <summary>Checks the values; an <see cref="ArgumentException"/> names the key.</summary>
    public RecordPrivacyConfig Validate()
    {
        if (!(ClipNorm > 0) || !double.IsFinite(ClipNorm))
            throw new ArgumentException($"Training recipe key 'train.differential_privacy.clip_norm' is {ClipNorm}: it must be a finite number above 0.");
        if (!(NoiseMultiplier > 0) || !double.IsFinite(NoiseMultiplier))
            throw new ArgumentException($"Training recipe key 'train.differential_privacy.noise_multiplier' is {NoiseMultiplier}: it must be a finite number above 0 (without noise there is no guarantee).");
        if (!(Delta is > 0 and < 1))
            throw new ArgumentException($"Training recipe key 'train.differential_privacy.delta' is {Delta}: it must be in (0, 1).");
        return this;
    }
}
