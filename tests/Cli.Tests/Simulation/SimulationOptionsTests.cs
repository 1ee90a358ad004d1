using System.CommandLine;
using FedTune.Cli.Commands;
using FedTune.Cli.Reporting;
using FedTune.Cli.Simulation;
using FedTune.Core.Compression;
using FedTune.Core.Data;
using FedTune.TestSupport;
using Xunit;

namespace FedTune.Cli.Tests.Simulation;

public sealed class SimulationOptionsTests : IDisposable
{
    private readonly TempDirectory _temp = new("fedtune-options");

    public void Dispose() => _temp.Dispose();

    private static readonly Func<string, string?> NoEnvironment = _ => null;

    [Fact]
    public void Defaults_are_the_two_core_settings_and_validate()
    {
        var o = SimulationOptionsBinder.Bind(new SimulationOverrides(), NoEnvironment);
        Assert.Equal(SimulationDefaults.Hospitals, o.Hospitals);
        Assert.Equal(SimulationDefaults.Rounds, o.Rounds);
        Assert.Equal(SimulationDefaults.MaxSteps, o.MaxSteps);
        Assert.Equal(ResumeMode.Auto, o.Resume);
        Assert.Null(o.StorageConnectionString);
    }

    [Fact]
    public void By_default_hospitals_hold_specialties_and_the_baselines_and_the_audit_run()
    {
        var o = SimulationOptionsBinder.Bind(new SimulationOverrides(), NoEnvironment);
        Assert.Equal((HospitalPartitioning.BySpecialty, true, true), (o.Partitioning, o.Compare, o.Audit));
        Assert.Equal((SimulationDefaults.Canaries, SimulationDefaults.CanaryCandidates), (o.Canaries, o.CanaryCandidates));

        var quick = SimulationOptionsBinder.Bind(new SimulationOverrides { NoCompare = true, NoAudit = true, NonIid = true }, NoEnvironment);
        Assert.Equal((HospitalPartitioning.ByTopic, false, false, 0), (quick.Partitioning, quick.Compare, quick.Audit, quick.Canaries));
        Assert.Equal(HospitalPartitioning.Iid, SimulationOptionsBinder.Bind(new SimulationOverrides { Partitioning = HospitalPartitioning.Iid }, NoEnvironment).Partitioning);
        Assert.Throws<ArgumentException>(() => SimulationOptionsBinder.Bind(new SimulationOverrides { NonIid = true, Partitioning = HospitalPartitioning.Iid }, NoEnvironment));
        var data = _temp.WriteFile("partitioning-data.json", "[]");
        var model = _temp.WriteFile("partitioning-model.bin", "weights");
        Assert.NotEqual(RunFolder.Fingerprint(o, data, model), RunFolder.Fingerprint(o with { Partitioning = HospitalPartitioning.Iid }, data, model));
    }

    [Fact]
    public void The_yaml_sets_rounds_and_training_arguments_and_the_command_line_wins_over_it()
    {
        var yaml = _temp.File("c.yaml");
        File.WriteAllText(yaml, """
            dataset:
              name: medalpaca/medical_meadow_medical_flashcards
            model:
              name: EleutherAI/pythia-70m
            train:
              seq_length: 256
              training_arguments:
                learning_rate: 0.0005
                per_device_train_batch_size: 2
                max_steps: 5
            federation:
              rounds: 7
              min_fit_clients: 1
              min_available_clients: 1
            """);
        var fromYaml = SimulationOptionsBinder.Bind(new SimulationOverrides { ConfigPath = yaml }, NoEnvironment);
        Assert.Equal((7, 5, 256, 2, 0.0005), (fromYaml.Rounds, fromYaml.MaxSteps, fromYaml.SeqLength, fromYaml.BatchSize, fromYaml.LearningRate));

        var overridden = SimulationOptionsBinder.Bind(new SimulationOverrides { ConfigPath = yaml, Rounds = 2, MaxSteps = 3 }, NoEnvironment);
        Assert.Equal((2, 3, 256), (overridden.Rounds, overridden.MaxSteps, overridden.SeqLength));
    }

    [Fact]
    public void Storage_comes_from_FEDTUNE_STORAGE_when_not_given()
    {
        var o = SimulationOptionsBinder.Bind(new SimulationOverrides(), name => name == "FEDTUNE_STORAGE" ? "UseDevelopmentStorage=true" : null);
        Assert.Equal("UseDevelopmentStorage=true", o.StorageConnectionString);
    }

