namespace FedTune.Training.Data;

/// <summary>Where padding goes when sequences of a batch differ in length.</summary>
public enum PaddingSide
{
    /// <summary>Pad before the tokens (the default here, as for decoder-only generation).</summary>
    Left,

    /// <summary>Pad after the tokens.</summary>
    Right,
}
