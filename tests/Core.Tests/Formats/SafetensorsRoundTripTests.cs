using System.Buffers.Binary;
using System.Text;
using FedTune.Core.Formats;

namespace FedTune.Core.Tests.Formats;

public sealed class SafetensorsRoundTripTests
{
    [Fact]
    public void Writer_then_reader_returns_identical_bytes_shapes_and_metadata()
    {
        var a = SafetensorsTensor.FromFloat32("b.weight", [2, 3], [1, -2, 3.5f, float.Epsilon, -0f, 1e30f]);
        var b = SafetensorsTensor.FromFloat32AsFloat16("a.weight", [2], [0.5f, -1.25f]);
        var c = new SafetensorsTensor("c.ids", SafetensorsDType.I64, [1], BitConverter.GetBytes(42L));
        var bytes = SafetensorsWriter.ToBytes([a, b, c], new Dictionary<string, string> { ["format"] = "pt", ["note"] = "x\"y" });

        using var reader = SafetensorsReader.Open(new MemoryStream(bytes));
        // Like the Python library: larger element types first, then by name.
        Assert.Equal(["c.ids", "b.weight", "a.weight"], reader.Tensors.Select(t => t.Name));
        Assert.Equal(a.Data.ToArray(), reader.ReadBytes("b.weight"));
        Assert.Equal(new long[] { 2, 3 }, reader["b.weight"].Shape);
        Assert.Equal(new[] { 0.5f, -1.25f }, reader.ReadFloat32("a.weight"));
        Assert.Equal(SafetensorsDType.F16, reader["a.weight"].DType);
        Assert.Equal("x\"y", reader.Metadata["note"]);
        Assert.Equal(0, (8 + reader.HeaderLength) % 8);
    }

    [Fact]
    public void Writer_is_deterministic_whatever_the_input_order()
    {
        var x = SafetensorsTensor.FromFloat32("x", [1], [1f]);
        var y = SafetensorsTensor.FromFloat32("y", [1], [2f]);
        Assert.Equal(SafetensorsWriter.ToBytes([x, y]), SafetensorsWriter.ToBytes([y, x]));
    }

    [Fact]
    public void Header_is_padded_with_spaces_to_a_multiple_of_eight()
    {
        var bytes = SafetensorsWriter.ToBytes([SafetensorsTensor.FromFloat32("w", [1], [1f])]);
        var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, length % 8);
        var header = Encoding.UTF8.GetString(bytes, 8, length);
        Assert.StartsWith("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", header, StringComparison.Ordinal);
        Assert.Equal(new string(' ', length - header.TrimEnd(' ').Length), header[header.TrimEnd(' ').Length..]);
        Assert.EndsWith("}", header.TrimEnd(' '), StringComparison.Ordinal);
    }

    [Fact]
    public void Bfloat16_conversion_rounds_to_nearest_even_and_reads_back()
    {
        // 1 + 2^-8 lies exactly between two bf16 values (1 and 1 + 2^-7): ties go to the even one, 1.
        float[] values = [1f + (1f / 256), 3.140625f, -2f, float.PositiveInfinity];
        var bytes = SafetensorsWriter.ToBytes([SafetensorsTensor.FromFloat32AsBFloat16("t", [4], values)]);
        using var reader = SafetensorsReader.Open(new MemoryStream(bytes));
        Assert.Equal(new[] { 1f, 3.140625f, -2f, float.PositiveInfinity }, reader.ReadFloat32("t"));
    }

    [Fact]
    public void ReadFloat32_reads_a_range_of_a_tensor()
    {
        var data = Enumerable.Range(0, 1000).Select(i => (float)i).ToArray();
        var bytes = SafetensorsWriter.ToBytes([SafetensorsTensor.FromFloat32AsFloat16("t", [1000], data)]);
        using var reader = SafetensorsReader.Open(new MemoryStream(bytes));
        var part = new float[10];
        reader.ReadFloat32("t", 500, part);
        Assert.Equal(data.Skip(500).Take(10), part);
    }

    [Fact]
    public void File_write_is_atomic_and_leaves_no_temporary_file()
    {
        var folder = Directory.CreateTempSubdirectory("st-");
        try
        {
            var path = Path.Combine(folder.FullName, "m.safetensors");
            SafetensorsWriter.Write(path, [SafetensorsTensor.FromFloat32("w", [2], [1f, 2f])]);
            SafetensorsWriter.Write(path, [SafetensorsTensor.FromFloat32("w", [2], [3f, 4f])]);
            using var reader = SafetensorsReader.Open(path);
            Assert.Equal(new[] { 3f, 4f }, reader.ReadFloat32("w"));
            Assert.Single(Directory.GetFiles(folder.FullName));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
