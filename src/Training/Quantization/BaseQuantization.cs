namespace FedTune.Training.Quantization;

/// <summary>How the frozen base model's linear weights are stored in memory (the seed's <c>quantization</c> key).</summary>
public enum BaseQuantization
{
    /// <summary>Full precision (quantization absent or null): the weights keep the loaded dtype.</summary>
    None = 0,

    /// <summary><c>quantization: 8</c>: int8 codes with one absmax scale per output row.</summary>
    Int8 = 8,

    /// <summary><c>quantization: 4</c>: NF4 codes (bitsandbytes' 16 normal-float values), absmax per block of 64.</summary>
    Nf4 = 4,
}

/// <summary>Maps the configuration's integer to <see cref="BaseQuantization"/>.</summary>
public static class BaseQuantizationParser
{
    /// <summary>null → None, 4 → NF4, 8 → Int8; anything else is an error naming the allowed values.</summary>
    public static BaseQuantization FromBits(int? bits) => bits switch
    {
        null => BaseQuantization.None,
        4 => BaseQuantization.Nf4,
        8 => BaseQuantization.Int8,
        _ => throw new ArgumentOutOfRangeException(
            nameof(bits), bits, "quantization must be 4 (NF4), 8 (int8) or absent/null (full precision)."),
    };
}
