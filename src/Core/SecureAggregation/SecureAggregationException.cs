namespace FedTune.Core.SecureAggregation;

/// <summary>Secure aggregation cannot finish (too few survivors, a forged or inconsistent message); the round fails cleanly.</summary>
public sealed class SecureAggregationException : Exception
{
    public SecureAggregationException() { }
    public SecureAggregationException(string message) : base(message) { }
    public SecureAggregationException(string message, Exception inner) : base(message, inner) { }
}
