using System.Text.Json;
using System.Text.Json.Nodes;
using FedTune.Core.Privacy;

namespace FedTune.Training.Privacy;

/// <summary>
/// Writes a <see cref="PrivacyAuditResult"/> as <c>privacy-audit.json</c>: per model, every attack's figures with
/// their confidence intervals and the full ROC curve (fpr/tpr arrays), and each canary's exposure. Rates are in [0, 1].
/// </summary>
public static class PrivacyAuditJson
{
    public const string TprMethod =
        "conservative step reading: highest TPR of an ROC vertex (an actual threshold) with FPR <= target; no interpolation";

    public static void Write(PrivacyAuditResult result, string path)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(path);
        var root = new JsonObject
        {
            ["members"] = result.MemberCount,
            ["non_members"] = result.NonMemberCount,
            ["dropped_records"] = result.DroppedRecords,
            ["members_files"] = new JsonArray(result.MembersFiles.Select(f => (JsonNode?)f).ToArray()),
            ["non_members_files"] = new JsonArray(result.NonMembersFiles.Select(f => (JsonNode?)f).ToArray()),
            ["bootstrap"] = new JsonObject
            {
                ["resamples"] = result.Bootstrap.Resamples,
                ["confidence_level"] = result.Bootstrap.ConfidenceLevel,
                ["seed"] = result.Bootstrap.Seed,
                ["method"] = "percentile; members and non-members resampled separately with replacement",
            },
            ["tpr_at_fpr_method"] = TprMethod,
            ["models"] = new JsonArray(result.Models.Select(Model).ToArray<JsonNode?>()),
        };
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temporary, path, overwrite: true);
    }

    private static JsonObject Model(ModelAuditResult model) => new()
    {
        ["label"] = model.Model.Label,
        ["arm"] = model.Model.Arm.ToString(),
        ["epsilon"] = model.Model.Epsilon,
        ["round"] = model.Model.Round,
        ["path"] = model.Model.Path,
        ["member_mean_nll"] = model.MemberMeanNll,
        ["non_member_mean_nll"] = model.NonMemberMeanNll,
        ["attacks"] = new JsonArray(model.Attacks.Select(Attack).ToArray<JsonNode?>()),
        ["canaries"] = new JsonArray(model.Canaries.Select(c => (JsonNode?)new JsonObject
        {
            ["patient"] = c.PatientName,
            ["rank"] = c.Rank,
            ["candidates"] = c.Candidates,
            ["exposure_bits"] = c.Exposure,
            ["max_exposure_bits"] = c.MaxExposure,
            ["secret_nll"] = c.SecretNll,
        }).ToArray()),
    };

    private static JsonObject Attack(AttackResult attack) => new()
    {
        ["name"] = attack.Name,
        ["attack"] = attack.Attack.ToString(),
        ["k"] = attack.Fraction,
        ["headline"] = attack.Headline,
        ["auroc"] = Estimate(attack.Metrics.Auroc),
        ["tpr_at_1pct_fpr"] = Estimate(attack.Metrics.TprAt1PercentFpr),
        ["tpr_at_0.1pct_fpr"] = Estimate(attack.Metrics.TprAt01PercentFpr),
        ["tpr_at_0.1pct_fpr_resolvable"] = attack.Metrics.TprAt01PercentFprResolvable,
        ["fpr_at_95pct_tpr"] = Estimate(attack.Metrics.FprAt95PercentTpr),
        ["balanced_accuracy"] = Estimate(attack.Metrics.BalancedAccuracy),
        ["roc"] = new JsonObject
        {
            ["fpr"] = new JsonArray(attack.Curve.Points.Select(p => (JsonNode?)p.FalsePositiveRate).ToArray()),
            ["tpr"] = new JsonArray(attack.Curve.Points.Select(p => (JsonNode?)p.TruePositiveRate).ToArray()),
        },
    };

    private static JsonObject Estimate(Estimate e) => new() { ["value"] = e.Value, ["lower"] = e.Lower, ["upper"] = e.Upper };
}
