using FedTune.Training.Data;
using FedTune.Training.Modeling;

namespace FedTune.ClientAgent.Engine;

/// <summary>A base model loaded (and quantized) for <see cref="Key"/>, with its folder's tokenizer.</summary>
public sealed record LoadedBaseModel(BaseModelKey Key, GptNeoXForCausalLM Model, ITextTokenizer Tokenizer) : IDisposable
{
    public void Dispose() => Model.Dispose();
}

/// <summary>
/// A model a task took from <see cref="BaseModelCache.Take"/>: whether this task loaded it (or reused the kept one), the
/// seconds loading took (0 when reused), and the loads this process made for the run so far, this one included.
/// </summary>
public sealed record TakenBaseModel(LoadedBaseModel Model, bool Loaded, double LoadSeconds, int LoadsThisRun);
