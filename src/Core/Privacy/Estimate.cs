namespace FedTune.Core.Privacy;

/// <summary>A point estimate with its bootstrap confidence interval [<see cref="Lower"/>, <see cref="Upper"/>].</summary>
public readonly record struct Estimate(double Value, double Lower, double Upper)
{
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Value:0.000} [{Lower:0.000}, {Upper:0.000}]");
}
