namespace FedTune.Core.Privacy;

/// <summary>
/// A canary's exposure under one model: its <see cref="Rank"/> (1 = the model's most likely candidate) among
/// <see cref="Candidates"/> numbers, and <see cref="Exposure"/> = log2(Candidates) − log2(Rank) bits out of
/// <see cref="MaxExposure"/> = log2(Candidates). Random guessing gives about 1 bit; the maximum means the model
/// would hand out the secret first.
/// </summary>
public sealed record CanaryExposureResult(string PatientName, double Rank, int Candidates, double Exposure, double MaxExposure, double SecretNll);
