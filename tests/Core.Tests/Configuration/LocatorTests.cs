using FedTune.Core.Configuration;

namespace FedTune.Core.Tests.Configuration;

public sealed class LocatorTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("locator-");

    public void Dispose() => _root.Delete(recursive: true);

    [Fact]
    public void Hub_id_resolves_from_fedtune_models_folder()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_root.FullName, "models", "EleutherAI", "pythia-70m"));
        var found = ModelLocator.Resolve("EleutherAI/pythia-70m", Env(("FEDTUNE_MODELS", Path.Combine(_root.FullName, "models"))));
        Assert.Equal(folder.FullName, found.Path);
    }

    [Fact]
    public void Hub_id_resolves_from_the_hugging_face_cache_snapshot_named_by_refs_main()
    {
        var repo = Path.Combine(_root.FullName, "hub", "models--EleutherAI--pythia-70m");
        var snapshot = Directory.CreateDirectory(Path.Combine(repo, "snapshots", "abc123"));
        File.WriteAllText(Path.Combine(snapshot.FullName, "config.json"), "{}");
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), "abc123");
        var found = ModelLocator.Resolve("EleutherAI/pythia-70m", Env(("HF_HUB_CACHE", Path.Combine(_root.FullName, "hub"))));
        Assert.Equal(snapshot.FullName, found.Path);
        Assert.Equal("Hugging Face cache", found.Origin);
    }

    [Fact]
    public void Hub_id_not_on_this_machine_says_where_to_put_the_files()
    {
        var ex = Assert.Throws<ArtifactNotFoundException>(() =>
            DatasetLocator.Resolve("medalpaca/medical_meadow_medical_flashcards", Env(("HOME", _root.FullName))));
        Assert.Contains("FEDTUNE_DATASETS", ex.Message, StringComparison.Ordinal);
        Assert.Contains("datasets--medalpaca--medical_meadow_medical_flashcards", ex.Message, StringComparison.Ordinal);
        Assert.Contains("huggingface-cli download --repo-type dataset", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Local_path_is_used_as_is()
    {
        Assert.Equal(_root.FullName, ModelLocator.Resolve(_root.FullName, Env()).Path);
    }

    private static Func<string, string?> Env(params (string Key, string Value)[] values) =>
        key => values.FirstOrDefault(v => v.Key == key).Value;
}
