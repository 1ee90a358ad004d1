using FedTune.Core.Data;
using FedTune.TestSupport;
using Xunit;

namespace FedTune.Core.Tests.Data;

/// <summary>The default simulation's hospitals hold different specialties, and the base model's public part holds none of them.</summary>
public sealed class MedicalSpecialtySplitTests
{
    private static readonly string[] Stems = ["What are the symptoms of {0}?", "What causes {0}?", "Who is at highest risk for {0} ?", "What is the treatment for {0}?"];

    private static readonly Dictionary<MedicalSpecialty, string> Answers = new()
    {
        [MedicalSpecialty.Oncology] = "A malignant tumor; the cancer may spread and chemotherapy or radiation is used.",
        [MedicalSpecialty.Cardiovascular] = "The heart and its arteries: high blood pressure and a coronary clot harm the heart.",
        [MedicalSpecialty.Infectious] = "An infection by bacteria or a virus; antibiotics treat bacterial infection.",
        [MedicalSpecialty.General] = "It causes tiredness and pain in the joints; rest and exercise help.",
    };

    /// <summary>12 topics of each specialty and of general medicine, 4 questions each.</summary>
    private static List<AlpacaRecord> Records() =>
        Answers.SelectMany(a => Enumerable.Range(0, 12).SelectMany(t => Stems.Select(stem =>
            new AlpacaRecord("Answer this question truthfully", string.Format(null, stem, $"{a.Key}Disease{t}"), $"{a.Value} ({t}, {stem.Length})")))).ToList();

    [Theory]
    [InlineData(MedicalSpecialty.Oncology, "What is breast cancer?", "Breast cancer is a malignant tumor; chemotherapy and radiation treat it; it may metastasize.")]
    [InlineData(MedicalSpecialty.Cardiovascular, "What causes heart failure?", "The heart cannot pump enough blood; coronary artery disease and high blood pressure cause it.")]
    [InlineData(MedicalSpecialty.Infectious, "What causes cholera?", "Cholera is an infection by the bacterium Vibrio cholerae, transmitted in water; antibiotics help.")]
    [InlineData(MedicalSpecialty.General, "What causes dandruff?", "Dry skin flakes from the scalp; shampoo helps.")]
    public void A_topic_goes_to_the_specialty_whose_words_it_uses_most(MedicalSpecialty expected, string question, string answer)
    {
        var record = new AlpacaRecord("Answer this question truthfully", question, answer);

        Assert.Equal(expected, MedicalSpecialtyClassifier.Classify(MedicalTopicExtractor.TopicOf(record), [record]));
    }

    [Fact]
    public void By_specialty_each_of_three_hospitals_holds_one_specialty_and_the_public_part_only_general_medicine()
    {
        var records = Records();
        var truth = records.ToDictionary(r => r, r => Answers.Single(a => r.Output.StartsWith(a.Value[..20], StringComparison.Ordinal)).Key);

        var split = MedicalDataSplitter.Split(records, new MedicalSplitOptions
        {
            HospitalCount = 3, Partitioning = HospitalPartitioning.BySpecialty, PublicPart = PublicPartSelection.GeneralMedicine, Seed = 5,
        });

        Assert.Equal(PublicPartSelection.GeneralMedicine, split.PublicPartUsed);
        Assert.All(split.Public, r => Assert.Equal(MedicalSpecialty.General, truth[r]));
        Assert.Equal(48, split.Public.Count);
        Assert.Equal(
            [[MedicalSpecialty.Oncology], [MedicalSpecialty.Cardiovascular], [MedicalSpecialty.Infectious]],
            split.Hospitals.Select(h => h.Specialties.ToArray()).ToArray());
        foreach (var hospital in split.Hospitals)
        {
            Assert.All(hospital.All, r => Assert.Equal(hospital.Specialties.Single(), truth[r]));
        }
        Assert.Equal(split.Evaluation.Select(r => truth[r]), split.EvaluationSpecialties);
        Assert.DoesNotContain(MedicalSpecialty.General, split.EvaluationSpecialties);
        var everything = split.Public.Concat(split.Evaluation).Concat(split.Hospitals.SelectMany(h => h.All)).ToList();
        Assert.Equal(everything.Count, everything.Distinct().Count());
        Assert.Equal(records.Count, everything.Count);
    }

    [Fact]
    public void With_more_hospitals_than_specialties_a_specialty_is_shared_by_topic()
    {
        var split = MedicalDataSplitter.Split(Records(), new MedicalSplitOptions
        {
            HospitalCount = 6, Partitioning = HospitalPartitioning.BySpecialty, PublicPart = PublicPartSelection.GeneralMedicine, Seed = 5,
        });

        Assert.Equal(
            [MedicalSpecialty.Oncology, MedicalSpecialty.Cardiovascular, MedicalSpecialty.Infectious, MedicalSpecialty.Oncology, MedicalSpecialty.Cardiovascular, MedicalSpecialty.Infectious],
            split.Hospitals.Select(h => h.Specialties.Single()));
        Assert.All(split.Hospitals, h => Assert.NotEmpty(h.Train));
        var topics = split.Hospitals.Select(h => h.All.Select(MedicalTopicExtractor.TopicOf).ToHashSet()).ToList();
        Assert.Empty(topics[0].Intersect(topics[3]));
    }

    [Fact]
    public void The_random_public_part_is_what_it_was_before_specialties_existed()
    {
        var records = Records();
        var options = new MedicalSplitOptions { HospitalCount = 2, Seed = 9 };

        var split = MedicalDataSplitter.Split(records, options);

        Assert.Equal(PublicPartSelection.Random, split.PublicPartUsed);
        Assert.Equal(Math.Round(records.Count * options.PublicFraction), split.Public.Count);
        Assert.Contains(split.Public, r => !r.Output.StartsWith(Answers[MedicalSpecialty.General][..20], StringComparison.Ordinal));
    }

    [Fact]
    public void On_the_real_medical_data_the_specialties_are_of_similar_size_and_general_medicine_is_the_largest_part()
    {
        var records = new AlpacaDatasetReader().ReadAll(TestPaths.RequireMedicalMeadowFile());

        var specialties = MedicalSpecialtyClassifier.ClassifyAll(records.Distinct());

        var counts = specialties.Values.GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(4, counts.Count);
        Assert.All(MedicalSpecialtyClassifier.Specialties, s => Assert.InRange(counts[s], 800, 1500));
        Assert.InRange(counts[MedicalSpecialty.General], 2000, 3000);
    }
}
