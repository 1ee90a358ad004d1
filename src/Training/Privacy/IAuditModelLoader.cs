using FedTune.Training.Data;
using FedTune.Training.Modeling;

namespace FedTune.Training.Privacy;

/// <summary>Loads the models an audit scores, one at a time (the audit disposes each after scoring).</summary>
public interface IAuditModelLoader
{
    ITextTokenizer Tokenizer { get; }

    ICausalLanguageModel LoadBase();

    ICausalLanguageModel Load(AuditModelSpec model);
}
