namespace FedTune.Training.Privacy;

/// <summary>
/// One model to audit: <see cref="Path"/> is a PEFT adapter folder (adapter_config.json, applied to the base model),
/// a wire-format adapter file (a round checkpoint), or a full Hugging Face model folder (config.json, e.g. a merged model). <see cref="Epsilon"/> is the DP guarantee
/// of a DP run (printed beside its curve), <see cref="Round"/> the round of a checkpoint (null for a final model).
/// </summary>
public sealed record AuditModelSpec(string Label, string Path, TrainingArm Arm = TrainingArm.Other, double? Epsilon = null, int? Round = null)
{
    /// <summary>The label of the base model's row (it needs no path: the base model itself is scored).</summary>
    public const string BaseLabel = "base";
}
