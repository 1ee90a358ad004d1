namespace FedTune.Core.Tests.Configuration;

/// <summary>The seed configuration from issue 3, verbatim, and its variants.</summary>
internal static class SeedConfig
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

    /// <summary>The other copy: lora: and training_arguments: at the top level.</summary>
    public const string TopLevel = """
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
}
