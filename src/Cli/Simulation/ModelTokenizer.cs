using FedTune.Training.Data;
using FedTune.Training.Tokenization;

namespace FedTune.Cli.Simulation;

/// <summary>The model folder's tokenizer.json (byte-level BPE, exact GPT-2/GPT-NeoX pre-tokenization) as the trainer's <see cref="ITextTokenizer"/>.</summary>
public sealed class ModelTokenizer : ITextTokenizer
{
    private readonly HuggingFaceTokenizer _inner;

    private ModelTokenizer(HuggingFaceTokenizer inner, int eos, int pad)
    {
        _inner = inner;
        EosTokenId = eos;
        PadTokenId = pad;
    }

    public int EosTokenId { get; }
    public int PadTokenId { get; }

    /// <summary>Loads tokenizer.json from <paramref name="modelFolder"/>; an error names the file and the fix.</summary>
    public static ModelTokenizer Load(string modelFolder)
    {
        var inner = HuggingFaceTokenizer.Load(modelFolder);
        int eos = inner.EndOfTextId ?? throw new InvalidDataException(
            $"{Path.Combine(modelFolder, HuggingFaceTokenizer.FileName)} has no <|endoftext|> token. Fix: use the model's own tokenizer.json (GPT-NeoX or GPT-2 byte-level BPE).");
        return new ModelTokenizer(inner, eos, inner.PaddingId ?? eos);
    }

    public IReadOnlyList<int> Encode(string text) => _inner.Encode(text);

    public string Decode(IEnumerable<int> ids) => _inner.Decode(ids);
}
