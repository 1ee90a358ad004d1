namespace FedTune.Training.Privacy;

/// <summary>One hospital's own record files: what it trained on and what it held out (same distribution).</summary>
public sealed record HospitalRecordFiles(string Id, string TrainFile, string HeldOutFile);
