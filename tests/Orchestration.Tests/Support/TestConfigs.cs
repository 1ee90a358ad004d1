using System.Globalization;
using FedTune.Orchestration.Plans;
using FedTune.Orchestration.TestHost;

namespace FedTune.Orchestration.Tests.Support;

/// <summary>Seed-shaped YAML configurations with a federation section, for tests.</summary>
internal static class TestConfigs
{
    /// <summary>The plan for a test configuration, on the tiny base model the fake agents' adapters belong to.</summary>
    public static FederationPlan Plan(string yaml, string sourceName, string runId, CheckpointSource? startFrom = null, MonitorSettings? monitor = null) =>
        FederationPlanBuilder.FromYaml(yaml, sourceName, runId, startFrom, monitor, TestAdapters.BaseModel);

    public static string Yaml(int rounds = 3, string hospitals = "a, b, c", int minFit = 3, int minAvailable = 3, double fractionFit = 1.0,
        string deadline = "20s", string onQuorumFailure = "fail", int maxRetries = 0, int saveEveryRound = 1, int saveTotalLimit = 2,
        int seed = 7, string strategy = "fedavg", string extraFederation = "") =>
        string.Create(CultureInfo.InvariantCulture, $"""
        dataset:
          name: medalpaca/medical_meadow_medical_flashcards
        model:
          name: EleutherAI/pythia-70m
          lora:
            peft_lora_r: 2
            peft_lora_alpha: 4
        train:
          save_every_round: {saveEveryRound}
          seq_length: 128
          learning_rate_max: 0.0005
          learning_rate_min: 0.000001
          training_arguments:
            learning_rate: 0.0005
            per_device_train_batch_size: 2
            gradient_accumulation_steps: 3
            max_steps: 5
            save_total_limit: {saveTotalLimit}
        federation:
          rounds: {rounds}
          seed: {seed}
          fraction_fit: {fractionFit}
          min_fit_clients: {minFit}
          min_available_clients: {minAvailable}
          round_deadline: {deadline}
          on_quorum_failure: {onQuorumFailure}
          max_retries: {maxRetries}
          hospitals:
        {string.Join("\n", hospitals.Split(',', StringSplitOptions.TrimEntries).Select(h => $"    - id: {h}\n      data: /data/{h}.json"))}
          strategy:
            name: {strategy}
        {extraFederation}
        """);
}
