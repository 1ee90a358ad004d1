using FedTune.Core.Adapters;
using FedTune.Training.Data;
using FedTune.Training.Lora;
using FedTune.Training.Modeling;
using static TorchSharp.torch;

namespace FedTune.Training.Privacy;

/// <summary>
/// Loads the base model from its Hugging Face folder, and each audited model either as base + PEFT adapter (LoRA
/// attached on the adapter's own modules, unmerged) or as a full Hugging Face folder (a merged model).
/// </summary>
public sealed class HuggingFaceAuditModelLoader(string baseModelDirectory, ITextTokenizer tokenizer, Device? device = null) : IAuditModelLoader
{
    public ITextTokenizer Tokenizer { get; } = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));

    public ICausalLanguageModel LoadBase() => HuggingFaceModelLoader.Load(baseModelDirectory, device);

    public ICausalLanguageModel Load(AuditModelSpec model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (File.Exists(Path.Combine(model.Path, PeftAdapterFolder.ConfigFileName)))
        {
            var adapter = PeftAdapterFolder.Load(model.Path);
            var network = HuggingFaceModelLoader.Load(baseModelDirectory, device);
            try
            {
                LoraAdapterExchange.Attach(network, adapter);
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
