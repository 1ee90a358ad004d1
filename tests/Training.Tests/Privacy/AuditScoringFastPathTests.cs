using Xunit;
using FedTune.Core.Adapters;
using FedTune.Core.Configuration;
using FedTune.Core.Privacy;
using FedTune.Training.Data;
using FedTune.Training.Lora;
using FedTune.Training.Modeling;
using FedTune.Training.Privacy;
using FedTune.Training.Tests.Trainer;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Privacy;

/// <summary>
/// The audit's fast scoring path (LoRA merged into the base weights, the output layer run in small chunks of scored
/// rows, every canary's candidates in one call) gives the figures of the plain path: unmerged model, whole logits,
/// one record and one canary at a time.
/// </summary>
public sealed class AuditScoringFastPathTests : IDisposable
{
    private readonly string _folder = PrivacyTestModels.NewFolder();

    private static IReadOnlyList<TokenizedExample> Examples(int count) =>
        new AlpacaExampleTokenizer(new ByteTokenizer(), PrivacyTestModels.ShortTemplate, PrivacyTestModels.Tokenization)
            .TokenizeAll(PrivacyTestModels.Records(count, seed: 21));

    private static readonly LoraAdapterConfig Lora = new()
    {
        R = 4,
        LoraAlpha = 8,
        TargetModules = ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"],
    };

    /// <summary>A tiny model with LoRA whose B matrices are random, so the adapter changes every layer's output.</summary>
    private static GptNeoXForCausalLM ModelWithRandomAdapter()
    {
        var model = new GptNeoXForCausalLM(PrivacyTestModels.Config);
        model.InitializeRandom(7);
        LoraInjector.Apply(model, Lora, seed: 3);
        using var noGrad = torch.no_grad();
        var generator = new Generator(11);
        foreach (var (name, weight) in model.AllAdapterWeights().Where(w => w.Key.Contains(".lora_B.", StringComparison.Ordinal)))
        {
            weight.copy_(torch.randn(weight.shape, generator: generator).mul_(0.5f));
        }

        return model;
    }

    [Fact]
    public void Chunked_output_layer_gives_the_rows_of_LogitsAt()
    {
        using var model = ModelWithRandomAdapter();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var batch = new CausalLmBatchCollator(0, PaddingSide.Left).Collate(Examples(3), CPU);
        var positions = (batch.Labels.reshape(-1) != TokenizedExample.IgnoreIndex).nonzero().reshape(-1);
        var whole = model.LogitsAt(batch.InputIds, batch.AttentionMask, positions);

        var chunks = new List<Tensor>();
        var starts = new List<long>();
        model.ConsumeLogitsAt(batch.InputIds, batch.AttentionMask, positions, chunkRows: 7, (from, logits) =>
        {
            starts.Add(from);
            chunks.Add(logits.clone().DetachFromDisposeScope());
        });

        var joined = torch.cat(chunks, 0);
        Assert.Equal(Enumerable.Range(0, chunks.Count).Select(i => i * 7L), starts);
        Assert.Equal(whole.shape, joined.shape);
        Assert.True(joined.allclose(whole, rtol: 1e-5, atol: 1e-5), $"max difference {(joined - whole).abs().max().item<float>()}");
        foreach (var chunk in chunks) chunk.Dispose();
    }

    [Fact]
    public void Audit_loader_merges_the_adapter_and_scores_every_record_as_the_unmerged_model_does_one_at_a_time()
    {
        var basePath = Path.Combine(_folder, "base");
        PrivacyTestModels.SaveBase(basePath);
        LoraAdapter adapter;
        using (var trained = HuggingFaceModelLoader.Load(basePath))
        {
            LoraInjector.Apply(trained, Lora, seed: 3);
            using var noGrad = torch.no_grad();
            var generator = new Generator(13);
            foreach (var (_, weight) in trained.AllAdapterWeights().Where(w => w.Key.Contains(".lora_B.", StringComparison.Ordinal)))
            {
                weight.copy_(torch.randn(weight.shape, generator: generator).mul_(0.5f));
            }

            adapter = LoraAdapterExchange.Export(trained, Lora);
        }

        var adapterPath = Path.Combine(_folder, "adapter");
        PeftAdapterFolder.Save(adapterPath, adapter);
        var examples = Examples(12);

        using var fast = new HuggingFaceAuditModelLoader(basePath, new ByteTokenizer()).Load(new AuditModelSpec("a", adapterPath));
        var layers = ((GptNeoXForCausalLM)fast).LinearLayers().Select(l => l.Value).Where(l => l.HasLora).ToList();
        Assert.NotEmpty(layers);
        Assert.All(layers, l => Assert.True(l.IsMerged));
        var fastScores = new TokenLogProbabilityScorer(fast, new ByteTokenizer()).Score(examples);

        using var plain = HuggingFaceModelLoader.Load(basePath);
        LoraAdapterExchange.Attach(plain, adapter);
        var plainScores = new TokenLogProbabilityScorer(plain, new ByteTokenizer(), new TokenScoringOptions { BatchSize = 1, PositionChunk = 100_000 }).Score(examples);

        using var baseOnly = HuggingFaceModelLoader.Load(basePath);
        var baseScores = new TokenLogProbabilityScorer(baseOnly, new ByteTokenizer()).Score(examples);
        Assert.True(Math.Abs(baseScores[0].MeanNll - plainScores[0].MeanNll) > 1e-3, $"the adapter must change the scores for this test to mean anything (base {baseScores[0].MeanNll}, adapted {plainScores[0].MeanNll})");
        for (var i = 0; i < examples.Count; i++)
        {
            Assert.Equal(plainScores[i].Text, fastScores[i].Text);
            Assert.Equal(plainScores[i].TokenCount, fastScores[i].TokenCount);
            for (var t = 0; t < plainScores[i].TokenCount; t++)
            {
                Assert.Equal(plainScores[i].LogProbabilities[t], fastScores[i].LogProbabilities[t], 1e-4);
                Assert.Equal(plainScores[i].ExpectedLogProbabilities[t], fastScores[i].ExpectedLogProbabilities[t], 1e-4);
                Assert.Equal(plainScores[i].LogProbabilityVariances[t], fastScores[i].LogProbabilityVariances[t], 1e-3);
            }
        }
    }

