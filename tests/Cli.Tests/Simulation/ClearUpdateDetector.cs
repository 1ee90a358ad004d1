using System.Globalization;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using FedTune.Core.Adapters;
using FedTune.Core.Formats;
using FedTune.Core.SecureAggregation;

namespace FedTune.Cli.Tests.Simulation;

/// <summary>
/// Whether a stored byte sequence is, contains or decodes to a hospital's clear update. Each stored item is read as
/// itself, gunzipped (the Durable Task provider compresses large payloads), and through every long base64 run in its text
/// (JSON payloads carry bytes as base64); each reading is then looked at in every way the update could be in it:
/// byte windows of its fp32 values and of its fixed-point encoding, an adapter wire file (fp32, fp16 or int8) that decodes
/// to it, a masked-upload file whose ring elements are its encoding without masks, and a run of JSON numbers that are its values.
/// </summary>
internal static partial class ClearUpdateDetector
{
    /// <summary>How close a decoded adapter must be to count as the update: fixed point (2^-24) and fp32 rounding are far below it.</summary>
    public const double DecodeTolerance = 1e-5;

    private const int WindowBytes = 32;
    private const int WindowsPerEncoding = 16;

    /// <summary>The ways <paramref name="bytes"/> can be read: as they are, gunzipped, and every base64 run in them decoded (and gunzipped).</summary>
    public static IEnumerable<byte[]> Readings(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        yield return bytes;
        if (Gunzip(bytes) is { } inflated) yield return inflated;
        var text = Encoding.UTF8.GetString(bytes).Replace("\\u002B", "+", StringComparison.Ordinal).Replace("\\/", "/", StringComparison.Ordinal);
        foreach (Match run in Base64Run().Matches(text))
        {
            var value = run.Value.EndsWith('=') ? run.Value : run.Value[..(run.Length / 4 * 4)];
            var buffer = new byte[value.Length];
            if (!Convert.TryFromBase64String(value, buffer, out var written)) continue;
            var decoded = buffer.AsSpan(0, written).ToArray();
            yield return decoded;
            if (Gunzip(decoded) is { } inner) yield return inner;
        }
    }

    /// <summary>How <paramref name="reading"/> holds <paramref name="update"/>, or null when it does not.</summary>
    public static string? Find(byte[] reading, ClearUpdate update)
    {
        ArgumentNullException.ThrowIfNull(reading);
        ArgumentNullException.ThrowIfNull(update);
        if (FirstWindow(reading, MemoryMarshal.AsBytes(update.Values.AsSpan()).ToArray(), 4) is { } fp32) return $"contains its fp32 values (bytes {fp32})";
        if (FirstWindow(reading, MemoryMarshal.AsBytes(update.FixedPoint.AsSpan(0, update.Values.Length)).ToArray(), 8) is { } ring)
        {
            return $"contains its unmasked fixed-point encoding (bytes {ring})";
        }

        if (DecodedAdapterDistance(reading, update) is { } distance && distance <= DecodeTolerance)
        {
            return $"decodes as an adapter to it (largest difference {distance:G3})";
        }

        if (UnmaskedShare(reading, update) is { } share && share > 0.01)
        {
            return $"is a masked-upload file whose ring elements are its encoding without masks ({share:P1} of them within 2^16 of it)";
        }

        return JsonNumbersMatch(reading, update);
    }

    /// <summary>The largest difference between <paramref name="reading"/> read as an adapter wire file and the update, or null when it is not one of its shape.</summary>
    public static double? DecodedAdapterDistance(byte[] reading, ClearUpdate update)
    {
        ArgumentNullException.ThrowIfNull(reading);
        ArgumentNullException.ThrowIfNull(update);
        if (!LooksLikeSafetensors(reading)) return null;
        float[] values;
        try
        {
            values = MaskedUpdateWire.Flatten(AdapterWireFormat.Read(new MemoryStream(reading), "stored item"));
        }
        catch (Exception e) when (e is AdapterFormatException or SafetensorsFormatException or InvalidDataException or ArgumentException or IOException or FormatException or OverflowException)
        {
            return null;
        }

        if (values.Length != update.Values.Length) return null;
        double worst = 0;
        for (var i = 0; i < values.Length; i++) worst = Math.Max(worst, Math.Abs((double)values[i] - update.Values[i]));
        return worst;
    }

