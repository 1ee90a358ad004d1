using FedTune.Core.Data;

namespace FedTune.ClientAgent.Data;

/// <summary>The hospital's private records, split once (seeded) into a training part and a held-out part.</summary>
public sealed record HospitalDataset(IReadOnlyList<AlpacaRecord> Train, IReadOnlyList<AlpacaRecord> HeldOut);
