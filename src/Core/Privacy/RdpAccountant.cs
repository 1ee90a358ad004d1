
using System.Text.Json;

namespace FedTune.Core.Privacy;

/// <summary>
/// Rényi-DP accountant for the sampled Gaussian mechanism (Mironov, Talwar, Zhang 2019), ported from
/// TF-Privacy's <c>rdp_accountant.compute_rdp</c>/<c>get_privacy_spent</c> (same as Opacus). Each DP-FedAvg
/// round is one step with sampling rate q = sampled clients / total clients and noise multiplier z.
/// RDP adds up across rounds; (ε, δ) is the best conversion over <see cref="Orders"/>.
/// </summary>
public sealed class RdpAccountant
{
    /// <summary>Opacus/TF-Privacy default orders: 1.1 … 10.9 in steps of 0.1, 12 … 63, plus 128 and 256.</summary>
    public static readonly IReadOnlyList<double> DefaultOrders =
        Enumerable.Range(1, 99).Select(x => 1 + (x / 10.0)).Concat(Enumerable.Range(12, 52).Select(x => (double)x)).Concat([128.0, 256.0]).ToArray();

    private readonly double[] _rdp;

    public RdpAccountant(IReadOnlyList<double>? orders = null)
    {
        Orders = (orders ?? DefaultOrders).ToArray();
        if (Orders.Any(o => !(o > 1)))
        {
            throw new ArgumentException("Rényi orders must be greater than 1.", nameof(orders));
        }

        _rdp = new double[Orders.Count];
    }

    public IReadOnlyList<double> Orders { get; }

    /// <summary>Accumulated RDP at each order.</summary>
    public IReadOnlyList<double> Rdp => _rdp;

    /// <summary>Rounds (steps) accounted so far.</summary>
    public long Steps { get; private set; }

    /// <summary>Accounts <paramref name="steps"/> applications of the Gaussian mechanism with sampling rate q and noise multiplier z.</summary>
    public void AddSteps(double samplingRate, double noiseMultiplier, long steps = 1)
    {
        var rdp = ComputeRdp(samplingRate, noiseMultiplier, steps, Orders);
        for (var i = 0; i < _rdp.Length; i++)
        {
            _rdp[i] += rdp[i];
        }

        Steps += steps;
    }

    /// <summary>(ε, best order) for target δ with the tight conversion (Balle et al. 2020, Prop. 12; current TF-Privacy/Opacus).</summary>
    public (double Epsilon, double Order) GetEpsilon(double delta) => ComputeEpsilon(Orders, _rdp, delta);

