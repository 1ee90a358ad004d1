using System.Text.RegularExpressions;

namespace FedTune.Core.Data;

/// <summary>
/// Finds the disease or condition a medical question is about ("What are the symptoms of Allergy?" → "allergy"),
/// so records about one topic can be kept together. Known WikiDoc/medAlpaca question stems are stripped; otherwise
/// the text after the last " of ", " for " or " have " is used; failing that, the whole question. The result is
/// lower-cased with punctuation and "(Outlook/Prognosis)"-style suffixes removed.
/// </summary>
public static partial class MedicalTopicExtractor
{
    /// <summary>The topic of a record: from its input (the question), or its instruction when the input is empty.</summary>
    public static string TopicOf(AlpacaRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return TopicOf(string.IsNullOrWhiteSpace(record.Input) ? record.Instruction : record.Input);
    }

    /// <summary>The topic named in <paramref name="question"/>.</summary>
    public static string TopicOf(string question)
    {
        ArgumentNullException.ThrowIfNull(question);
        var text = Parenthesised().Replace(question, " ");
        var match = KnownStem().Match(text);
        string topic;
        if (match.Success)
        {
            topic = match.Groups["topic"].Value;
        }
        else
        {
            var tail = FallbackTail().Match(text);
            topic = tail.Success ? tail.Groups["topic"].Value : text;
        }

        topic = Normalise(topic);
        return topic.Length == 0 ? Normalise(text) : topic;
    }

    private static string Normalise(string text)
    {
        var trimmed = Punctuation().Replace(text.ToLowerInvariant(), " ");
        return Spaces().Replace(trimmed, " ").Trim();
    }

    [GeneratedRegex(@"\([^)]*\)")]
    private static partial Regex Parenthesised();

    [GeneratedRegex(
        @"^\s*(?:what\s+are\s+(?:the\s+)?(?:symptoms|causes|risks|complications|types|signs)\s+of|what\s+causes|" +
        @"when\s+to\s+seek\s+urgent\s+medical\s+care\s+when\s+i\s+have|what\s+to\s+expect\s+if\s+i\s+have|" +
        @"who\s+is\s+at\s+(?:highest\s+)?risk\s+for|where\s+to\s+find\s+medical\s+care\s+for|" +
        @"how\s+to\s+know\s+(?:if\s+)?you\s+have|how\s+(?:can|do)\s+i\s+prevent|how\s+to\s+prevent|" +
        @"what\s+is\s+the\s+treatment\s+for|what\s+are\s+the\s+treatments?\s+for|what\s+is|what\s+are)\s+(?<topic>.+)$",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex KnownStem();

    [GeneratedRegex(@"\b(?:of|for|have|with)\s+(?<topic>[^?]+?)\s*\??\s*$",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.RightToLeft | RegexOptions.Singleline)]
    private static partial Regex FallbackTail();

    [GeneratedRegex(@"[^\p{L}\p{N}\s'-]")]
    private static partial Regex Punctuation();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
