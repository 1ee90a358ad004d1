using FedTune.Core.Data;
using FedTune.Core.Privacy;
using FedTune.Training.Data;

namespace FedTune.Training.Privacy;

/// <summary>
/// The member and non-member examples an audit scores: read, cleaned (canary records are not MIA members; a
/// non-member that also appears among members is dropped; records with nothing to score are dropped), sampled to at
/// most <see cref="PrivacyAuditOptions.MaxRecordsPerSide"/> per side with a seed, and tokenized like training.
/// </summary>
internal sealed record AuditRecords(
    IReadOnlyList<TokenizedExample> Members,
    IReadOnlyList<TokenizedExample> NonMembers,
    int Dropped,
    AlpacaExampleTokenizer Tokenizer)
{
    public static AuditRecords Prepare(AuditInputs inputs, PrivacyAuditOptions options, ITextTokenizer tokenizer, CanarySet? canaries)
    {
        var reader = new AlpacaDatasetReader();
        var members = inputs.MembersFiles.SelectMany(f => reader.ReadAll(f)).ToList();
        var nonMembers = inputs.NonMembersFiles.SelectMany(f => reader.ReadAll(f)).ToList();
        var canaryRecords = new HashSet<AlpacaRecord>(canaries?.Canaries.Select(c => c.Record) ?? []);
        var memberSet = new HashSet<AlpacaRecord>(members);
        var cleanMembers = members.Where(r => !canaryRecords.Contains(r)).Distinct().ToList();
        var cleanNonMembers = nonMembers.Where(r => !memberSet.Contains(r) && !canaryRecords.Contains(r)).Distinct().ToList();

        var exampleTokenizer = new AlpacaExampleTokenizer(tokenizer, options.Template, options.Tokenization);
        var memberExamples = Tokenize(cleanMembers, exampleTokenizer, options, options.SampleSeed);
        var nonMemberExamples = Tokenize(cleanNonMembers, exampleTokenizer, options, options.SampleSeed + 1);
        if (memberExamples.Count == 0 || nonMemberExamples.Count == 0)
        {
            throw new InvalidDataException(
                $"After cleaning, {memberExamples.Count} member and {nonMemberExamples.Count} non-member records remain in " +
                $"{string.Join(", ", inputs.MembersFiles)} / {string.Join(", ", inputs.NonMembersFiles)}: both sides need records with a non-empty response.");
        }

        var dropped = members.Count + nonMembers.Count - cleanMembers.Count - cleanNonMembers.Count
            + (Math.Min(cleanMembers.Count, options.MaxRecordsPerSide) - memberExamples.Count)
            + (Math.Min(cleanNonMembers.Count, options.MaxRecordsPerSide) - nonMemberExamples.Count);
        return new AuditRecords(memberExamples, nonMemberExamples, dropped, exampleTokenizer);
    }

    private static List<TokenizedExample> Tokenize(List<AlpacaRecord> records, AlpacaExampleTokenizer tokenizer, PrivacyAuditOptions options, int seed)
    {
        if (records.Count > options.MaxRecordsPerSide)
        {
            var random = new Random(seed);
            var shuffled = records.ToArray();
            random.Shuffle(shuffled);
            records = shuffled.Take(options.MaxRecordsPerSide).ToList();
        }

        return records.Select(tokenizer.Tokenize).Where(e => e.ScoredTokenCount > 0).ToList();
    }
}
