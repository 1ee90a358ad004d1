using FedTune.Core.Privacy;
using FedTune.Training.Data;

namespace FedTune.Training.Privacy;

/// <summary>
/// Audit settings. At most <see cref="MaxRecordsPerSide"/> members and as many non-members are scored (a seeded
/// random sample when a file has more); records are tokenized like training (completion-only scoring by default).
/// <see cref="CanaryCandidates"/> overrides the candidate count stored with the canaries (fewer = faster, lower
/// maximum exposure).
/// </summary>
public sealed record PrivacyAuditOptions
{
    public BootstrapOptions Bootstrap { get; init; } = new();

    public TokenizationOptions Tokenization { get; init; } = new() { SeqLength = 256 };

    /// <summary>The prompt template the models were trained with (the audit must format records the same way).</summary>
    public AlpacaPromptTemplate Template { get; init; } = AlpacaPromptTemplate.Alpaca;

    public TokenScoringOptions Scoring { get; init; } = new();

    public int MaxRecordsPerSide { get; init; } = 500;

    public int SampleSeed { get; init; } = 42;

    public bool IncludeBaseModel { get; init; } = true;

    public int? CanaryCandidates { get; init; }

    public void Validate()
    {
        Bootstrap.Validate();
        Tokenization.Validate();
        Template.Validate();
        Scoring.Validate();
        if (MaxRecordsPerSide < 2)
        {
            throw new ArgumentException($"MaxRecordsPerSide is {MaxRecordsPerSide}: score at least 2 records per side (hundreds give useful intervals).");
        }

        if (CanaryCandidates is < 2)
        {
            throw new ArgumentException($"Canary candidates is {CanaryCandidates}: rank the secret among at least 2 candidates.");
        }
    }
}
