using FedTune.Core.Data;

namespace FedTune.Training.Data;

/// <summary>
/// Formats an Alpaca record with the prompt template, tokenizes prompt and response separately (so the prompt/response
/// boundary is exact), appends EOS, and truncates to <see cref="TokenizationOptions.SeqLength"/>:
/// when prompt + response + EOS is too long, the response keeps its first
/// <c>min(len(response), max(SeqLength − len(prompt), ceil(MinResponseFraction·SeqLength)))</c> tokens, and the prompt
/// keeps its LAST tokens in the remaining room, so the question's end and "### Response:" stay right before the start
/// of the response. A truncated response loses its tail (and its EOS).
/// </summary>
public sealed class AlpacaExampleTokenizer
{
    private readonly ITextTokenizer _tokenizer;
    private readonly AlpacaPromptTemplate _template;
    private readonly TokenizationOptions _options;

    public AlpacaExampleTokenizer(ITextTokenizer tokenizer, AlpacaPromptTemplate? template = null, TokenizationOptions? options = null)
    {
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _template = template ?? AlpacaPromptTemplate.Alpaca;
        _template.Validate();
        _options = options ?? new TokenizationOptions();
        _options.Validate();
    }

    public TokenizationOptions Options => _options;

    public TokenizedExample Tokenize(AlpacaRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var prompt = _tokenizer.Encode(_template.FormatPrompt(record));
        var response = new List<int>(_tokenizer.Encode(record.Output));
        if (_options.AppendEos)
        {
            response.Add(_tokenizer.EosTokenId);
        }

        var length = _options.SeqLength;
        int keepResponse = response.Count;
        int keepPrompt = prompt.Count;
        if (prompt.Count + response.Count > length)
        {
            var reserved = (int)Math.Ceiling(_options.MinResponseFraction * length);
            keepResponse = Math.Min(response.Count, Math.Max(length - prompt.Count, reserved));
            keepPrompt = Math.Min(prompt.Count, length - keepResponse);
        }

        var ids = new int[keepPrompt + keepResponse];
        var labels = new int[ids.Length];
        for (int i = 0; i < keepPrompt; i++)
        {
            ids[i] = prompt[prompt.Count - keepPrompt + i];
            labels[i] = _options.CompletionOnlyLoss ? TokenizedExample.IgnoreIndex : ids[i];
        }

        for (int i = 0; i < keepResponse; i++)
        {
            ids[keepPrompt + i] = response[i];
            labels[keepPrompt + i] = response[i];
        }

        return new TokenizedExample(ids, labels);
    }

    public IReadOnlyList<TokenizedExample> TokenizeAll(IEnumerable<AlpacaRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        return records.Select(Tokenize).ToList();
    }
}
