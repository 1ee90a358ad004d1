using System.Security.Cryptography;

namespace FedTune.Core.Aggregation;

/// <summary>Standard normal samples for DP noise.</summary>
public abstract class GaussianNoise
{
    /// <summary>
    /// Noise from the OS cryptographic generator: use this in production, since DP's guarantee assumes the
    /// server cannot be made to predict its noise.
    /// </summary>
    public static GaussianNoise Secure() => new SecureGaussianNoise();

    /// <summary>Reproducible noise for tests and simulations (not private against someone who knows the seed).</summary>
    public static GaussianNoise Seeded(int seed) => new SeededGaussianNoise(seed);

    /// <summary>Adds N(0, std²) to every element of <paramref name="values"/>.</summary>
    public void AddTo(Span<float> values, double std)
    {
        for (var i = 0; i < values.Length; i += 2)
        {
            var (a, b) = NextPair();
            values[i] += (float)(a * std);
            if (i + 1 < values.Length)
            {
                values[i + 1] += (float)(b * std);
            }
        }
    }

    /// <summary>A uniform double in (0, 1).</summary>
    protected abstract double NextUniform();

    /// <summary>Two independent standard normals (Marsaglia's polar method).</summary>
    private (double, double) NextPair()
    {
        while (true)
        {
            var u = (2 * NextUniform()) - 1;
            var v = (2 * NextUniform()) - 1;
            var s = (u * u) + (v * v);
            if (s > 0 && s < 1)
            {
                var factor = Math.Sqrt(-2 * Math.Log(s) / s);
                return (u * factor, v * factor);
            }
        }
    }

    private sealed class SeededGaussianNoise(int seed) : GaussianNoise
    {
        private readonly Random _random = new(seed);

        protected override double NextUniform()
        {
            double value;
            do
            {
                value = _random.NextDouble();
            }
            while (value == 0);
            return value;
        }
    }

    private sealed class SecureGaussianNoise : GaussianNoise
    {
        private readonly byte[] _buffer = new byte[8 * 512];
        private int _position = 8 * 512;

        protected override double NextUniform()
        {
            if (_position == _buffer.Length)
            {
                RandomNumberGenerator.Fill(_buffer);
                _position = 0;
            }

            var bits = BitConverter.ToUInt64(_buffer, _position) >> 11; // 53 random bits
            _position += 8;
            return (bits + 0.5) / (1UL << 53);
        }
    }
}
