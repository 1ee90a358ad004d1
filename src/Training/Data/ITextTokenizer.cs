namespace FedTune.Training.Data;

/// <summary>
/// The text ↔ token-id mapping the trainer and evaluator need. Implemented over the model's tokenizer
/// (GPT-NeoX/GPT-2 byte-level BPE); <see cref="Encode"/> must not add special tokens itself.
/// </summary>
public interface ITextTokenizer
{
    /// <summary>Token ids of <paramref name="text"/>, without BOS/EOS.</summary>
    IReadOnlyList<int> Encode(string text);

    /// <summary>The text of <paramref name="ids"/>.</summary>
    string Decode(IEnumerable<int> ids);

    /// <summary>End-of-sequence id, appended after every response.</summary>
    int EosTokenId { get; }

    /// <summary>Padding id (Pythia has none; use EOS like Hugging Face recipes do). Padding never counts in the loss.</summary>
    int PadTokenId { get; }
}
