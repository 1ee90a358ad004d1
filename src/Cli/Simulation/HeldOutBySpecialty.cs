using FedTune.Cli.Reporting;
using FedTune.Core.Data;
using FedTune.Training.Data;

namespace FedTune.Cli.Simulation;

/// <summary>
/// The held-out evaluation split grouped by specialty, with the hospitals that hold each specialty: scores a model on
/// every group and on the whole split (token-weighted over the groups), so each arm, and each hospital's local-only
/// model on the other hospitals' specialties, is compared on exactly the same records.
/// </summary>
public sealed class HeldOutBySpecialty
{
    private readonly IReadOnlyList<Group> _groups;

    private HeldOutBySpecialty(IReadOnlyList<Group> groups) => _groups = groups;

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

    /// <summary>The current model of <paramref name="session"/> (base, or base + the adapter it holds) on every group and overall.</summary>
    public ArmScore Score(LanguageModelSession session, string arm, string label, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
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