    /// <summary>RDP of <paramref name="steps"/> compositions of the sampled Gaussian mechanism at each order (TF-Privacy compute_rdp).</summary>
    public static double[] ComputeRdp(double q, double noiseMultiplier, long steps, IReadOnlyList<double> orders)
    {
        ArgumentNullException.ThrowIfNull(orders);
        if (q is < 0 or > 1 || double.IsNaN(q))
        {
            throw new ArgumentOutOfRangeException(nameof(q), q, "The sampling rate must be in [0, 1].");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(noiseMultiplier);
        return orders.Select(alpha => RdpOfOrder(q, noiseMultiplier, alpha) * steps).ToArray();
    }

    /// <summary>
    /// ε = min over orders of r + log1p(−1/α) − log(δ·α)/(α−1) (0 when δ² + expm1(−r) ≥ 0), as
    /// TF-Privacy's <c>_compute_eps</c> since 2020.
    /// </summary>
    public static (double Epsilon, double Order) ComputeEpsilon(IReadOnlyList<double> orders, IReadOnlyList<double> rdp, double delta)
    {
        ArgumentNullException.ThrowIfNull(orders);
        ArgumentNullException.ThrowIfNull(rdp);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(delta);
        var best = (Epsilon: double.PositiveInfinity, Order: double.NaN);
        for (var i = 0; i < orders.Count; i++)
        {
            var (a, r) = (orders[i], rdp[i]);
            double eps;
            if ((delta * delta) + double.ExpM1(-r) >= 0)
            {
                eps = 0;
            }
            else if (a > 1.01)
            {
                eps = r + double.LogP1(-1 / a) - (Math.Log(delta * a) / (a - 1));
            }
            else
            {
                eps = double.PositiveInfinity;
            }

            if (eps < best.Epsilon)
            {
                best = (eps, a);
            }
        }

        return (Math.Max(0, best.Epsilon), best.Order);
    }

    /// <summary>The classic conversion ε = min r − log(δ)/(α−1) (Mironov 2017, Prop. 3; TF-Privacy before 2020).</summary>
    public static (double Epsilon, double Order) ComputeEpsilonClassic(IReadOnlyList<double> orders, IReadOnlyList<double> rdp, double delta)
    {
        ArgumentNullException.ThrowIfNull(orders);
        ArgumentNullException.ThrowIfNull(rdp);
        var best = (Epsilon: double.PositiveInfinity, Order: double.NaN);
        for (var i = 0; i < orders.Count; i++)
        {
            var eps = rdp[i] - (Math.Log(delta) / (orders[i] - 1));
            if (eps < best.Epsilon)
            {
                best = (eps, orders[i]);
            }
        }

        return best;
    }

    public string ToJson() => JsonSerializer.Serialize(new LedgerDto(Orders.ToArray(), _rdp, Steps));

    public static RdpAccountant FromJson(string json)
    {
        var dto = JsonSerializer.Deserialize<LedgerDto>(json) ?? throw new JsonException("Empty privacy ledger.");
        if (dto.Orders.Length != dto.Rdp.Length)
        {
            throw new JsonException("Privacy ledger has different numbers of orders and RDP values.");
        }

        var accountant = new RdpAccountant(dto.Orders) { Steps = dto.Steps };
        dto.Rdp.CopyTo(accountant._rdp, 0);
        return accountant;
    }

    public RdpAccountant Clone() => FromJson(ToJson());

    private static double RdpOfOrder(double q, double sigma, double alpha)
    {
        if (q == 0)
        {
            return 0;
        }

        if (sigma == 0)
        {
            return double.PositiveInfinity;
        }

        if (q == 1)
        {
            return alpha / (2 * sigma * sigma);
        }

        if (double.IsPositiveInfinity(alpha))
        {
            return double.PositiveInfinity;
        }

        var logA = alpha == Math.Floor(alpha) ? LogAInteger(q, sigma, (int)alpha) : LogAFractional(q, sigma, alpha);
        return logA / (alpha - 1);
    }

    private static double LogAInteger(double q, double sigma, int alpha)
    {
        var logA = double.NegativeInfinity;
        var logBinomial = 0.0;
        for (var i = 0; i <= alpha; i++)
        {
            if (i > 0)
            {
                logBinomial += Math.Log((double)(alpha - i + 1) / i);
            }

            var s = logBinomial + (i * Math.Log(q)) + ((alpha - i) * Math.Log(1 - q)) + (((double)i * i - i) / (2 * sigma * sigma));
            logA = LogAdd(logA, s);
        }

        return logA;
    }

    private static double LogAFractional(double q, double sigma, double alpha)
    {
        double logA0 = double.NegativeInfinity, logA1 = double.NegativeInfinity;
        var z0 = (sigma * sigma * Math.Log((1 / q) - 1)) + 0.5;
        var coefficient = 1.0; // binom(alpha, i), updated incrementally
        for (var i = 0; ; i++)
        {
            if (i > 0)
            {
                coefficient *= (alpha - i + 1) / i;
            }

            var logCoefficient = Math.Log(Math.Abs(coefficient));
            var j = alpha - i;
            var logT0 = logCoefficient + (i * Math.Log(q)) + (j * Math.Log(1 - q));
            var logT1 = logCoefficient + (j * Math.Log(q)) + (i * Math.Log(1 - q));
            var logE0 = Math.Log(0.5) + SpecialFunctions.LogErfc((i - z0) / (Math.Sqrt(2) * sigma));
            var logE1 = Math.Log(0.5) + SpecialFunctions.LogErfc((z0 - j) / (Math.Sqrt(2) * sigma));
            var logS0 = logT0 + (((double)i * i - i) / (2 * sigma * sigma)) + logE0;
            var logS1 = logT1 + (((j * j) - j) / (2 * sigma * sigma)) + logE1;
            if (coefficient > 0)
            {
                logA0 = LogAdd(logA0, logS0);
                logA1 = LogAdd(logA1, logS1);
            }
            else
            {
                logA0 = LogSub(logA0, logS0);
                logA1 = LogSub(logA1, logS1);
            }

            if (Math.Max(logS0, logS1) < -30 || i > 100_000)
            {
                break;
            }
        }

        return LogAdd(logA0, logA1);
    }

    private static double LogAdd(double x, double y)
    {
        var (a, b) = (Math.Min(x, y), Math.Max(x, y));
        return double.IsNegativeInfinity(a) ? b : double.LogP1(Math.Exp(a - b)) + b;
    }

    private static double LogSub(double x, double y)
    {
        if (x < y)
        {
            throw new ArithmeticException("The RDP series became negative (log of a negative number).");
        }

        if (double.IsNegativeInfinity(y))
        {
            return x;
        }

        if (x == y)
        {
            return double.NegativeInfinity;
        }

        var difference = double.ExpM1(x - y);
        return double.IsPositiveInfinity(difference) ? x : Math.Log(difference) + y;
    }

    private sealed record LedgerDto(double[] Orders, double[] Rdp, long Steps);

}