    [Fact]
    public void Canaries_measured_together_rank_as_each_candidate_scored_alone_does()
    {
        using var model = ModelWithRandomAdapter();
        var tokenizer = new ByteTokenizer();
        var examples = new AlpacaExampleTokenizer(tokenizer, PrivacyTestModels.ShortTemplate, PrivacyTestModels.Tokenization);
        var canaries = CanarySet.Create(new CanaryOptions { Count = 3, Digits = 4, Candidates = 40 });

        var together = CanaryExposureMeter.Measure(model, tokenizer, canaries, examples, new PrivacyAuditOptions(), CancellationToken.None);

        var alone = new TokenLogProbabilityScorer(model, tokenizer, new TokenScoringOptions { BatchSize = 1, PositionChunk = 100_000, DistributionStatistics = false });
        Assert.Equal(3, together.Count);
        for (var c = 0; c < canaries.Canaries.Count; c++)
        {
            var canary = canaries.Canaries[c];
            var nlls = new[] { canary.Secret }.Concat(canaries.AlternativeNumbers(canary))
                .Select(n => -alone.Score([examples.Tokenize(canary.RecordFor(n))])[0].LogProbabilities.Sum(v => (double)v))
                .ToArray();
            Assert.Equal(canary.PatientName, together[c].PatientName);
            Assert.Equal(40, together[c].Candidates);
            Assert.Equal(CanaryExposure.Rank(nlls[0], nlls[1..]), together[c].Rank);
            Assert.Equal(CanaryExposure.Exposure(nlls[0], nlls[1..]), together[c].Exposure, 9);
            Assert.Equal(nlls[0], together[c].SecretNll, 1e-3);
        }
    }

    [Fact]
    public void Each_canarys_shared_prefix_goes_through_the_output_layer_once()
    {
        using var inner = ModelWithRandomAdapter();
        using var model = new RowCountingModel(inner);
        var tokenizer = new ByteTokenizer();
        var examples = new AlpacaExampleTokenizer(tokenizer, PrivacyTestModels.ShortTemplate, PrivacyTestModels.Tokenization);
        var canaries = CanarySet.Create(new CanaryOptions { Count = 2, Digits = 4, Candidates = 10 });

        CanaryExposureMeter.Measure(model, tokenizer, canaries, examples, new PrivacyAuditOptions(), CancellationToken.None);

        var expected = 0;
        foreach (var canary in canaries.Canaries)
        {
            var candidates = new[] { canary.Secret }.Concat(canaries.AlternativeNumbers(canary)).Select(n => examples.Tokenize(canary.RecordFor(n))).ToList();
            var shared = CanaryExposureMeter.SharedPrefixLength(candidates);
            Assert.True(shared > 10, $"the candidates share the prompt and the response up to the number (shared {shared})");
            // The secret's record whole, then only what follows the shared prefix in the other candidates.
            expected += candidates[0].ScoredTokenCount + candidates.Skip(1).Sum(c => c.Labels.Skip(shared).Count(l => l != TokenizedExample.IgnoreIndex));
        }

        Assert.Equal(expected, model.ScoredRows);
    }

    /// <summary>Counts the rows a scorer sends through the output layer.</summary>
    private sealed class RowCountingModel(GptNeoXForCausalLM inner) : ICausalLanguageModel
    {
        public long ScoredRows { get; private set; }

        public long VocabularySize => inner.VocabularySize;

        public long MaxSequenceLength => inner.MaxSequenceLength;

        public IReadOnlyDictionary<string, TorchSharp.Modules.Parameter> AdapterParameters => inner.AdapterParameters;

        public Device Device => inner.Device;

        public Tensor Forward(Tensor inputIds, Tensor? attentionMask) => inner.Forward(inputIds, attentionMask);

        public void ConsumeLogitsAt(Tensor inputIds, Tensor? attentionMask, Tensor positions, long chunkRows, Action<long, Tensor> consume)
        {
            ScoredRows += positions.shape[0];
            inner.ConsumeLogitsAt(inputIds, attentionMask, positions, chunkRows, consume);
        }

        public void SetTraining(bool training) => inner.SetTraining(training);

        public void Dispose()
        {
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
