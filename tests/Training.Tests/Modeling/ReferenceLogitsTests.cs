using FedTune.Core.Formats;
using FedTune.Training.Modeling;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Modeling;

/// <summary>
/// Logits against the independent Python reference (scripts/reference/gpt_neox_reference.py, HF semantics) on random
/// checkpoints committed under Fixtures/gpt-neox: rotary 0.25/0.5/1.0, parallel and sequential residual, F16 weights,
/// no attention bias with gelu_new, HF buffers in the file, and a left-padded row.
/// </summary>
public sealed class ReferenceLogitsTests
{
    private const double Tolerance = 1e-4;

    [Theory]
    [InlineData("rotary025-parallel")]
    [InlineData("rotary100-sequential")]
    [InlineData("rotary050-parallel-f16")]
    [InlineData("rotary025-nobias-gelunew")]
    [InlineData("rotary025-parallel-bin")]
    public void Forward_matches_the_reference_logits_with_and_without_left_padding(string fixture)
    {
        var folder = ModelTestSupport.FixtureFolder(fixture);
        using var model = HuggingFaceModelLoader.Load(folder);
        using var expected = SafetensorsReader.Open(Path.Combine(folder, "expected.safetensors"));
        using var scope = torch.NewDisposeScope();
        var idsInfo = expected["input_ids"];
        var ids = torch.tensor(ModelTestSupport.ReadInt64(expected, "input_ids"), idsInfo.Shape);
        var mask = torch.tensor(ModelTestSupport.ReadInt64(expected, "attention_mask"), idsInfo.Shape);
        var maskedInfo = expected["logits_masked"];
        var expectedMasked = torch.tensor(expected.ReadFloat32("logits_masked"), maskedInfo.Shape);
        var expectedPlain = torch.tensor(expected.ReadFloat32("logits_unmasked"), maskedInfo.Shape);

        using (torch.no_grad())
        {
            var plain = model.Forward(ids, null);
            Assert.Equal(expectedPlain.shape, plain.shape);
            double plainError = ModelTestSupport.MaxRelativeError(plain, expectedPlain);
            Assert.True(plainError < Tolerance, $"unmasked logits differ by {plainError:E2} (relative)");

            var masked = model.Forward(ids, mask);
            var real = mask.to(ScalarType.Bool).unsqueeze(-1).expand_as(masked);
            double maskedError = ModelTestSupport.MaxRelativeError(masked.masked_select(real), expectedMasked.masked_select(real));
            Assert.True(maskedError < Tolerance, $"left-padded logits differ by {maskedError:E2} (relative) on real tokens");
            Assert.False(masked.isnan().any().item<bool>(), "padded positions produced NaN");
        }
    }

    [Fact]
    public void Left_padding_leaves_the_real_tokens_logits_unchanged()
    {
        using var model = ModelTestSupport.TinyModel(seed: 3);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var ids = ModelTestSupport.RandomIds(1, 6, model.VocabularySize, 5);
        var padded = torch.cat([torch.zeros(1, 4, dtype: ScalarType.Int64), ids], 1);
        var mask = torch.cat([torch.zeros(1, 4, dtype: ScalarType.Int64), torch.ones(1, 6, dtype: ScalarType.Int64)], 1);
        var alone = model.Forward(ids, null);
        var withPadding = model.Forward(padded, mask).narrow(1, 4, 6);
        Assert.True(ModelTestSupport.MaxRelativeError(withPadding, alone) < 1e-5);
    }
}
