namespace FedTune.Core.Data;

/// <summary>
/// Which JSON property or CSV column holds each Alpaca field. Defaults are the Alpaca names
/// (<c>instruction</c>, <c>input</c>, <c>output</c>). Matching is case-sensitive for JSON and case-insensitive for CSV headers.
/// </summary>
public sealed record AlpacaColumnNames(string Instruction = "instruction", string Input = "input", string Output = "output")
{
    /// <summary>The Alpaca names.</summary>
    public static AlpacaColumnNames Default { get; } = new();

    /// <summary>Throws when a name is blank or two fields share one column.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Instruction) || string.IsNullOrWhiteSpace(Input) || string.IsNullOrWhiteSpace(Output))
        {
            throw new ArgumentException("Alpaca column names must not be empty: set instruction, input and output column names.");
        }

        if (Instruction == Input || Instruction == Output || Input == Output)
        {
            throw new ArgumentException(
                $"Alpaca column names must differ (instruction='{Instruction}', input='{Input}', output='{Output}').");
        }
    }
}
