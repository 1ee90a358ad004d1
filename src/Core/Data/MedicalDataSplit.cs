namespace FedTune.Core.Data;

/// <summary>One hospital's private data: what it trains on and what it holds out for its own evaluation/audits.</summary>
public sealed record HospitalShard(int Index, string Name, IReadOnlyList<AlpacaRecord> Train, IReadOnlyList<AlpacaRecord> HeldOut)
{
    /// <summary>The specialties this hospital holds (with <see cref="HospitalPartitioning.BySpecialty"/>; empty otherwise).</summary>
    public IReadOnlyList<MedicalSpecialty> Specialties { get; init; } = [];

    /// <summary>All of the hospital's records (train then held-out).</summary>
    public IEnumerable<AlpacaRecord> All => Train.Concat(HeldOut);
}

/// <summary>
/// The result of <see cref="MedicalDataSplitter.Split"/>: disjoint public, evaluation and hospital parts.
/// <see cref="DuplicatesRemoved"/> counts exact duplicate records dropped before splitting (so no record can sit on
/// both sides of a split).
/// </summary>
public sealed record MedicalDataSplit(
    IReadOnlyList<AlpacaRecord> Public,
    IReadOnlyList<AlpacaRecord> Evaluation,
    IReadOnlyList<HospitalShard> Hospitals,
    int DuplicatesRemoved,
    MedicalSplitOptions Options)
{
    /// <summary>Each evaluation record's specialty, in the order of <see cref="Evaluation"/> (empty when not computed).</summary>
    public IReadOnlyList<MedicalSpecialty> EvaluationSpecialties { get; init; } = [];

    /// <summary>How the public part was actually drawn (<see cref="PublicPartSelection.GeneralMedicine"/> may fall back).</summary>
    public PublicPartSelection PublicPartUsed { get; init; } = PublicPartSelection.Random;
}
