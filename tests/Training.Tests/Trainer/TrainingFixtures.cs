using FedTune.Core.Data;
using FedTune.Training.Data;

namespace FedTune.Training.Tests.Trainer;

internal static class TrainingFixtures
{
    public static IReadOnlyList<AlpacaRecord> Records(int count) =>
        Enumerable.Range(0, count)
            .Select(i => new AlpacaRecord("Answer this question truthfully", $"What causes disease {i % 5}?",
                $"Disease {i % 5} is caused by {(i % 2 == 0 ? "a virus" : "bacteria in the gut")}."))
            .ToList();

    public static IReadOnlyList<TokenizedExample> Examples(int count, int seqLength = 64) =>
        new AlpacaExampleTokenizer(new ByteTokenizer(), AlpacaPromptTemplate.Alpaca with
        {
            WithInput = "Q: {instruction} {input}\nA: ",
        }, new TokenizationOptions { SeqLength = seqLength }).TokenizeAll(Records(count));

    public static double MaxAbsDifference(Dictionary<string, float[]> a, Dictionary<string, float[]> b) =>
        a.Keys.Max(k => a[k].Zip(b[k], (x, y) => Math.Abs(x - y)).Max());
}
