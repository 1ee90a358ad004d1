namespace FedTune.Core.Privacy;

/// <summary>
/// One vertex of an ROC curve: predicting "member" for every score &gt;= <see cref="Threshold"/> gives this false
/// positive rate and true positive rate.
/// </summary>
public readonly record struct RocPoint(double FalsePositiveRate, double TruePositiveRate, double Threshold);
