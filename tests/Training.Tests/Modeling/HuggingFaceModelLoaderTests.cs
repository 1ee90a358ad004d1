using FedTune.Core.Formats;
using FedTune.Training.Modeling;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Modeling;

public sealed class HuggingFaceModelLoaderTests
{
    private static Tensor Logits(GptNeoXForCausalLM model)
    {
        using var noGrad = torch.no_grad();
        return model.Forward(ModelTestSupport.RandomIds(2, 5, model.VocabularySize, 11), null);
    }

    private static string SavedTinyModel(out GptNeoXForCausalLM model)
    {
        var folder = ModelTestSupport.NewTempFolder();
        model = ModelTestSupport.TinyModel(seed: 7);
        HuggingFaceModelWriter.Save(model, folder);
        return folder;
    }

    /// <summary>Rewrites model.safetensors with <paramref name="edit"/> applied to the tensor list.</summary>
    private static void EditWeights(string folder, Func<List<SafetensorsTensor>, List<SafetensorsTensor>> edit)
    {
        var path = Path.Combine(folder, "model.safetensors");
        List<SafetensorsTensor> tensors;
        using (var reader = SafetensorsReader.Open(path))
            tensors = reader.Tensors.Select(t => new SafetensorsTensor(t.Name, t.DType, t.Shape, reader.ReadBytes(t.Name))).ToList();
        SafetensorsWriter.Write(path, edit(tensors));
    }

    [Fact]
    public void Save_then_Load_reproduces_the_logits()
    {
        var folder = SavedTinyModel(out var original);
        using (original)
        using (var loaded = HuggingFaceModelLoader.Load(folder))
        using (var scope = torch.NewDisposeScope())
        {
            Assert.Equal(0.0, ModelTestSupport.MaxRelativeError(Logits(loaded), Logits(original)));
            Assert.True(File.Exists(Path.Combine(folder, "config.json")));
        }
    }

