using FedTune.Core.SecureAggregation;
using FedTune.TestSupport;

namespace FedTune.Core.Tests.SecureAggregation;

public sealed class SecureAggregationTests
{
    private static readonly string[] Five = ["hospital-a", "hospital-b", "hospital-c", "hospital-d", "hospital-e"];

    private static float[] Update(int seed, int length = 300) =>
        Enumerable.Range(0, length).Select(i => (float)(Math.Sin(seed * 7.3 + i) * 0.05)).ToArray();

    private static float[] PlainFedAvg(IEnumerable<(float[] Values, double Weight)> updates)
    {
        var list = updates.ToArray();
        var total = list.Sum(u => u.Weight);
        return Enumerable.Range(0, list[0].Values.Length).Select(i => (float)(list.Sum(u => u.Values[i] * u.Weight) / total)).ToArray();
    }

    [Fact]
    public void Shamir_recovers_from_any_threshold_shares_and_not_from_fewer()
    {
        var secret = Enumerable.Range(0, 32).Select(i => (byte)(i * 37 + 1)).ToArray();
        var shares = ShamirSharing.Split(secret, threshold: 3, shares: 5);
        Assert.Equal(secret, ShamirSharing.Combine([shares[4], shares[0], shares[2]], 3));
        Assert.Equal(secret, ShamirSharing.Combine([shares[1], shares[3], shares[4]], 3));
        Assert.NotEqual(secret, ShamirSharing.Combine([shares[1], shares[3]], 2));
        Assert.Throws<SecureAggregationException>(() => ShamirSharing.Combine([shares[1], shares[3]], 3));
    }

    [Theory]
    [InlineData(4)] // classic SecAgg: every pair masks (degree >= n - 1)
    [InlineData(2)] // SecAgg+: each hospital masks with two ring neighbours
    public void The_unmasked_sum_is_plain_fedavg_to_fixed_point_precision(int degree)
    {
        var round = new SecAggRound(Five, threshold: 3, degree: degree);
        round.ShareKeys();
        var inputs = Five.Select((p, i) => (Party: p, Values: Update(i), Weight: 10.0 + 7 * i)).ToArray();
        foreach (var (party, values, weight) in inputs)
        {
            round.Mask(party, FixedPointEncoding.EncodeWeighted(values, weight));
        }

        var sum = round.Unmask();
        var mean = FixedPointEncoding.DecodeWeightedMean(sum.Sum);
        var expected = PlainFedAvg(inputs.Select(i => (i.Values, i.Weight)));
        Assert.Equal(inputs.Sum(i => i.Weight), FixedPointEncoding.DecodeTotalWeight(sum.Sum), 6);
        Assert.Equal(expected, mean, (x, y) => Math.Abs(x - y) <= 5 * Five.Length / FixedPointEncoding.Scale + 1e-7);
        Assert.Empty(sum.Dropped);
    }

    [Theory]
    [InlineData(5, 4, 1)]
    [InlineData(5, 4, 2)] // classic SecAgg, n - t = 2 dropouts: the most it tolerates
    [InlineData(7, 4, 2)] // SecAgg+: each hospital's 4 neighbours and itself hold shares, any 3 of them recover
    public void Dropouts_after_key_sharing_up_to_n_minus_t_still_give_the_exact_survivors_sum(int parties, int degree, int dropouts)
    {
        var all = Enumerable.Range(0, parties).Select(i => $"hospital-{(char)('a' + i)}").ToArray();
        var round = new SecAggRound(all, threshold: 3, degree: degree);
        round.ShareKeys();
        var survivors = all.Skip(dropouts).ToArray();
        var inputs = survivors.Select((p, i) => (Party: p, Values: Update(i + 10), Weight: 3.0 + i)).ToArray();
        foreach (var (party, values, weight) in inputs)
        {
            round.Mask(party, FixedPointEncoding.EncodeWeighted(values, weight));
        }

        var sum = round.Unmask();
        Assert.Equal(all.Take(dropouts), sum.Dropped);
        var exact = inputs.Select(i => FixedPointEncoding.EncodeWeighted(i.Values, i.Weight)).Aggregate(new ulong[301], (acc, e) =>
        {
            FixedPointEncoding.AddInto(acc, e);
            return acc;
        });
        Assert.Equal(exact, sum.Sum);
    }

