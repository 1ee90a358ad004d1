using FedTune.Cli.Simulation;
using FedTune.Core.Adapters;
using FedTune.Core.Data;
using FedTune.Training.Lora;
using Xunit;

namespace FedTune.Cli.Tests.Simulation;

public sealed class HeldOutScoringTests
{
    private static readonly AlpacaRecord[] Records = Enumerable.Range(0, 6)
        .Select(i => new AlpacaRecord("Answer this question truthfully", $"What is finding {i}?", $"Finding {i} is a sign of disease number {i * 7}."))
        .ToArray();

    [Fact]
    public void A_model_already_scored_on_the_held_out_split_is_not_scored_again_and_any_change_of_its_LoRA_weights_is()
    {
        var folder = TinyByteModel.Create(Path.Combine(Path.GetTempPath(), "fedtune-heldout-" + Guid.NewGuid().ToString("N")));
        using var session = LanguageModelSession.Load(folder, 64);
        var heldOut = HeldOutBySpecialty.Ungrouped(session.Tokenize(Records));

        var plain = heldOut.Score(session, "base", "base model", CancellationToken.None);
        Assert.Equal(1, heldOut.ScoredModels);

        var config = new LoraAdapterConfig { R = 2, LoraAlpha = 4, TargetModules = ["query_key_value"] };
        LoraAdapter adapter;
        using (var other = LanguageModelSession.Load(folder, 64))
        {
            LoraInjector.Apply(other.Model, config, seed: 3);
            adapter = LoraAdapterExchange.Export(other.Model, config);
        }

        // Freshly initialised LoRA (B = 0) computes the base model: the same entry.
        session.UseAdapter(adapter);
        Assert.Equal(plain.All, heldOut.Score(session, "federated", "federated after round 0", CancellationToken.None).All);
        Assert.Equal(1, heldOut.ScoredModels);

        var trained = adapter.With(t => t.Name.Contains("lora_B", StringComparison.Ordinal) ? t.Data.Select((_, i) => 0.05f * ((i % 5) - 2)).ToArray() : t.Data);
        session.UseAdapter(trained);
        var first = heldOut.Score(session, "federated", "federated after round 3", CancellationToken.None);
        Assert.Equal(2, heldOut.ScoredModels);
        Assert.NotEqual(plain.All.MeanNll, first.All.MeanNll);

        // The arm comparison asks again for the same weights (read from disk into another LoraAdapter): no new scoring.
        session.UseAdapterOrBase(trained.With(t => t.Data.ToArray()));
        var again = heldOut.Score(session, "federated", "federated", CancellationToken.None);
        Assert.Equal(2, heldOut.ScoredModels);
        Assert.Equal(first.All, again.All);
        Assert.Equal("federated", again.Label);

        session.UseAdapterOrBase(null);
        Assert.Equal(plain.All, heldOut.Score(session, "base", "base model", CancellationToken.None).All);
        Assert.Equal(2, heldOut.ScoredModels);
    }
}
