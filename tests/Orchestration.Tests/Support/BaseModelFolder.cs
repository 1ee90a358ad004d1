using System.Runtime.CompilerServices;
using FedTune.Core.Configuration;

namespace FedTune.Orchestration.Tests.Support;

/// <summary>
/// The orchestrator's machine holds the base model's config.json (all it needs to size the round-0 adapter and check
/// uploads): the test configurations' EleutherAI/pythia-70m is given the tiny test shape under a private
/// $FEDTUNE_MODELS, which hosts started from these tests (and their child processes) find like any model.
/// </summary>
internal static class BaseModelFolder
{
    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "The test process's model folder is set up once, before any host starts.")]
    internal static void Install()
    {
        var root = Path.Combine(Path.GetTempPath(), "fedtune-orchestration-tests-models");
        var folder = Path.Combine(root, "EleutherAI", "pythia-70m");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"),
            """{"model_type": "gpt_neox", "hidden_size": 4, "intermediate_size": 8, "num_hidden_layers": 2, "vocab_size": 16, "tie_word_embeddings": true}""");
        Environment.SetEnvironmentVariable(ModelLocator.RootVariable, root);
    }
}
