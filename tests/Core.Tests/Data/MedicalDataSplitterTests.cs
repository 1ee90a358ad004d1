using FedTune.TestSupport;
using FedTune.Core.Data;
using Xunit;

namespace FedTune.Core.Tests.Data;

public sealed class MedicalDataSplitterTests
{
    private static readonly string[] Stems =
        ["What are the symptoms of {0}?", "What causes {0}?", "Who is at highest risk for {0} ?", "What to expect if I have {0}  (Outlook/Prognosis)?"];

    /// <summary>40 topics × 4 questions + duplicates, like the WikiDoc file.</summary>
    private static List<AlpacaRecord> SyntheticRecords()
    {
        var records = new List<AlpacaRecord>();
        for (int t = 0; t < 40; t++)
        {
            foreach (var stem in Stems)
            {
                records.Add(new AlpacaRecord("Answer this question truthfully", string.Format(null, stem, $"Disease{t}"), $"Answer {t} {stem.Length}"));
            }
        }

        records.Add(records[0]);
        records.Add(records[5]);
        return records;
    }

    private static IEnumerable<AlpacaRecord> Everything(MedicalDataSplit split) =>
        split.Public.Concat(split.Evaluation).Concat(split.Hospitals.SelectMany(h => h.All));

    [Theory]
    [InlineData(HospitalPartitioning.Iid)]
    [InlineData(HospitalPartitioning.ByTopic)]
    [InlineData(HospitalPartitioning.DirichletByTopic)]
    public void Split_parts_are_disjoint_and_cover_every_unique_record(HospitalPartitioning partitioning)
    {
        var records = SyntheticRecords();

        var split = MedicalDataSplitter.Split(records, new MedicalSplitOptions { HospitalCount = 3, Partitioning = partitioning, Seed = 7 });

        var all = Everything(split).ToList();
        Assert.Equal(2, split.DuplicatesRemoved);
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Equal(records.Distinct().ToHashSet(), all.ToHashSet());
        Assert.All(split.Hospitals, h => Assert.NotEmpty(h.Train));
        Assert.All(split.Hospitals, h => Assert.NotEmpty(h.HeldOut));
        Assert.Equal(32, split.Public.Count);
        Assert.Equal(16, split.Evaluation.Count);
    }

    [Fact]
    public void Split_is_identical_for_the_same_seed_and_differs_for_another()
    {
        var records = SyntheticRecords();
        var options = new MedicalSplitOptions { HospitalCount = 4, Partitioning = HospitalPartitioning.DirichletByTopic, Seed = 3 };

        var first = MedicalDataSplitter.Split(records, options);
        var second = MedicalDataSplitter.Split(records, options);
        var other = MedicalDataSplitter.Split(records, options with { Seed = 4 });

        Assert.Equal(Everything(first), Everything(second));
        Assert.Equal(first.Hospitals.Select(h => h.Train.Count), second.Hospitals.Select(h => h.Train.Count));
        Assert.NotEqual(Everything(first), Everything(other));
    }

    [Fact]
    public void Split_by_topic_keeps_each_topic_in_one_hospital()
    {
        var split = MedicalDataSplitter.Split(SyntheticRecords(), new MedicalSplitOptions { HospitalCount = 3, Partitioning = HospitalPartitioning.ByTopic });

        var owners = split.Hospitals
            .SelectMany(h => h.All.Select(r => (Topic: MedicalTopicExtractor.TopicOf(r), h.Index)))
            .GroupBy(x => x.Topic)
            .Select(g => g.Select(x => x.Index).Distinct().Count());
        Assert.All(owners, count => Assert.Equal(1, count));
    }

    [Fact]
    public void Split_dirichlet_with_small_alpha_is_more_skewed_than_iid()
    {
        var records = SyntheticRecords();
        var iid = MedicalDataSplitter.Split(records, new MedicalSplitOptions { HospitalCount = 4, Partitioning = HospitalPartitioning.Iid });
        var skewed = MedicalDataSplitter.Split(records, new MedicalSplitOptions
        {
            HospitalCount = 4, Partitioning = HospitalPartitioning.DirichletByTopic, DirichletAlpha = 0.1,
        });

        Assert.True(MeanTopicsPerHospital(skewed) < MeanTopicsPerHospital(iid) * 0.8,
            $"Dirichlet(0.1) hospitals see {MeanTopicsPerHospital(skewed)} topics on average, IID {MeanTopicsPerHospital(iid)}");
    }

    private static double MeanTopicsPerHospital(MedicalDataSplit split) =>
        split.Hospitals.Average(h => h.All.Select(MedicalTopicExtractor.TopicOf).Distinct().Count());

    [Fact]
    public void Split_rejects_more_hospitals_than_records_with_a_clear_message()
    {
        var records = SyntheticRecords().Take(5);

        var error = Assert.Throws<ArgumentException>(() => MedicalDataSplitter.Split(records, new MedicalSplitOptions { HospitalCount = 10 }));

        Assert.Contains("fewer hospitals", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_validation_names_the_bad_value()
    {
        var error = Assert.Throws<ArgumentException>(() => new MedicalSplitOptions { PublicFraction = 0.6, EvaluationFraction = 0.5 }.Validate());

        Assert.Contains("must stay below 1", error.Message, StringComparison.Ordinal);
    }

    [RealMedicalDataFact]
    public void Split_of_the_real_file_by_topic_shares_no_topic_between_hospitals()
    {
        var records = new AlpacaDatasetReader().ReadAll(TestPaths.MedicalMeadowFile!);

        var split = MedicalDataSplitter.Split(records, new MedicalSplitOptions { HospitalCount = 4, Partitioning = HospitalPartitioning.ByTopic });

        Assert.Equal(92, split.DuplicatesRemoved);
        var topicSets = split.Hospitals.Select(h => h.All.Select(MedicalTopicExtractor.TopicOf).ToHashSet()).ToList();
        for (int a = 0; a < topicSets.Count; a++)
        {
            for (int b = a + 1; b < topicSets.Count; b++)
            {
                Assert.Empty(topicSets[a].Intersect(topicSets[b]));
            }
        }

        var sizes = split.Hospitals.Select(h => h.Train.Count + h.HeldOut.Count).ToList();
        Assert.True(sizes.Min() > sizes.Max() * 0.9, $"topic-grouped hospitals are unbalanced: {string.Join(", ", sizes)}");
    }
}