    [Fact]
    public void Fewer_survivors_than_the_threshold_fail_the_round_with_a_clear_message_and_reveal_nothing()
    {
        var round = new SecAggRound(Five, threshold: 3, degree: 4);
        round.ShareKeys();
        round.Mask("hospital-a", FixedPointEncoding.EncodeWeighted(Update(1), 1));
        round.Mask("hospital-b", FixedPointEncoding.EncodeWeighted(Update(2), 1));

        var client = Assert.Throws<SecureAggregationException>(() => SecAggClient.Reveal(round.States["hospital-a"], ["hospital-a", "hospital-b"]));
        Assert.Contains("needs 3", client.Message, StringComparison.Ordinal);
        var server = Assert.Throws<SecureAggregationException>(() => SecAggServer.Unmask(round.Setup, round.Published, round.Sharers, round.Masked, []));
        Assert.Contains("threshold", server.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_survivor_that_goes_silent_in_the_reveal_step_is_still_summed_when_t_others_answer()
    {
        var round = new SecAggRound(Five, threshold: 3, degree: 4);
        round.ShareKeys();
        var inputs = Five.Skip(1).Select((p, i) => (Party: p, Values: Update(i), Weight: 1.0)).ToArray();
        foreach (var (party, values, weight) in inputs)
        {
            round.Mask(party, FixedPointEncoding.EncodeWeighted(values, weight));
        }

        var sum = round.Unmask(answering: ["hospital-b", "hospital-c", "hospital-e"]);
        Assert.Equal(PlainFedAvg(inputs.Select(i => (i.Values, i.Weight))), FixedPointEncoding.DecodeWeightedMean(sum.Sum),
            (x, y) => Math.Abs(x - y) < 1e-6);
    }

    [Fact]
    public void A_hospital_that_drops_before_sharing_is_left_out_of_every_mask()
    {
        var round = new SecAggRound(Five, threshold: 3, degree: 4);
        foreach (var party in Five.Skip(1))
        {
            var (state, outgoing) = SecAggClient.ShareKeys(round.States[party], round.Published);
            round.States[party] = state;
            round.Shares.AddRange(outgoing.Where(s => s.To != "hospital-a"));
        }

        var inputs = Five.Skip(1).Select((p, i) => (Party: p, Values: Update(i), Weight: 1.0 + i)).ToArray();
        foreach (var (party, values, weight) in inputs)
        {
            round.Mask(party, FixedPointEncoding.EncodeWeighted(values, weight));
        }

        var sum = round.Unmask();
        Assert.Empty(sum.Dropped);
        Assert.Equal(PlainFedAvg(inputs.Select(i => (i.Values, i.Weight))), FixedPointEncoding.DecodeWeightedMean(sum.Sum), (x, y) => Math.Abs(x - y) < 1e-6);
    }

    [Fact]
    public void A_party_never_reveals_for_two_different_dropout_sets()
    {
        var round = new SecAggRound(Five, threshold: 3, degree: 4);
        round.ShareKeys();
        foreach (var party in Five)
        {
            round.Mask(party, FixedPointEncoding.EncodeWeighted(Update(1), 1));
        }

        var (state, _) = SecAggClient.Reveal(round.States["hospital-b"], Five.Skip(1).ToArray());
        // A server that first claims a dropped and then asks again with a as a survivor would learn a's self mask and its mask key.
        Assert.Throws<SecureAggregationException>(() => SecAggClient.Reveal(state, Five));
    }

    [Fact]
    public void Every_party_can_crash_and_resume_from_its_saved_state_at_every_step()
    {
        var round = new SecAggRound(Five, threshold: 3, degree: 2);
        SecAggClientState Reload(string party) => round.States[party] = SecAggClientState.FromJson(round.States[party].ToJson());
        foreach (var party in Five)
        {
            Reload(party);
        }

        round.ShareKeys();
        // Crash after sharing, before masking: the state on disk is all a restarted agent has.
        var inputs = Five.Select((p, i) => (Party: p, Values: Update(i), Weight: 2.0 + i)).ToArray();
        foreach (var (party, values, weight) in inputs)
        {
            Reload(party);
            round.Mask(party, FixedPointEncoding.EncodeWeighted(values, weight));
            Reload(party);
        }

        // Redoing the mask step after a crash gives the same masked upload (it is a function of the saved state).
        var again = SecAggClient.Mask(round.States["hospital-c"], round.Sharers, SecAggServer.InboxOf("hospital-c", round.Shares),
            FixedPointEncoding.EncodeWeighted(inputs[2].Values, inputs[2].Weight)).Masked;
        Assert.Equal(round.Masked.Single(m => m.Party == "hospital-c").Values, again.Values);

        // The server is stateless: unmasking twice from the stored messages gives the same sum.
        var first = round.Unmask();
        var second = round.Unmask();
        Assert.Equal(first.Sum, second.Sum);
        Assert.Equal(PlainFedAvg(inputs.Select(i => (i.Values, i.Weight))), FixedPointEncoding.DecodeWeightedMean(first.Sum),
            (x, y) => Math.Abs(x - y) < 1e-6);
    }

    [Fact]
    public void Masked_uploads_are_indistinguishable_from_uniform_while_the_plain_encoding_is_not()
    {
        var parties = Five.Take(3).ToArray();
        var round = new SecAggRound(parties, threshold: 2, degree: 2);
        round.ShareKeys();
        var values = Update(3, 20_000);
        var plain = FixedPointEncoding.EncodeWeighted(values, 50);
        round.Mask(parties[0], plain);
        var masked = round.Masked[0].Values;

        Assert.True(RingUniformity.PValue(masked) > 1e-3, $"masked upload p = {RingUniformity.PValue(masked)}");
        Assert.True(RingUniformity.PValue(plain) < 1e-12, "the test must be able to tell a plain encoded update from uniform");
    }
}
