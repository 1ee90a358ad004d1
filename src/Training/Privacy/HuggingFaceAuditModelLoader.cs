using FedTune.Core.Adapters;
using FedTune.Core.Configuration;
using FedTune.Training.Data;
using FedTune.Training.Lora;
using FedTune.Training.Modeling;
using FedTune.Training.Tokenization;
using static TorchSharp.torch;

namespace FedTune.Training.Privacy;

/// <summary>
/// Loads the base model from its Hugging Face folder, and each audited model either as base + adapter (a PEFT folder,
/// or a wire-format adapter file such as a round checkpoint <c>round-0003.bin</c>; LoRA attached on the adapter's own
/// modules, then merged into the float32 base weights for scoring) or as a full Hugging Face folder (a merged model).
/// </summary>
public sealed class HuggingFaceAuditModelLoader(string baseModelDirectory, ITextTokenizer tokenizer, Device? device = null) : IAuditModelLoader
{
    public ITextTokenizer Tokenizer { get; } = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));

    /// <summary>The loader for a base model folder with its own tokenizer.json (the tokenizer training used).</summary>
    public static HuggingFaceAuditModelLoader ForBaseModel(string baseModelDirectory, Device? device = null) =>
        new(baseModelDirectory, HuggingFaceTokenizer.Load(baseModelDirectory), device);

    public ICausalLanguageModel LoadBase() => HuggingFaceModelLoader.Load(baseModelDirectory, device);

    public ICausalLanguageModel Load(AuditModelSpec model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var isWireFile = File.Exists(model.Path);
        if (isWireFile || File.Exists(Path.Combine(model.Path, PeftAdapterFolder.ConfigFileName)))
        {
            LoraAdapter adapter;
            if (isWireFile)
            {
                using var stream = File.OpenRead(model.Path);
                adapter = AdapterWireFormat.Read(stream, model.Path);
            }
            else
            {
                adapter = PeftAdapterFolder.Load(model.Path);
            }

            var network = HuggingFaceModelLoader.Load(baseModelDirectory, device);
            try
            {
                LoraAdapterExchange.Attach(network, adapter);
                // The audit only scores: each LoRA delta folded into its float32 base weight makes every layer one
                // matrix product instead of three (the same function, up to float rounding).
                if (network.Quantization == BaseQuantization.None)
                {
                    LoraAdapterExchange.MergeAll(network);
                }

                return network;
            }
            catch
            {
                network.Dispose();
                throw;
            }
        }

        return HuggingFaceModelLoader.Load(model.Path, device);
    }
}
