using FedTune.Cli.Reporting;
using FedTune.Core.Configuration;
using FedTune.Core.Protocol;
using Xunit;

namespace FedTune.Cli.Tests.Reporting;

/// <summary>report.md's recipe table shows train.differential_privacy as each agent's trainer applied it.</summary>
public sealed class RecipeAsRunMarkdownTests
{
    private static RoundReport Round(RecordPrivacyConfig? privacy) => new()
    {
        Round = 1,
        DurationSeconds = 10,
        Hospitals = [new HospitalRoundReport { HospitalId = "hospital-1", State = HospitalRoundState.Uploaded, Ran = new TrainingAsRun { RecordPrivacy = privacy } }],
    };

    [Fact]
    public void A_hospital_that_ran_DP_SGD_shows_clip_noise_and_delta_and_one_that_did_not_shows_off()
    {
        var dp = RecipeAsRunMarkdown.ToMarkdown([Round(new RecordPrivacyConfig { ClipNorm = 0.5, NoiseMultiplier = 1.1, Delta = 1e-5 })]);
        var plain = RecipeAsRunMarkdown.ToMarkdown([Round(null)]);

        Assert.Contains("| record-level DP (clip / noise / δ) |", dp, StringComparison.Ordinal);
        Assert.Contains("| DP-SGD: C 0.5 / z 1.1 / δ 1E-05 |", dp, StringComparison.Ordinal);
        Assert.Contains("| 0 | off | 0 |", plain, StringComparison.Ordinal);
        var lines = dp.Split('\n').Where(l => l.StartsWith('|')).ToList();
        Assert.All(lines, l => Assert.Equal(lines[0].Count(c => c == '|'), l.Count(c => c == '|')));
    }
}
