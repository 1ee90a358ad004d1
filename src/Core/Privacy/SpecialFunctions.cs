namespace FedTune.Core.Privacy;

/// <summary>log(erfc(x)) accurate in both tails (the RDP accountant needs it far into the tail).</summary>
internal static class SpecialFunctions
{
    private static readonly double LogSqrtPi = 0.5 * Math.Log(Math.PI);

    public static double LogErfc(double x)
    {
        if (x > 2)
        {
            // erfc(x) = exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))): a continued fraction that
            // converges fast for x > 2 and stays in log space, so it never underflows.
            var t = x;
            for (var n = x < 3 ? 60 : 30; n >= 1; n--)
            {
                t = x + (n / 2.0 / t);
            }

            return (-x * x) - LogSqrtPi - Math.Log(t);
        }

        if (x < -2)
        {
            return Math.Log(2 - Math.Exp(LogErfc(-x)));
        }

        return Math.Log(1 - Erf(x));
    }

    /// <summary>erf by its Maclaurin series; used for |x| ≤ 2 where it keeps about 14 significant digits.</summary>
    public static double Erf(double x)
    {
        double sum = 0, term = x;
        for (var n = 0; n < 200; n++)
        {
            var add = term / ((2 * n) + 1);
            sum += add;
            if (Math.Abs(add) < 1e-17 * Math.Abs(sum))
            {
                break;
            }

            term *= -x * x / (n + 1);
        }

        return 2 / Math.Sqrt(Math.PI) * sum;
    }
}
