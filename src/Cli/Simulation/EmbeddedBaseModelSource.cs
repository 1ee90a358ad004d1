using FedTune.Cli.Reporting;

namespace FedTune.Cli.Simulation;

/// <summary>The embedded default base model (built once from the public split and cached), for machines without model files.</summary>
public static class EmbeddedBaseModelSource
{
    public static BaseModelInfo Ensure(int seed, Action<string> say, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(say);
        cancellationToken.ThrowIfCancellationRequested();
        _ = seed;
        throw new InvalidOperationException(
            "No base model: no --model folder was given, no configured model is on this machine, and this build has no embedded default base model. " +
            "Fix: pass --model DIR (a Hugging Face GPT-NeoX folder with config.json, model.safetensors and tokenizer.json, e.g. a downloaded EleutherAI/pythia-70m).");
    }
}
