using FedTune.Training.Modeling;
using static TorchSharp.torch;

namespace FedTune.Training.BaseModel;

/// <summary>
/// A GPT-NeoX of another model's exact shape with random weights (HF's initialization) written by this project:
/// <c>config.json</c> and <c>tokenizer.json</c> come from a folder that has no weights (such as
/// <c>../shared/models/pythia-70m</c>), <c>model.safetensors</c> is new. For measuring speed, memory and bytes at the
/// real size, and for running the seed configuration as a user with the real weights would. <paramref name="layers"/>
/// keeps every other dimension and the vocabulary but fewer blocks (a smaller variant for tests).
/// </summary>
public static class ShapedRandomModel
{
    public static string Write(string likeFolder, string outFolder, int? layers = null, long seed = 1234)
    {
        ArgumentException.ThrowIfNullOrEmpty(likeFolder);
        ArgumentException.ThrowIfNullOrEmpty(outFolder);
        var tokenizer = Path.Combine(likeFolder, "tokenizer.json");
        if (!File.Exists(tokenizer))
        {
            throw new FileNotFoundException($"'{likeFolder}' has no tokenizer.json. Fix: give a folder with the model's config.json and tokenizer.json.", tokenizer);
        }

        var config = GptNeoXConfig.Load(likeFolder);
        if (layers is { } n)
        {
            if (n < 1) throw new ArgumentException($"layers is {n}: a model needs at least one block.");
            config = config with { NumHiddenLayers = n };
        }

        using var model = new GptNeoXForCausalLM(config, CPU);
        model.InitializeRandom(seed);
        HuggingFaceModelWriter.Save(model, outFolder, File.ReadAllText(tokenizer));
        return outFolder;
    }
}
