using FedTune.Training.Tokenization;

namespace FedTune.Training.Data;

/// <summary>
/// The model folder's <c>tokenizer.json</c> (<see cref="HuggingFaceTokenizer"/>) as the trainer's
/// <see cref="ITextTokenizer"/>: EOS is &lt;|endoftext|&gt;; padding is &lt;|padding|&gt; when the vocabulary has it
/// (Pythia), else EOS (padding is masked and never scored, so its id does not change results).
/// </summary>
public sealed class HuggingFaceTextTokenizer : ITextTokenizer
{
    private readonly HuggingFaceTokenizer _tokenizer;

    public HuggingFaceTextTokenizer(HuggingFaceTokenizer tokenizer)
    {
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        EosTokenId = tokenizer.EndOfTextId
                     ?? throw new ArgumentException(
                         $"The tokenizer has no {HuggingFaceTokenizer.EndOfText} token, which training appends after every response: use a GPT-NeoX/GPT-2 tokenizer.json.",
                         nameof(tokenizer));
        PadTokenId = tokenizer.PaddingId ?? EosTokenId;
    }

    /// <summary>Reads <c>tokenizer.json</c> from a model folder (or the file itself).</summary>
    public static HuggingFaceTextTokenizer Load(string modelFolderOrFile) => new(HuggingFaceTokenizer.Load(modelFolderOrFile));

    public int EosTokenId { get; }

    public int PadTokenId { get; }

    public IReadOnlyList<int> Encode(string text) => _tokenizer.Encode(text);

    public string Decode(IEnumerable<int> ids) => _tokenizer.Decode(ids);
}
