using FedTune.Cli.Reporting;
using FedTune.Core.Data;
using FedTune.Training.Data;

namespace FedTune.Cli.Simulation;

/// <summary>
/// The held-out evaluation split grouped by specialty, with the hospitals that hold each specialty: scores a model on
/// every group and on the whole split (token-weighted over the groups), so each arm, and each hospital's local-only
/// model on the other hospitals' specialties, is compared on exactly the same records. Every held-out score of a run
/// goes through <see cref="Score"/> (the base model, each round's global adapter, each baseline's points, the arm
/// comparison), which remembers each scored model by its base folder and LoRA weights: a model already scored, such
/// as the last round's global adapter when the arms are compared, is not scored again.
/// </summary>
public sealed class HeldOutBySpecialty
{
    private readonly IReadOnlyList<Group> _groups;
    private readonly Dictionary<string, ArmScore> _scored = new(StringComparer.Ordinal);

    private HeldOutBySpecialty(IReadOnlyList<Group> groups)
    {
        _groups = groups;
        Examples = groups.SelectMany(g => g.Examples).ToList();
    }

    /// <summary>Every held-out example, grouped by specialty.</summary>
    public IReadOnlyList<TokenizedExample> Examples { get; }

    /// <summary>Models scored by this instance so far (each scored once).</summary>
    public int ScoredModels => _scored.Count;

    private sealed record Group(MedicalSpecialty Specialty, IReadOnlyList<string> HeldBy, IReadOnlyList<TokenizedExample> Examples);

    /// <summary>Groups <paramref name="examples"/> (tokenized evaluation records, aligned with <paramref name="specialties"/>) by specialty.</summary>
    public static HeldOutBySpecialty Create(IReadOnlyList<TokenizedExample> examples, IReadOnlyList<MedicalSpecialty> specialties, PreparedData data)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(specialties);
        ArgumentNullException.ThrowIfNull(data);
        if (specialties.Count != examples.Count)
        {
            throw new InvalidOperationException($"The evaluation split has {examples.Count} records but {specialties.Count} specialty labels.");
        }
        var groups = examples.Zip(specialties)
            .GroupBy(p => p.Second)
            .OrderBy(g => g.Key)
            .Select(g => new Group(g.Key,
                data.HospitalSpecialties.Where(h => h.Value.Contains(g.Key)).Select(h => h.Key).Order(StringComparer.Ordinal).ToList(),
                g.Select(p => p.First).ToList()))
            .ToList();
        return new HeldOutBySpecialty(groups);
    }

    /// <summary>The held-out split as one group, for runs without specialty labels (`fedtune centralized`, `local-only`).</summary>
    public static HeldOutBySpecialty Ungrouped(IReadOnlyList<TokenizedExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        return new HeldOutBySpecialty([new Group(MedicalSpecialty.General, [], examples)]);
    }

    /// <summary>The current model of <paramref name="session"/> (base, or base + the adapter it holds) on every group and overall.</summary>
    public ArmScore Score(LanguageModelSession session, string arm, string label, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        var key = Path.GetFullPath(session.ModelFolder) + "|" + session.AdapterFingerprint();
        if (_scored.TryGetValue(key, out var known)) return known with { Arm = arm, Label = label };
        var score = ScoreNow(session, arm, label, cancellationToken);
        _scored[key] = score;
        return score;
    }

    private ArmScore ScoreNow(LanguageModelSession session, string arm, string label, CancellationToken cancellationToken)
    {
        var bySpecialty = _groups
            .Select(g => new SpecialtyEval(Name(g.Specialty), g.HeldBy, session.Evaluate(g.Examples, cancellationToken)))
            .ToList();
        long tokens = bySpecialty.Sum(s => s.Eval.Tokens);
        double nll = tokens == 0 ? double.NaN : bySpecialty.Sum(s => s.Eval.MeanNll * s.Eval.Tokens) / tokens;
        return new ArmScore(arm, label, EvalMetrics.FromNll(tokens, nll), bySpecialty);
    }

    /// <summary>How reports name a specialty.</summary>
    public static string Name(MedicalSpecialty specialty) => specialty.ToString().ToLowerInvariant();
}
