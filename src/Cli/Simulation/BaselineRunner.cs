using FedTune.Cli.Reporting;
using FedTune.Core.Adapters;
using FedTune.Core.Configuration;
using FedTune.Core.Data;
using FedTune.Training.Data;

namespace FedTune.Cli.Simulation;

/// <summary>
/// The baselines, on the same splits and the same optimizer-step budget as the federation they are compared with:
/// <list type="bullet">
/// <item><b>centralized</b>: all hospitals' training records pooled in one place, trained for
/// rounds × max_steps × hospitals-per-round steps, i.e. exactly as many optimizer steps (and examples seen) as all
/// hospitals together made in the federation, scored on the held-out split after each round's worth of steps.</item>
/// <item><b>local-only</b>: each hospital alone on its own records for rounds × max_steps steps, i.e. the steps it made
/// in the federation, without ever seeing anyone else's update.</item>
/// </list>
/// Both train with the federation's recipe (LoRA, batch, schedule, per-round learning rate, padding side) and seed. When an adapter folder is
/// given, the final adapter is saved there in PEFT layout (the privacy audit compares it with the federated one).
/// </summary>
public static class BaselineRunner
{
    /// <summary>Reuse of identical earlier baselines (<see cref="BaselineCache"/>); <paramref name="Retrain"/> trains them anyway.</summary>
    public sealed record Reuse(BaselineCache Cache, string ModelFingerprint, bool Retrain, Action<string> Say);

    public static BaselineCurve Centralized(string modelFolder, int seqLength, IReadOnlyList<AlpacaRecord> pooled, HeldOutBySpecialty heldOut,
        int rounds, int stepsPerRound, TrainingRecipe recipe, int seed, SimulationStatus status, CancellationToken cancellationToken,
        string? adapterFolder = null, Reuse? reuse = null)
    {
        status.SetStage(FormattableString.Invariant($"centralized baseline: {rounds * stepsPerRound} steps on the pooled data"));
        return Train("centralized", "centralized", modelFolder, seqLength, pooled, heldOut, rounds, stepsPerRound, recipe, seed, adapterFolder, reuse, cancellationToken);
    }

    public static BaselineCurve LocalOnly(string modelFolder, int seqLength, string hospitalId, IReadOnlyList<AlpacaRecord> own, HeldOutBySpecialty heldOut,
        int rounds, int stepsPerRound, TrainingRecipe recipe, int seed, SimulationStatus status, CancellationToken cancellationToken,
        string? adapterFolder = null, Reuse? reuse = null)
    {
        status.SetStage(FormattableString.Invariant($"local-only baseline: {hospitalId} alone, {rounds * stepsPerRound} steps"));
        return Train("local-only", "local-only " + hospitalId, modelFolder, seqLength, own, heldOut, rounds, stepsPerRound, recipe, seed, adapterFolder, reuse, cancellationToken);
    }

    private static BaselineCurve Train(string arm, string label, string modelFolder, int seqLength, IReadOnlyList<AlpacaRecord> records,
        HeldOutBySpecialty heldOut, int rounds, int stepsPerRound, TrainingRecipe recipe, int seed,
        string? adapterFolder, Reuse? reuse, CancellationToken cancellationToken)
    {
        var key = reuse is null ? null : BaselineCache.Key(label, reuse.ModelFingerprint, seqLength, records, heldOut.Examples, rounds, stepsPerRound, recipe, seed);
        if (key is not null && !reuse!.Retrain && reuse.Cache.TryRestore(key, adapterFolder) is { } cached)
        {
            reuse.Say($"Baseline {label}: reused from an identical earlier run ({Path.Combine(reuse.Cache.Root, key[..12])}...; --retrain-baselines trains it again)");
            return cached;
        }

        using var session = LanguageModelSession.Load(modelFolder, seqLength);
        var train = session.Tokenize(records);
        var at = Enumerable.Range(1, rounds).Select(r => (long)r * stepsPerRound).ToList();
        var points = session.TrainFreshAdapter(train, heldOut, recipe, seed, at, onStep: null, cancellationToken);
        if (adapterFolder is not null) session.SaveTrainedAdapter(LoraAdapterConfig.From(recipe), adapterFolder);
        var curve = new BaselineCurve(arm, label, points.Select((p, i) => new BaselinePoint(i + 1, p.Steps, p.Eval)).ToList());
        if (key is not null) reuse!.Cache.Store(key, curve, adapterFolder);
        return curve;
    }
}