    [Theory]
    [InlineData(0, 1, 1, "--hospitals is 0")]
    [InlineData(2, 0, 1, "--rounds is 0")]
    [InlineData(2, 1, 0, "--max-steps is 0")]
    public void Invalid_values_name_the_option_and_the_allowed_range(int hospitals, int rounds, int steps, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() =>
            SimulationOptionsBinder.Bind(new SimulationOverrides { Hospitals = hospitals, Rounds = rounds, MaxSteps = steps }, NoEnvironment));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("must be", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Audit_and_canary_options_bind_validate_and_change_the_fingerprint()
    {
        var plain = SimulationOptionsBinder.Bind(new SimulationOverrides { NoAudit = true }, NoEnvironment);
        Assert.Equal((false, 0), (plain.Audit, plain.Canaries));
        var audited = SimulationOptionsBinder.Bind(new SimulationOverrides { Audit = true, Canaries = 3, CanaryCandidates = 200, AuditBootstrap = 50 }, NoEnvironment);
        Assert.Equal((true, 3, 200, 50), (audited.Audit, audited.Canaries, audited.CanaryCandidates, audited.AuditBootstrap));
        var data = _temp.WriteFile("d.json", "[]");
        var model = _temp.WriteFile("m.bin", "weights");
        Assert.NotEqual(RunFolder.Fingerprint(plain, data, model), RunFolder.Fingerprint(audited, data, model));
        Assert.Equal(RunFolder.Fingerprint(plain, data, model), RunFolder.Fingerprint(plain with { Audit = true }, data, model));
        var e = Assert.Throws<ArgumentException>(() => SimulationOptionsBinder.Bind(new SimulationOverrides { Canaries = -1 }, NoEnvironment));
        Assert.Contains("--canaries is -1", e.Message, StringComparison.Ordinal);
        Assert.Empty(SimulateCommand.Create().Parse(["--audit", "--canaries", "2", "--canary-candidates", "100", "--audit-bootstrap", "200"]).Errors);
    }

    [Fact]
    public void The_resume_fingerprint_follows_the_configs_content_the_data_and_the_base_model_not_the_config_path()
    {
        var config = _temp.WriteFile("run.yaml", SeedConfigYaml.Nested);
        var data = _temp.WriteFile("data.json", "[{\"instruction\": \"q\", \"input\": \"\", \"output\": \"a\"}]");
        var model = Directory.CreateDirectory(_temp.File("model")).FullName;
        File.WriteAllText(Path.Combine(model, "config.json"), "{}");
        File.WriteAllText(Path.Combine(model, "model.safetensors"), "weights");
        var options = SimulationOptionsBinder.Bind(new SimulationOverrides { ConfigPath = config }, NoEnvironment);
        var first = RunFolder.Fingerprint(options, data, model);

        var copy = _temp.WriteFile("copy.yaml", SeedConfigYaml.Nested);
        Assert.Equal(first, RunFolder.Fingerprint(options with { ConfigPath = copy }, data, model));

        File.WriteAllText(config, SeedConfigYaml.Nested.Replace("peft_lora_alpha: 64", "peft_lora_alpha: 32", StringComparison.Ordinal));
        var edited = RunFolder.Fingerprint(options, data, model);
        Assert.NotEqual(first, edited);

        File.AppendAllText(data, " ");
        var newData = RunFolder.Fingerprint(options, data, model);
        Assert.NotEqual(edited, newData);

        File.WriteAllText(Path.Combine(model, "model.safetensors"), "other weights");
        Assert.NotEqual(newData, RunFolder.Fingerprint(options, data, model));
    }

    [Fact]
    public void Resume_and_fresh_together_are_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => SimulationOptionsBinder.Bind(new SimulationOverrides { Resume = true, Fresh = true }, NoEnvironment));
        Assert.Contains("--resume and --fresh", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_data_file_or_config_is_an_error_with_the_fix()
    {
        var data = Assert.Throws<ArgumentException>(() => SimulationOptionsBinder.Bind(new SimulationOverrides { DataPath = _temp.File("nope.json") }, NoEnvironment));
        Assert.Contains("Alpaca JSON or JSONL", data.Message, StringComparison.Ordinal);
        var config = Assert.Throws<ArgumentException>(() => SimulationOptionsBinder.Bind(new SimulationOverrides { ConfigPath = _temp.File("nope.yaml") }, NoEnvironment));
        Assert.Contains("does not exist", config.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Wire_precision_comes_from_the_yaml_the_command_line_wins_and_it_changes_the_fingerprint()
    {
        var yaml = _temp.File("wire.yaml");
        File.WriteAllText(yaml, """
            dataset:
              name: medalpaca/medical_meadow_medical_flashcards
            model:
              name: EleutherAI/pythia-70m
            train:
              wire_precision: fp16
            """);
        var fromYaml = SimulationOptionsBinder.Bind(new SimulationOverrides { ConfigPath = yaml }, NoEnvironment);
        Assert.Equal(WirePrecision.Fp16, fromYaml.WirePrecision);
        var int8 = SimulationOptionsBinder.Bind(new SimulationOverrides { ConfigPath = yaml, WirePrecision = SimulateCommand.ParseWirePrecision("int8") }, NoEnvironment);
        Assert.Equal(WirePrecision.Int8, int8.WirePrecision);
        Assert.Equal(WirePrecision.Fp32, SimulationOptionsBinder.Bind(new SimulationOverrides(), NoEnvironment).WirePrecision);
        Assert.Null(SimulateCommand.ParseWirePrecision(null));
        var bad = Assert.Throws<ArgumentException>(() => SimulateCommand.ParseWirePrecision("int4"));
        Assert.Contains("fp32, fp16 or int8", bad.Message, StringComparison.Ordinal);

        var data = TestPaths.RequireMedicalMeadowFile();
        Directory.CreateDirectory(_temp.File("model"));
        Assert.NotEqual(RunFolder.Fingerprint(fromYaml, data, _temp.File("model")), RunFolder.Fingerprint(int8, data, _temp.File("model")));
        var plan = SimulationPlanFactory.Build(SimulationPlanFactory.DefaultConfig(int8), int8, "sim-wire", ["hospital-1"], "m", TestPaths.RequirePythia70mFolder());
        Assert.Equal(WirePrecision.Int8, plan.Recipe.WirePrecision);
    }

    [Fact]
    public void The_command_line_parses_into_overrides()
    {
        var shared = new SimulationCommandOptions();
        var command = new Command("simulate");
        shared.AddTo(command);
        var parse = command.Parse(["cfg.yaml", "--hospitals", "4", "--rounds", "2", "--non-iid", "--out", "x", "--max-steps", "3", "--storage", "conn"]);
        Assert.Empty(parse.Errors);
        var o = shared.Read(parse);
        Assert.Equal(("cfg.yaml", 4, 2, true, "x", 3, "conn"), (o.ConfigPath, o.Hospitals, o.Rounds, o.NonIid, o.OutputDirectory, o.MaxSteps, o.StorageConnectionString));
        Assert.Null(o.SeqLength);
    }

    [Fact]
    public void Unknown_flags_are_parse_errors()
    {
        var command = SimulateCommand.Create();
        Assert.NotEmpty(command.Parse(["--hospitalz", "3"]).Errors);
    }

    [Fact]
    public void Resume_policy_resumes_an_unfinished_run_with_the_same_settings_and_refuses_a_different_one()
    {
        var state = new RunState { RunId = "sim-1", SettingsFingerprint = "abc", Outcome = RunOutcome.Cancelled, StartedUtc = DateTimeOffset.UnixEpoch };
        Assert.Equal(new ResumeDecision(true, "sim-1", "resuming the unfinished run sim-1 (use --fresh to start over)"),
            ResumePolicy.Decide(ResumeMode.Auto, state, "abc", () => "new"));
        var different = Assert.Throws<InvalidOperationException>(() => ResumePolicy.Decide(ResumeMode.Auto, state, "xyz", () => "new"));
        Assert.Contains("--fresh", different.Message, StringComparison.Ordinal);
        Assert.False(ResumePolicy.Decide(ResumeMode.Fresh, state, "abc", () => "new").Resume);
        Assert.Equal("new", ResumePolicy.Decide(ResumeMode.Auto, state with { Outcome = RunOutcome.Completed }, "abc", () => "new").RunId);
        Assert.Throws<InvalidOperationException>(() => ResumePolicy.Decide(ResumeMode.Resume, null, "abc", () => "new"));
    }

    [Fact]
    public async Task Plain_progress_prints_one_timestamped_line_per_change()
    {
        var status = new SimulationStatus();
        using var writer = new StringWriter();
        var display = ProgressDisplay.Start(status, writer, live: false);
        status.SetHospitals(["hospital-1"], 3);
        status.StartRound(1);
        status.SetHospital("hospital-1", HospitalRoundState.Training, 3.25);
        status.SetHospital("hospital-1", HospitalRoundState.Training, 3.25);
        status.FinishRound(1, EvalMetrics.FromNll(10, 2.0));
        await display.DisposeAsync();

        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Matches(@"^\[\d\d:\d\d\] round 1 of 3 started", lines[0]);
        Assert.EndsWith("round 1: hospital-1 training loss 3.2500", lines[1].TrimEnd(), StringComparison.Ordinal);
        Assert.Contains("global held-out perplexity 7.39", lines[2], StringComparison.Ordinal);
    }
}