    /// <summary>The masked ring elements of a masked-upload file, or null when <paramref name="reading"/> is not one.</summary>
    public static ulong[]? MaskedValues(byte[] reading)
    {
        ArgumentNullException.ThrowIfNull(reading);
        if (!LooksLikeSafetensors(reading)) return null;
        try
        {
            return MaskedUpdateWire.Read(new MemoryStream(reading), "stored item").Masked;
        }
        catch (Exception e) when (e is AdapterFormatException or SafetensorsFormatException or InvalidDataException or ArgumentException or IOException or FormatException or OverflowException)
        {
            return null;
        }
    }

    /// <summary>
    /// The share of a masked upload's ring elements that lie within 2^40 (2^16 in value) of the update's fixed-point
    /// encoding: about 2^-23 for masked elements, 1 for an unmasked encoding of the same update.
    /// </summary>
    private static double? UnmaskedShare(byte[] reading, ClearUpdate update)
    {
        if (MaskedValues(reading) is not { } masked || masked.Length != update.FixedPoint.Length) return null;
        var near = 0;
        for (var i = 0; i < masked.Length; i++)
        {
            if (Math.Abs(unchecked((long)(masked[i] - update.FixedPoint[i]))) < 1L << 40) near++;
        }

        return near / (double)masked.Length;
    }

    /// <summary>Where the first of up to 16 distinctive 32-byte windows of <paramref name="encoding"/> occurs in <paramref name="reading"/>.</summary>
    private static string? FirstWindow(byte[] reading, byte[] encoding, int elementBytes)
    {
        var stride = Math.Max(WindowBytes, encoding.Length / WindowsPerEncoding / elementBytes * elementBytes);
        for (var offset = 0; offset + WindowBytes <= encoding.Length; offset += stride)
        {
            var window = encoding.AsSpan(offset, WindowBytes);
            if (!Distinctive(window, elementBytes)) continue;
            var at = reading.AsSpan().IndexOf(window);
            if (at >= 0) return string.Create(CultureInfo.InvariantCulture, $"{offset}..{offset + WindowBytes} at offset {at}");
        }

        return null;
    }

    /// <summary>A window whose elements are all different and non-zero (a run of zeros would match any empty buffer).</summary>
    private static bool Distinctive(ReadOnlySpan<byte> window, int elementBytes)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < window.Length; i += elementBytes)
        {
            var element = window.Slice(i, elementBytes);
            if (!element.ContainsAnyExcept((byte)0) || !seen.Add(Convert.ToHexString(element))) return false;
        }

        return true;
    }

    /// <summary>Eight consecutive JSON numbers that are eight consecutive values of the update (as float32).</summary>
    private static string? JsonNumbersMatch(byte[] reading, ClearUpdate update)
    {
        var text = Encoding.UTF8.GetString(reading);
        foreach (Match run in NumberRun().Matches(text))
        {
            var numbers = run.Value.Split(',').Select(n => float.Parse(n.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture)).ToArray();
            for (var start = 0; start + 8 <= numbers.Length; start++)
            {
                var first = Array.IndexOf(update.Values, numbers[start]);
                if (first < 0 || numbers[start] == 0 || first + 8 > update.Values.Length) continue;
                if (numbers.AsSpan(start, 8).SequenceEqual(update.Values.AsSpan(first, 8))) return $"holds its values {first}..{first + 8} as JSON numbers";
            }
        }

        return null;
    }

    private static bool LooksLikeSafetensors(byte[] bytes) =>
        bytes.Length > 10 && BitConverter.ToUInt64(bytes, 0) is > 1 and < 100_000_000 && bytes[8] == (byte)'{';

    private static byte[]? Gunzip(byte[] bytes)
    {
        if (bytes.Length < 18 || bytes[0] != 0x1f || bytes[1] != 0x8b) return null;
        try
        {
            using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            using var output = new MemoryStream();
            gzip.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    [GeneratedRegex("[A-Za-z0-9+/]{64,}={0,2}", RegexOptions.CultureInvariant)]
    private static partial Regex Base64Run();

    [GeneratedRegex(@"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?:\s*,\s*-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?){7,}", RegexOptions.CultureInvariant)]
    private static partial Regex NumberRun();
}
