using System.Text.Json;
using System.Text.Json.Serialization;

namespace FedTune.Training.Evaluation;

/// <summary>Token-level evaluation of a data set: scored tokens, mean negative log-likelihood (nats) and perplexity = exp(mean NLL).</summary>
public sealed record EvaluationResult(
    [property: JsonPropertyName("tokens")] long Tokens,
    [property: JsonPropertyName("mean_nll")] double MeanNll,
    [property: JsonPropertyName("perplexity")] double Perplexity)
{
    /// <summary><c>{"tokens": …, "mean_nll": …, "perplexity": …}</c></summary>
    public string ToJson(bool indented = true) => JsonSerializer.Serialize(this, indented ? Indented : Compact);

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    private static readonly JsonSerializerOptions Compact = new();
}
