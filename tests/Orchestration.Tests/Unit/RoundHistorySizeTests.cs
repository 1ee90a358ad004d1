using FedTune.Core.Protocol;
using FedTune.Orchestration.Orchestrators;
using Microsoft.DurableTask.Converters;
using Xunit;

namespace FedTune.Orchestration.Tests.Unit;

/// <summary>
/// A round's history holds one upload-check outcome per hospital and the aggregation's input names them all, so what
/// one hospital costs there decides whether a 10,000-hospital round fits (it did not when each outcome carried its
/// manifest path and adapter reference, about 400 bytes: the run failed after about 7,000 checks).
/// </summary>
public sealed class RoundHistorySizeTests
{
    private static readonly JsonDataConverter Durable = JsonDataConverter.Default;

    [Fact]
    public void An_uploaded_hospital_costs_under_64_bytes_in_the_durable_payloads()
    {
        var uploaded = new HospitalRoundOutcome { HospitalId = "hospital-09999", State = HospitalRoundState.Uploaded };
        var json = Durable.Serialize(uploaded)!;
        Assert.True(json.Length < 64, $"{json.Length} bytes: {json}");
        Assert.Equal(uploaded, Durable.Deserialize<HospitalRoundOutcome>(json));
    }

    [Fact]
    public void A_failed_hospital_keeps_its_reason_through_the_durable_payloads()
    {
        var failed = new HospitalRoundOutcome
        {
            HospitalId = "h1", State = HospitalRoundState.Failed, ReasonCode = FailureReasons.ManifestInvalid, Message = "it names hospital h2",
        };
        Assert.Equal(failed, Durable.Deserialize<HospitalRoundOutcome>(Durable.Serialize(failed)!));
    }

    [Fact]
    public void The_upload_checks_of_a_10000_hospital_round_fit_in_under_half_a_megabyte_of_history()
    {
        var outcomes = Enumerable.Range(0, 10_000)
            .Select(i => new HospitalRoundOutcome { HospitalId = $"hospital-{i:D5}", State = HospitalRoundState.Uploaded }).ToArray();
        // The checks' results, as the round's history keeps them (one result list per chunk of 250).
        long bytes = outcomes.Chunk(250).Sum(chunk => (long)Durable.Serialize(chunk)!.Length);
        Assert.True(bytes < 512 * 1024, $"{bytes:N0} bytes");
    }
}
