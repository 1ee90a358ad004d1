using System.Diagnostics;
using System.Globalization;
using FedTune.Core.Protocol;
using FedTune.Core.SecureAggregation;

namespace FedTune.Core.Benchmarks;

/// <summary>
/// What secure aggregation costs one round in bytes and seconds: every hospital runs the real client steps (keys,
/// shares, masking) on an update of <c>parameters</c> values, one hospital drops after sharing, and the server
/// unmasks the survivors' sum (checked against the plain sum). Bytes are the serialized messages.
/// </summary>
public static class SecureAggregationBenchmark
{
    public static void Run(IReadOnlyList<int> hospitalCounts, int parameters, int? neighbours, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(hospitalCounts);
        ArgumentNullException.ThrowIfNull(output);
        output.WriteLine(Inv($"Secure aggregation, {parameters:N0} values per update (8-byte ring elements), one hospital dropping after sharing; machine: {Environment.ProcessorCount} cores"));
        output.WriteLine("| hospitals | neighbours | threshold | keys up B | shares up B | masked up B | reveal up B | roster+inbox+request down B | client s (share+mask) | server s (unmask) |");
        output.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var n in hospitalCounts)
        {
            var degree = neighbours ?? (n <= 10 ? n - 1 : 2 * (int)Math.Ceiling(Math.Log2(n)));
            degree = Math.Min(degree, n - 1);
            var setup = new SecAggSetup { RoundLabel = $"bench/{n}", Threshold = (degree + 1) / 2 + 1, Degree = degree };
            var parties = Enumerable.Range(0, n).Select(i => $"hospital-{i:D3}").ToArray();
            var states = new Dictionary<string, SecAggClientState>(StringComparer.Ordinal);
            var keys = new List<SecAggPublicKeys>();
            foreach (var p in parties)
            {
                var (state, published) = SecAggClient.Start(p, setup);
                states[p] = state;
                keys.Add(published);
            }

            var clientClock = new Stopwatch();
            var shares = new List<SecAggEncryptedShare>();
            long sharesBytes = 0;
            foreach (var p in parties)
            {
                clientClock.Start();
                var (state, outgoing) = SecAggClient.ShareKeys(states[p], keys);
                clientClock.Stop();
                states[p] = state;
                shares.AddRange(outgoing);
                sharesBytes += ProtocolJson.Serialize(new SecAggShareBundle(outgoing)).Length;
            }

            var values = new ulong[parameters + 1];
            var random = new Random(n);
            for (var i = 0; i < values.Length; i++) values[i] = (ulong)random.NextInt64();
            var sharers = parties;
            var survivors = parties.Skip(1).ToArray();
            var masked = new List<SecAggMaskedInput>();
            long inboxBytes = 0;
            foreach (var p in survivors)
            {
                var inbox = SecAggServer.InboxOf(p, shares);
                inboxBytes += ProtocolJson.Serialize(new SecAggInbox(sharers, inbox)).Length;
                clientClock.Start();
                var (state, input) = SecAggClient.Mask(states[p], sharers, inbox, values);
                clientClock.Stop();
                states[p] = state;
                masked.Add(input);
            }

            var reveals = new List<SecAggReveal>();
            long revealBytes = 0;
            foreach (var p in survivors)
            {
                var (state, reveal) = SecAggClient.Reveal(states[p], survivors);
                states[p] = state;
                reveals.Add(reveal);
                revealBytes += ProtocolJson.Serialize(reveal).Length;
            }

            var serverClock = Stopwatch.StartNew();
            var sum = SecAggServer.Unmask(setup, keys, sharers, masked, reveals);
            serverClock.Stop();
            var expected = unchecked((ulong)survivors.Length * values[0]);
            if (sum.Sum[0] != expected)
            {
                throw new InvalidOperationException("The unmasked sum is wrong; the benchmark's protocol run is broken.");
            }

            long keysBytes = keys.Sum(k => (long)ProtocolJson.Serialize(k).Length) / n;
            long rosterBytes = ProtocolJson.Serialize(new SecAggRoster(keys)).Length;
            long requestBytes = ProtocolJson.Serialize(new SecAggRevealRequest(survivors)).Length;
            long maskedBytes = 8L * (parameters + 1);
            output.WriteLine(Inv($"| {n} | {setup.Degree} | {setup.Threshold} | {keysBytes:N0} | {sharesBytes / n:N0} | {maskedBytes:N0} | {revealBytes / survivors.Length:N0} | ") +
                Inv($"{rosterBytes + inboxBytes / survivors.Length + requestBytes:N0} | {clientClock.Elapsed.TotalSeconds / n:F3} | {serverClock.Elapsed.TotalSeconds:F3} |"));
        }

        output.WriteLine("masked up B: the ring elements alone (the safetensors header adds the adapter config and layout, about 1-2 KB); client s: mean per hospital.");
    }

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
