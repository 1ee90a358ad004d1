using System.Text.Json;
using FedTune.Core.Adapters;
using FedTune.Core.Formats;

namespace FedTune.Core.Tests.Adapters;

public sealed class PeftAdapterRoundTripTests
{
    [Fact]
    public void Folder_round_trip_is_bit_exact_and_uses_peft_names()
    {
        var adapter = AdapterSamples.Create();
        var folder = Directory.CreateTempSubdirectory("peft-");
        try
        {
            PeftAdapterFolder.Save(folder.FullName, adapter);
            Assert.True(File.Exists(Path.Combine(folder.FullName, "adapter_config.json")));
            using (var reader = SafetensorsReader.Open(Path.Combine(folder.FullName, "adapter_model.safetensors")))
            {
                Assert.Contains(reader.Tensors, t => t.Name == "base_model.model.gpt_neox.layers.0.attention.query_key_value.lora_A.weight");
                Assert.Contains(reader.Tensors, t => t.Name == "base_model.model.gpt_neox.layers.1.attention.query_key_value.lora_B.weight");
                Assert.All(reader.Tensors, t => Assert.Equal(SafetensorsDType.F32, t.DType));
                Assert.Equal("pt", reader.Metadata["format"]);
            }

            var loaded = PeftAdapterFolder.Load(folder.FullName);
            AssertBitExact(adapter, loaded);
            Assert.True(adapter.Config.JsonEquals(loaded.Config));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Wire_round_trip_is_bit_exact_and_hash_is_stable()
    {
        var adapter = AdapterSamples.Create(layers: 3);
        var bytes = AdapterWireFormat.ToBytes(adapter);
        var loaded = AdapterWireFormat.Read(new MemoryStream(bytes));
        AssertBitExact(adapter, loaded);
        Assert.Equal(bytes, AdapterWireFormat.ToBytes(loaded));
        Assert.Equal(AdapterHash.Sha256(bytes), AdapterHash.Sha256(loaded));
        Assert.Equal(64, AdapterHash.Sha256(bytes).Length);
        bytes[^1] ^= 1;
        Assert.NotEqual(AdapterHash.Sha256(bytes), AdapterHash.Sha256(adapter));
    }

    [Fact]
    public void Peft_config_json_round_trips_with_unknown_keys_kept()
    {
        const string peftJson = """
            {
              "alpha_pattern": {},
              "auto_mapping": null,
              "base_model_name_or_path": "EleutherAI/pythia-70m",
              "bias": "none",
              "fan_in_fan_out": false,
              "inference_mode": true,
              "init_lora_weights": true,
              "layers_pattern": null,
              "layers_to_transform": null,
              "loftq_config": {},
              "lora_alpha": 64,
              "lora_dropout": 0.075,
              "megatron_config": null,
              "megatron_core": "megatron.core",
              "modules_to_save": null,
              "peft_type": "LORA",
              "r": 16,
              "rank_pattern": {},
              "revision": null,
              "target_modules": [
                "query_key_value"
              ],
              "task_type": "CAUSAL_LM",
              "use_dora": false,
              "use_rslora": false
            }
            """;
        var config = LoraAdapterConfig.FromJson(peftJson, "adapter_config.json");
        Assert.Equal(16, config.R);
        Assert.Equal(64, config.LoraAlpha);
        Assert.Equal(4.0, config.Scaling);
        Assert.Equal(0.075, config.LoraDropout);
        Assert.Equal(["query_key_value"], config.TargetModules!);
        Assert.Equal("megatron.core", config.Extra["megatron_core"].GetString());
        Assert.Empty(config.Validate());
        Assert.Equal(Normalize(peftJson), Normalize(config.ToJson()));
    }

    [Fact]
    public void Peft_files_saved_in_bf16_and_with_in_memory_names_load_as_float32()
    {
        var folder = Directory.CreateTempSubdirectory("peft-bf16-");
        try
        {
            File.WriteAllText(Path.Combine(folder.FullName, "adapter_config.json"), AdapterSamples.Config(r: 1).ToJson());
            SafetensorsWriter.Write(Path.Combine(folder.FullName, "adapter_model.safetensors"),
            [
                SafetensorsTensor.FromFloat32AsBFloat16("base_model.model.gpt_neox.layers.0.attention.query_key_value.lora_A.default.weight", [1, 2], [0.5f, -1f]),
                SafetensorsTensor.FromFloat32AsFloat16("base_model.model.gpt_neox.layers.0.attention.query_key_value.lora_B.weight", [3, 1], [1f, 2f, 0.25f]),
            ]);
            var adapter = PeftAdapterFolder.Load(folder.FullName);
            Assert.Equal(new[] { 0.5f, -1f }, adapter[PeftKeys.GptNeoXLoraA(0)].Data);
            Assert.Equal(new[] { 1f, 2f, 0.25f }, adapter[PeftKeys.GptNeoXLoraB(0)].Data);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Shapes_that_disagree_with_r_are_rejected()
    {
        var ex = Assert.Throws<AdapterFormatException>(() => new LoraAdapter(AdapterSamples.Config(r: 4),
        [
            new LoraTensor(PeftKeys.GptNeoXLoraA(0), [2, 3], new float[6]),
            new LoraTensor(PeftKeys.GptNeoXLoraB(0), [5, 2], new float[10]),
        ]));
        Assert.Contains("r = 4", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_without_its_B_is_rejected()
    {
        var ex = Assert.Throws<AdapterFormatException>(() => new LoraAdapter(AdapterSamples.Config(r: 2),
            [new LoraTensor(PeftKeys.GptNeoXLoraA(0), [2, 3], new float[6])]));
        Assert.Contains("lora_B", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_without_peft_type_or_with_wrong_types_is_rejected()
    {
        Assert.Contains("peft_type", Assert.Throws<AdapterFormatException>(() => LoraAdapterConfig.FromJson("{\"r\": 8}", "c.json")).Message, StringComparison.Ordinal);
        var ex = Assert.Throws<AdapterFormatException>(() => LoraAdapterConfig.FromJson("{\"peft_type\":\"LORA\",\"r\":\"eight\"}", "c.json"));
        Assert.Contains("'r' must be an integer", ex.Message, StringComparison.Ordinal);
        Assert.Contains("c.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Folder_missing_weights_says_which_file_is_missing()
    {
        var folder = Directory.CreateTempSubdirectory("peft-missing-");
        try
        {
            File.WriteAllText(Path.Combine(folder.FullName, "adapter_config.json"), AdapterSamples.Config().ToJson());
            var ex = Assert.Throws<AdapterFormatException>(() => PeftAdapterFolder.Load(folder.FullName));
            Assert.Contains("adapter_model.safetensors", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void Wire_file_without_config_metadata_is_rejected()
    {
        var bytes = SafetensorsWriter.ToBytes([SafetensorsTensor.FromFloat32("w", [1], [1f])]);
        var ex = Assert.Throws<AdapterFormatException>(() => AdapterWireFormat.Read(new MemoryStream(bytes)));
        Assert.Contains(AdapterWireFormat.ConfigMetadataKey, ex.Message, StringComparison.Ordinal);
    }

    internal static void AssertBitExact(LoraAdapter expected, LoraAdapter actual)
    {
        Assert.Equal(expected.Names.Order(StringComparer.Ordinal), actual.Names);
        foreach (var tensor in expected.Tensors)
        {
            var other = actual[tensor.Name];
            Assert.Equal(tensor.Shape, other.Shape);
            Assert.Equal(tensor.Data.Select(BitConverter.SingleToInt32Bits), other.Data.Select(BitConverter.SingleToInt32Bits));
        }
    }

    private static string Normalize(string json) =>
        JsonSerializer.Serialize(JsonDocument.Parse(json).RootElement);
}
