using FedTune.ClientAgent.Engine;
using FedTune.TestSupport;

namespace FedTune.ClientAgent.Tests.Engine;

public sealed class ModelIdentityTests
{
    [Fact]
    public void A_hub_name_matches_a_folder_named_after_its_last_segment()
    {
        using var dir = new TempDirectory();
        var folder = Directory.CreateDirectory(dir.File("pythia-70m")).FullName;
        Assert.True(ModelIdentity.Matches("EleutherAI/pythia-70m", ModelIdentity.NamesOf(folder, null)));
        Assert.False(ModelIdentity.Matches("EleutherAI/pythia-160m", ModelIdentity.NamesOf(folder, null)));
    }

    [Fact]
    public void Config_name_or_path_and_the_configured_name_identify_the_folder()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("config.json"), """{"_name_or_path": "EleutherAI/pythia-160m", "model_type": "gpt_neox"}""");
        Assert.True(ModelIdentity.Matches("EleutherAI/pythia-160m", ModelIdentity.NamesOf(dir.Path, null)));
        Assert.True(ModelIdentity.Matches("my-model", ModelIdentity.NamesOf(dir.Path, "my-model")));
        Assert.False(ModelIdentity.Matches("EleutherAI/pythia-160m", ModelIdentity.NamesOf(dir.Path, "my-model")));
    }
}
