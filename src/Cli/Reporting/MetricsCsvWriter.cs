using System.Globalization;
using System.Text;

namespace FedTune.Cli.Reporting;

/// <summary>
/// metrics.csv: one row per round and hospital (the round's global held-out metrics repeated on each of its rows),
/// then one row per baseline point (hospital column = the baseline's label). Invariant culture, RFC 4180 quoting.
/// The DP arm's rounds (--dp) follow with kind federated-dp. dp_epsilon is the ε spent up to the round: per record under
/// record-level DP-SGD, else per hospital under DP-FedAvg (empty without DP).
/// </summary>
public static class MetricsCsvWriter
{
    public const string Header =
        "round,kind,hospital,state,train_loss,eval_nll,eval_perplexity,train_examples,eval_examples,bytes_up,bytes_down," +
        "train_seconds,round_seconds,global_eval_nll,global_eval_perplexity,global_eval_tokens,dp_epsilon";

    public static string ToCsv(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var sb = new StringBuilder();
        sb.Append(Header).Append('\n');
        foreach (var round in report.Rounds)
        {
            foreach (var h in round.Hospitals)
            {
                Row(sb, round.Round, "federated", h.HospitalId, h.State.ToString().ToLowerInvariant(), h.TrainLoss, h.EvalNll,
                    h.EvalPerplexity, h.TrainExamples, h.EvalExamples, h.BytesUp, h.BytesDown, h.TrainSeconds, round.DurationSeconds,
                    round.GlobalEval, round.DpEpsilon);
            }
        }
        foreach (var round in report.PrivateFederation?.Rounds ?? [])
        {
            foreach (var h in round.Hospitals)
            {
                Row(sb, round.Round, "federated-dp", h.HospitalId, h.State.ToString().ToLowerInvariant(), h.TrainLoss, h.EvalNll,
                    h.EvalPerplexity, h.TrainExamples, h.EvalExamples, h.BytesUp, h.BytesDown, h.TrainSeconds, round.DurationSeconds,
                    round.GlobalEval, round.Epsilon);
            }
        }
        foreach (var curve in report.Baselines)
        {
            foreach (var p in curve.Points)
            {
                Row(sb, p.Round, curve.Arm, curve.Label, "", null, null, null, null, null, null, null, null, null, p.Eval, null);
            }
        }
        return sb.ToString();
    }

    public static void Write(RunReport report, string path) => File.WriteAllText(path, ToCsv(report), new UTF8Encoding(false));

    private static void Row(StringBuilder sb, int round, string kind, string hospital, string state, double? loss, double? nll,
        double? ppl, long? trainExamples, long? evalExamples, long? up, long? down, double? trainSeconds, double? roundSeconds,
        EvalMetrics? global, double? dpEpsilon)
    {
        string[] cells =
        [
            round.ToString(CultureInfo.InvariantCulture), kind, Quote(hospital), state, Num(loss), Num(nll), Num(ppl),
            Int(trainExamples), Int(evalExamples), Int(up), Int(down), Num(trainSeconds), Num(roundSeconds),
            Num(global?.MeanNll), Num(global?.Perplexity), Int(global?.Tokens), Epsilon(dpEpsilon),
        ];
        sb.AppendJoin(',', cells).Append('\n');
    }

    private static string Num(double? value) =>
        value is { } v && double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : "";

    /// <summary>ε under DP: empty without DP, "inf" when no finite guarantee holds.</summary>
    private static string Epsilon(double? value) =>
        value is { } e ? (double.IsPositiveInfinity(e) ? "inf" : e.ToString("R", CultureInfo.InvariantCulture)) : "";

    private static string Int(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "";

    /// <summary>RFC 4180: quote a cell holding a comma, quote or line break; double inner quotes.</summary>
    internal static string Quote(string cell) =>
        cell.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : cell;
}
