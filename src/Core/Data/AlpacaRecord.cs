namespace FedTune.Core.Data;

/// <summary>
/// One instruction-tuning example in the Alpaca layout: the task, optional extra input (empty when absent) and the
/// expected response.
/// </summary>
public sealed record AlpacaRecord(string Instruction, string Input, string Output);
