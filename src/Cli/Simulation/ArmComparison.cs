using FedTune.Cli.Reporting;
using FedTune.Core.Adapters;
using FedTune.Core.Data;

namespace FedTune.Cli.Simulation;

/// <summary>
/// The arms' final models side by side on the same held-out records: each scored overall and per specialty
/// (<see cref="HeldOutBySpecialty"/>), and the same three held-out questions (one per specialty the hospitals hold)
/// answered greedily by the base, federated, first local-only and centralized models.
/// </summary>
public static class ArmComparison
{
    /// <summary>New tokens per answer: short, so that the answers cost seconds.</summary>
    public const int AnswerTokens = 40;

    /// <summary>A final model to compare: its arm, its label and its adapter (null: the base model).</summary>
    public sealed record Arm(string Name, string Label, LoraAdapter? Adapter, bool Answers);

    /// <summary>Scores every arm and answers the questions; <paramref name="session"/> must hold the plain base model or any adapter.</summary>
    public static (IReadOnlyList<ArmScore> Scores, IReadOnlyList<QuestionAnswers> Answers) Run(LanguageModelSession session, HeldOutBySpecialty heldOut,
        IReadOnlyList<Arm> arms, IReadOnlyList<(MedicalSpecialty Specialty, AlpacaRecord Record)> questions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(heldOut);
        ArgumentNullException.ThrowIfNull(arms);
        ArgumentNullException.ThrowIfNull(questions);
        var scores = new List<ArmScore>();
        var answers = questions.Select(_ => new List<ModelAnswer>()).ToList();
        foreach (var arm in arms)
        {
            cancellationToken.ThrowIfCancellationRequested();
            session.UseAdapterOrBase(arm.Adapter);
            scores.Add(heldOut.Score(session, arm.Name, arm.Label, cancellationToken));
            if (!arm.Answers) continue;
            for (int q = 0; q < questions.Count; q++)
            {
                answers[q].Add(new ModelAnswer(arm.Label, session.Answer(questions[q].Record.Input, AnswerTokens)));
            }
        }
        var asked = questions.Select((q, i) => new QuestionAnswers(HeldOutBySpecialty.Name(q.Specialty), q.Record.Input, Shorten(q.Record.Output), answers[i])).ToList();
        return (scores, asked);
    }

    /// <summary>One held-out question per specialty a hospital holds (the first short one in the split's seeded order); at most three.</summary>
    public static IReadOnlyList<(MedicalSpecialty Specialty, AlpacaRecord Record)> PickQuestions(IReadOnlyList<AlpacaRecord> evaluation, IReadOnlyList<MedicalSpecialty> specialties)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        ArgumentNullException.ThrowIfNull(specialties);
        var picked = new List<(MedicalSpecialty, AlpacaRecord)>();
        var wanted = specialties.Count == evaluation.Count ? specialties.Distinct().Order().ToList() : [];
        foreach (var specialty in wanted)
        {
            var index = Enumerable.Range(0, evaluation.Count).FirstOrDefault(i => specialties[i] == specialty && evaluation[i].Input.Length is > 0 and <= 80, -1);
            if (index >= 0) picked.Add((specialty, evaluation[index]));
        }
        for (int i = 0; i < evaluation.Count && picked.Count < 3; i++)
        {
            if (evaluation[i].Input.Length is 0 or > 80 || picked.Any(p => ReferenceEquals(p.Item2, evaluation[i]))) continue;
            picked.Add((i < specialties.Count ? specialties[i] : MedicalSpecialty.General, evaluation[i]));
        }
        return picked.Take(3).ToList();
    }

    private static string Shorten(string text)
    {
        var flat = string.Join(' ', text.Split((char[])['\n', '\r'], StringSplitOptions.RemoveEmptyEntries)).Trim();
        return flat.Length <= 200 ? flat : flat[..200] + "…";
    }
}
