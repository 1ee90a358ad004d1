using System.Text;
using Microsoft.ML.Tokenizers;

namespace FedTune.Training.Tokenization;

/// <summary>Unicode NFC normalization, the normalizer GPT-NeoX's tokenizer.json declares.</summary>
public sealed class NfcNormalizer : Normalizer
{
    public override string Normalize(string original)
    {
        ArgumentNullException.ThrowIfNull(original);
        return original.IsNormalized(NormalizationForm.FormC) ? original : original.Normalize(NormalizationForm.FormC);
    }

    public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());
}
