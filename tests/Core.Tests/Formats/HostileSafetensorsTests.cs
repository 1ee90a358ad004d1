using System.Buffers.Binary;
using System.Text;
using FedTune.Core.Formats;

namespace FedTune.Core.Tests.Formats;

public sealed class HostileSafetensorsTests
{
    private static byte[] File(string header, int dataBytes, ulong? declaredLength = null)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        return bytes;
    }

    private static SafetensorsFormatException Rejects(byte[] bytes)
    {
        var ex = Assert.Throws<SafetensorsFormatException>(() => SafetensorsReader.Open(new MemoryStream(bytes), false, "evil.safetensors"));
        Assert.Contains("evil.safetensors", ex.Message, StringComparison.Ordinal);
        return ex;
    }

    [Fact]
    public void Header_length_over_the_limit_is_rejected_without_allocating_it()
    {
        var ex = Rejects(File("{}", 0, declaredLength: ulong.MaxValue));
        Assert.Contains("limit", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Header_length_beyond_the_file_is_rejected()
    {
        var ex = Rejects(File("{}", 0, declaredLength: 50_000_000));
        Assert.Contains("only", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void File_shorter_than_the_length_prefix_is_rejected() => Rejects([1, 2, 3]);

    [Fact]
    public void Header_that_is_not_json_is_rejected() => Rejects(File("{not json", 0));

    [Fact]
    public void Offsets_outside_the_buffer_are_rejected()
    {
        var ex = Rejects(File("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8));
        Assert.Contains("'w'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("outside", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Overlapping_tensors_are_rejected()
    {
        var ex = Rejects(File(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12));
        Assert.Contains("overlap", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bytes_not_covered_by_any_tensor_are_rejected()
    {
        var ex = Rejects(File("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8));
        Assert.Contains("unassigned", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dtype_times_shape_not_matching_the_byte_count_is_rejected()
    {
        var ex = Rejects(File("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8));
        Assert.Contains("needs 12 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_keys_are_rejected()
    {
        var ex = Rejects(File(
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8));
        Assert.Contains("twice", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Negative_dimensions_are_rejected()
    {
        var ex = Rejects(File("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1,-4],\"data_offsets\":[0,16]}}", 16));
        Assert.Contains("negative", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shapes_whose_size_overflows_are_rejected()
    {
        var ex = Rejects(File("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", 0));
        Assert.Contains("overflow", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_dtype_is_rejected()
    {
        var ex = Rejects(File("{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1));
        Assert.Contains("F8_E4M3", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Non_string_metadata_is_rejected()
    {
        var ex = Rejects(File("{\"__metadata__\":{\"x\":1}}", 0));
        Assert.Contains("__metadata__", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_data_is_reported_when_the_stream_shrinks()
    {
        var bytes = SafetensorsWriter.ToBytes([SafetensorsTensor.FromFloat32("w", [2], [1f, 2f])]);
        using var stream = new MemoryStream();
        stream.Write(bytes);
        using var reader = SafetensorsReader.Open(stream, leaveOpen: true);
        stream.SetLength(bytes.Length - 2);
        var ex = Assert.Throws<SafetensorsFormatException>(() => reader.ReadFloat32("w"));
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }
}
