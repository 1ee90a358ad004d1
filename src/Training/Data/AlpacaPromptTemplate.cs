using FedTune.Core.Data;

namespace FedTune.Training.Data;

/// <summary>
/// Turns an Alpaca record into the prompt the model sees before its response. <c>{instruction}</c> and <c>{input}</c>
/// are replaced; <see cref="WithInput"/> is used when the record has an input, <see cref="WithoutInput"/> otherwise.
/// The defaults are the Stanford Alpaca templates, the ones FlowerTune's LLM examples use.
/// </summary>
public sealed record AlpacaPromptTemplate(string WithInput, string WithoutInput)
{
    public const string AlpacaWithInput =
        "Below is an instruction that describes a task, paired with an input that provides further context. " +
        "Write a response that appropriately completes the request.\n\n" +
        "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n";

    public const string AlpacaWithoutInput =
        "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n" +
        "### Instruction:\n{instruction}\n\n### Response:\n";

    /// <summary>The standard Alpaca templates.</summary>
    public static AlpacaPromptTemplate Alpaca { get; } = new(AlpacaWithInput, AlpacaWithoutInput);

    /// <summary>The prompt for <paramref name="record"/>, ending where the response starts.</summary>
    public string FormatPrompt(AlpacaRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var template = string.IsNullOrWhiteSpace(record.Input) ? WithoutInput : WithInput;
        return template
            .Replace("{instruction}", record.Instruction, StringComparison.Ordinal)
            .Replace("{input}", record.Input, StringComparison.Ordinal);
    }

    /// <summary>Throws when a template lacks its placeholders.</summary>
    public void Validate()
    {
        if (!WithInput.Contains("{instruction}", StringComparison.Ordinal) || !WithInput.Contains("{input}", StringComparison.Ordinal))
        {
            throw new ArgumentException("The with-input prompt template must contain both {instruction} and {input}.");
        }

        if (!WithoutInput.Contains("{instruction}", StringComparison.Ordinal))
        {
            throw new ArgumentException("The without-input prompt template must contain {instruction}.");
        }
    }
}
