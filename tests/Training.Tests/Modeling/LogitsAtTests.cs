using FedTune.Training.Modeling;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Modeling;

public sealed class LogitsAtTests
{
    [Fact]
    public void LogitsAt_returns_the_forward_logits_of_the_chosen_positions_only()
    {
        using var model = ModelTestSupport.TinyModel(seed: 5);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var ids = ModelTestSupport.RandomIds(2, 7, model.VocabularySize, 8);
        var mask = torch.ones(2, 7, dtype: ScalarType.Int64);
        mask[0, ..3] = torch.tensor(0L);
        var positions = torch.tensor(new long[] { 3, 6, 7, 13 });

        var full = model.Forward(ids, mask).reshape(-1, model.VocabularySize).index_select(0, positions);
        var chosen = model.LogitsAt(ids, mask, positions);

        Assert.Equal(new long[] { 4, model.VocabularySize }, chosen.shape);
        Assert.True(ModelTestSupport.MaxRelativeError(chosen, full) < 1e-5);
    }
}
