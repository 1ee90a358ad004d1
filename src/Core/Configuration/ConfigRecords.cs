namespace FedTune.Core.Configuration;

/// <summary>
/// The whole validated configuration: the data, the <see cref="TrainingRecipe"/> every hospital trains with, the
/// federation, and the few server-side and reporting keys that are not training.
/// </summary>
public sealed record FedTuneConfig
{
    public required DatasetConfig Dataset { get; init; }

    /// <summary>How every hospital trains (model, quantization, LoRA, train and training_arguments keys).</summary>
    public required TrainingRecipe Recipe { get; init; }

    public required FederationConfig Federation { get; init; }

    /// <summary><c>train.save_every_round</c>: the server keeps the global adapter as a checkpoint every N rounds.</summary>
    public int SaveEveryRound { get; init; } = ConfigDefaults.SaveEveryRound;

    /// <summary>
    /// Keys the file gives that are accepted but change nothing here (e.g. <c>report_to: wandb</c>), one plain
    /// sentence each, for the command that runs the configuration to say once.
    /// </summary>
    public IReadOnlyList<string> KeysWithoutEffect { get; init; } = [];

    /// <summary>The file it was read from, when read from a file.</summary>
    public string? SourcePath { get; init; }
}

/// <summary><c>dataset:</c> the instruction dataset (hub id or local path).</summary>
public sealed record DatasetConfig
{
    public required string Name { get; init; }
}
