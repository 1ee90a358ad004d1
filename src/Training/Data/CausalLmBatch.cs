using static TorchSharp.torch;

namespace FedTune.Training.Data;

/// <summary>
/// A padded batch on one device: <see cref="InputIds"/>, <see cref="AttentionMask"/> (1 real, 0 padding) and
/// <see cref="Labels"/> (−100 on padding and unscored positions), each [batch, time] int64.
/// <see cref="ScoredTokens"/> counts the positions the shifted loss scores.
/// </summary>
public sealed class CausalLmBatch : IDisposable
{
    public CausalLmBatch(Tensor inputIds, Tensor attentionMask, Tensor labels, long scoredTokens, long realTokens)
    {
        InputIds = inputIds;
        AttentionMask = attentionMask;
        Labels = labels;
        ScoredTokens = scoredTokens;
        RealTokens = realTokens;
    }

    public Tensor InputIds { get; }

    public Tensor AttentionMask { get; }

    public Tensor Labels { get; }

    /// <summary>Positions whose next token is scored (the loss denominator).</summary>
    public long ScoredTokens { get; }

    /// <summary>Non-padding tokens the model processes.</summary>
    public long RealTokens { get; }

    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
        Labels.Dispose();
    }
}