    [Fact]
    public void Load_reads_a_sharded_checkpoint_through_its_index()
    {
        var folder = SavedTinyModel(out var original);
        using var _ = original;
        var single = Path.Combine(folder, "model.safetensors");
        List<SafetensorsTensor> tensors;
        using (var reader = SafetensorsReader.Open(single))
            tensors = reader.Tensors.Select(t => new SafetensorsTensor(t.Name, t.DType, t.Shape, reader.ReadBytes(t.Name))).ToList();
        File.Delete(single);
        var first = tensors.Take(tensors.Count / 2).ToList();
        var second = tensors.Skip(tensors.Count / 2).ToList();
        SafetensorsWriter.Write(Path.Combine(folder, "model-00001-of-00002.safetensors"), first);
        SafetensorsWriter.Write(Path.Combine(folder, "model-00002-of-00002.safetensors"), second);
        var map = first.Select(t => $"\"{t.Name}\": \"model-00001-of-00002.safetensors\"")
            .Concat(second.Select(t => $"\"{t.Name}\": \"model-00002-of-00002.safetensors\""));
        File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"), $"{{\"metadata\": {{}}, \"weight_map\": {{{string.Join(",", map)}}}}}");
        using var loaded = HuggingFaceModelLoader.Load(folder);
        using var scope = torch.NewDisposeScope();
        Assert.Equal(0.0, ModelTestSupport.MaxRelativeError(Logits(loaded), Logits(original)));
    }

    [Fact]
    public void Load_converts_to_the_requested_dtype()
    {
        var folder = SavedTinyModel(out var original);
        using var _ = original;
        using var loaded = HuggingFaceModelLoader.Load(folder, dtype: ScalarType.BFloat16);
        using var scope = torch.NewDisposeScope();
        Assert.Equal(ScalarType.BFloat16, loaded.Backbone.EmbedIn.weight!.dtype);
        var logits = Logits(loaded);
        Assert.Equal(ScalarType.Float32, logits.dtype);
        Assert.True(ModelTestSupport.MaxRelativeError(logits, Logits(original)) < 0.1);
    }

    [Fact]
    public void Load_names_a_missing_weight_and_its_expected_shape()
    {
        var folder = SavedTinyModel(out var original);
        original.Dispose();
        EditWeights(folder, t => t.Where(x => x.Name != "gpt_neox.layers.1.mlp.dense_4h_to_h.weight").ToList());
        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceModelLoader.Load(folder));
        Assert.Contains("'gpt_neox.layers.1.mlp.dense_4h_to_h.weight' (shape [32, 64]) is missing from model.safetensors", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_names_a_misshaped_weight_with_both_shapes()
    {
        var folder = SavedTinyModel(out var original);
        original.Dispose();
        EditWeights(folder, t => t.Select(x => x.Name == "embed_out.weight"
            ? SafetensorsTensor.FromFloat32(x.Name, [52, 32], new float[52 * 32]) : x).ToList());
        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceModelLoader.Load(folder));
        Assert.Contains("'embed_out.weight' in model.safetensors has shape [52, 32] but config.json implies [53, 32]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_rejects_tensors_the_architecture_has_no_place_for_but_ignores_HF_buffers()
    {
        var folder = SavedTinyModel(out var original);
        original.Dispose();
        EditWeights(folder, t => t.Append(SafetensorsTensor.FromFloat32("gpt_neox.layers.0.attention.masked_bias", [], [-1e9f]))
            .Append(SafetensorsTensor.FromFloat32("gpt_neox.layers.0.attention.rotary_emb.inv_freq", [4], new float[4])).ToList());
        using (HuggingFaceModelLoader.Load(folder)) { }

        EditWeights(folder, t => t.Append(SafetensorsTensor.FromFloat32("transformer.h.0.attn.c_attn.weight", [2], new float[2])).ToList());
        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceModelLoader.Load(folder));
        Assert.Contains("transformer.h.0.attn.c_attn.weight", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_explains_missing_weights_and_unreadable_pickles()
    {
        var folder = ModelTestSupport.NewTempFolder();
        File.WriteAllText(Path.Combine(folder, "config.json"), ModelTestSupport.TinyConfig().ToJson());
        var missing = Assert.Throws<FileNotFoundException>(() => HuggingFaceModelLoader.Load(folder));
        Assert.Contains("model.safetensors", missing.Message, StringComparison.Ordinal);

        File.WriteAllBytes(Path.Combine(folder, "pytorch_model.bin"), [0x50, 0x4b]);
        var pickle = Assert.Throws<InvalidDataException>(() => HuggingFaceModelLoader.Load(folder));
        Assert.Contains("not a zip-format torch checkpoint", pickle.Message, StringComparison.Ordinal);

        Assert.Throws<DirectoryNotFoundException>(() => HuggingFaceModelLoader.Load(Path.Combine(folder, "nope")));
    }

    [Fact]
    public void Load_refuses_a_pickle_that_calls_anything_but_tensor_rebuilding()
    {
        var folder = ModelTestSupport.NewTempFolder();
        File.WriteAllText(Path.Combine(folder, "config.json"), ModelTestSupport.TinyConfig().ToJson());
        // pickle of os.system("echo"): GLOBAL, argument tuple, REDUCE.
        byte[] hostile = [0x80, 0x02, .. "cos\nsystem\n"u8, .. "X"u8, 4, 0, 0, 0, .. "echo"u8, 0x85, .. "R."u8];
        using (var zip = System.IO.Compression.ZipFile.Open(Path.Combine(folder, "pytorch_model.bin"), System.IO.Compression.ZipArchiveMode.Create))
        using (var entry = zip.CreateEntry("archive/data.pkl").Open())
            entry.Write(hostile);
        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceModelLoader.Load(folder));
        Assert.Contains("os.system", error.Message, StringComparison.Ordinal);
        Assert.Contains("refusing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_reports_an_unknown_architecture()
    {
        var folder = ModelTestSupport.NewTempFolder();
        File.WriteAllText(Path.Combine(folder, "config.json"), """{"model_type": "llama"}""");
        var error = Assert.Throws<InvalidDataException>(() => HuggingFaceModelLoader.Load(folder));
        Assert.Contains("Unknown architecture", error.Message, StringComparison.Ordinal);
        Assert.Contains(folder, error.Message, StringComparison.Ordinal);
    }
}
