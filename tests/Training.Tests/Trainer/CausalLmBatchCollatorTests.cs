using FedTune.Core.Configuration;
using FedTune.Training.Data;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Trainer;

public sealed class CausalLmBatchCollatorTests
{
    private static readonly TokenizedExample Short = new([5, 6, 7], [TokenizedExample.IgnoreIndex, 6, 7]);
    private static readonly TokenizedExample Long = new([8, 9, 10, 11, 12], [8, 9, 10, 11, 12]);

    [Fact]
    public void Collate_pads_on_the_left_with_a_mask_and_ignored_labels()
    {
        using var batch = new CausalLmBatchCollator(0, PaddingSide.Left).Collate([Short, Long], CPU);

        Assert.Equal(new long[] { 0, 0, 5, 6, 7, 8, 9, 10, 11, 12 }, batch.InputIds.data<long>().ToArray());
        Assert.Equal(new long[] { 0, 0, 1, 1, 1, 1, 1, 1, 1, 1 }, batch.AttentionMask.data<long>().ToArray());
        // An example's first token is never scored (nothing precedes it), whatever its label says.
        Assert.Equal(new long[] { -100, -100, -100, 6, 7, -100, 9, 10, 11, 12 }, batch.Labels.data<long>().ToArray());
        Assert.Equal(2 + 4, batch.ScoredTokens);
        Assert.Equal(8, batch.RealTokens);
    }

    [Fact]
    public void Collate_pads_on_the_right_when_asked()
    {
        using var batch = new CausalLmBatchCollator(0, PaddingSide.Right).Collate([Short, Long], CPU);

        Assert.Equal(new long[] { 5, 6, 7, 0, 0, 8, 9, 10, 11, 12 }, batch.InputIds.data<long>().ToArray());
        Assert.Equal(new long[] { -100, 6, 7, -100, -100, -100, 9, 10, 11, 12 }, batch.Labels.data<long>().ToArray());
    }

    [Theory]
    [InlineData(PaddingSide.Left)]
    [InlineData(PaddingSide.Right)]
    public void Padding_neither_attends_nor_counts_in_the_loss(PaddingSide side)
    {
        using var scope = torch.NewDisposeScope();
        using var model = new TinyCausalLm(dropout: 0);
        using (torch.no_grad())
        {
            model.AdapterParameters.Values.Last().add_(0.3);
        }

        var collator = new CausalLmBatchCollator(0, side);
        double Loss(params TokenizedExample[] examples)
        {
            using var batch = collator.Collate(examples, CPU);
            return CausalLmLoss.SumNll(model.Forward(batch.InputIds, batch.AttentionMask), batch.Labels).item<float>();
        }

        var separately = Loss(Short) + Loss(Long);
        var together = Loss(Short, Long);

        Assert.Equal(separately, together, 4);
    }
}
