namespace FedTune.Core.Aggregation;

/// <summary>Why an update was accepted or rejected.</summary>
public enum UpdateVerdict
{
    Accepted,

    /// <summary>The bytes could not be read as a FedTune adapter (format error, truncated, not safetensors).</summary>
    Unreadable,

    /// <summary>The manifest's SHA-256 does not match the bytes, or the manifest has none while one is required.</summary>
    HashMismatch,

    /// <summary>Tensor names, shapes, dtypes or LoRA rank differ from the global adapter.</summary>
    StructureMismatch,

    /// <summary>A value is NaN or infinite (or so large its norm overflows).</summary>
    NonFinite,

    /// <summary>The example count is not a positive finite number.</summary>
    InvalidWeight,

    /// <summary>The update's delta norm is more than k times the round's median delta norm.</summary>
    NormTooLarge,

    /// <summary>A frozen tensor (lora_A under freeze-A) differs from the global one.</summary>
    FrozenTensorChanged,
}

/// <summary>The outcome of validating one client's update before averaging.</summary>
/// <param name="ClientId">The client.</param>
/// <param name="Verdict">Accepted, or the reason for rejection.</param>
/// <param name="Reason">A sentence for operators; null when accepted.</param>
/// <param name="DeltaNorm">L2 norm of (update − global) over the aggregated tensors; NaN when not computed.</param>
/// <param name="ExampleCount">The update's weight.</param>
public sealed record UpdateValidationResult(string ClientId, UpdateVerdict Verdict, string? Reason, double DeltaNorm, double ExampleCount)
{
    public bool Accepted => Verdict == UpdateVerdict.Accepted;

    internal static UpdateValidationResult Reject(string clientId, UpdateVerdict verdict, string reason, double examples, double norm = double.NaN) =>
        new(clientId, verdict, reason, norm, examples);
}
