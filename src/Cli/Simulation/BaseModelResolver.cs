using FedTune.Cli.Reporting;
using FedTune.Core.Configuration;

namespace FedTune.Cli.Simulation;

/// <summary>
/// Picks the base model: an explicit --model folder; else the model the configuration names, when its files are on
/// this machine; else the embedded default base model (built once and cached). Says which, and why.
/// </summary>
public static class BaseModelResolver
{
    public static BaseModelInfo Resolve(string? modelFolder, FedTuneConfig? config, string dataFile, int seed, Action<string> say, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(say);
        if (modelFolder is not null)
        {
            if (!File.Exists(Path.Combine(modelFolder, "config.json")))
            {
                throw new DirectoryNotFoundException($"--model: '{modelFolder}' is not a Hugging Face model folder (no config.json). Fix: give a folder with config.json, model.safetensors and tokenizer.json.");
            }
            var full = Path.GetFullPath(modelFolder);
            say($"Base model: {full} (--model)");
            return new BaseModelInfo(Path.GetFileName(Path.TrimEndingDirectorySeparator(full)), "option", full);
        }
        if (config is not null)
        {
            try
            {
                var located = ModelLocator.Resolve(config.Recipe.BaseModel);
                say($"Base model: {config.Recipe.BaseModel} from {located.Path} ({located.Origin})");
                return new BaseModelInfo(config.Recipe.BaseModel, "config", located.Path);
            }
            catch (ArtifactNotFoundException e)
            {
                say($"The configured model {config.Recipe.BaseModel} is not on this machine ({e.Message}); using the embedded default base model instead.");
            }
        }
        return EmbeddedBaseModelSource.Ensure(dataFile, seed, say, cancellationToken);
    }
}
