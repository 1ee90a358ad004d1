namespace FedTune.TestSupport;

/// <summary>
/// The seed configuration from issue 3, verbatim (<see cref="Nested"/>), its other copy with <c>lora:</c> and
/// <c>training_arguments:</c> at the top level (<see cref="TopLevel"/>), and a federation section to append.
/// </summary>
public static class SeedConfigYaml
{
    public const string Nested = """
        dataset:
          name: medalpaca/medical_meadow_medical_flashcards
        model:
          name: EleutherAI/pythia-70m
          quantization: 4
          gradient_checkpointing: true
          use_fast_tokenizer: true
          lora:
            peft_lora_r: 16
            peft_lora_alpha: 64
            target_modules: null
        train:
          save_every_round: 5
          seq_length: 512
          padding_side: left
          training_arguments:
            learning_rate: 0.0005
            per_device_train_batch_size: 2
            gradient_accumulation_steps: 1
            logging_steps: 1
            max_steps: 5
            report_to: null
            save_steps: 200
            save_total_limit: 10
            gradient_checkpointing: true
            lr_scheduler_type: cosine
        """;

    /// <summary>
    /// The other copy: the same keys and values with <c>lora:</c> and <c>training_arguments:</c> at the top level
    /// (each is the last child of its section in <see cref="Nested"/>, so lifting it in place keeps every sibling's parent).
    /// </summary>
    public static readonly string TopLevel = LiftToTopLevel(LiftToTopLevel(Nested, "lora"), "training_arguments");

    public const string Federation = """

        federation:
          rounds: 20
          seed: 7
          fraction_fit: 0.5
          min_fit_clients: 2
          min_available_clients: 3
          round_deadline: 45m
          on_quorum_failure: fail
          max_retries: 0
          hospitals:
            - id: hospital-a
              data: /data/a/train.json
            - id: hospital-b
              data: [/data/b/1.json, /data/b/2.json]
              format: alpaca
            - id: hospital-c
              data: /data/c.json
          strategy:
            name: fedadam
            eta: 0.01
            beta_1: 0.8
          differential_privacy:
            clip_norm: 0.5
            noise_multiplier: 1.1
            delta: 1e-6
          validation:
            max_norm_ratio: 5
        """;

    /// <summary>
    /// Moves the two-space-indented section <paramref name="key"/> to the top level by taking two spaces off it and
    /// its children; it must be the last child of its parent, or the siblings after it would change parent.
    /// </summary>
    private static string LiftToTopLevel(string yaml, string key)
    {
        var lines = yaml.Split('\n');
        var start = Array.IndexOf(lines, $"  {key}:");
        if (start < 0)
        {
            throw new ArgumentException($"The seed YAML has no two-space-indented '{key}:' section to lift.", nameof(key));
        }

        var end = start + 1;
        while (end < lines.Length && lines[end].StartsWith("    ", StringComparison.Ordinal))
        {
            end++;
        }

        if (end < lines.Length && lines[end].StartsWith(' '))
        {
            throw new ArgumentException($"'{key}:' is not the last child of its section: lifting it would re-parent '{lines[end].Trim()}'.", nameof(key));
        }

        for (var i = start; i < end; i++)
        {
            lines[i] = lines[i][2..];
        }

        return string.Join('\n', lines);
    }
}
