using FedTune.Training.Generation;
using FedTune.Training.Tests.Modeling;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FedTune.Training.Tests.Generation;

public sealed class TextGeneratorTests
{
    private static readonly long[][] Prompts = [[5, 9, 13, 2, 7], [11, 3]];

    [Fact]
    public void Greedy_with_the_KV_cache_equals_greedy_without_it()
    {
        using var model = ModelTestSupport.TinyModel(seed: 12);
        var options = new GenerationOptions { MaxNewTokens = 12 };
        var cached = TextGenerator.Generate(model, Prompts, options);
        var recomputed = TextGenerator.Generate(model, Prompts, options with { UseCache = false });
        Assert.Equal(recomputed, cached);
        Assert.All(cached, row => Assert.Equal(12, row.Length));
    }

    [Fact]
    public void Greedy_equals_an_argmax_loop_over_full_forwards_and_batching_does_not_change_a_row()
    {
        using var model = ModelTestSupport.TinyModel(seed: 13);
        var batched = TextGenerator.Generate(model, Prompts, new GenerationOptions { MaxNewTokens = 8 });
        for (int row = 0; row < Prompts.Length; row++)
        {
            var sequence = Prompts[row].ToList();
            for (int step = 0; step < 8; step++)
            {
                using var scope = torch.NewDisposeScope();
                using var noGrad = torch.no_grad();
                var logits = model.Forward(torch.tensor(sequence.ToArray(), [1, sequence.Count]), null);
                sequence.Add(logits[0, -1].argmax().item<long>());
            }

            Assert.Equal(sequence.Skip(Prompts[row].Length), batched[row]);
            Assert.Equal(batched[row], TextGenerator.Generate(model, [Prompts[row]], new GenerationOptions { MaxNewTokens = 8 })[0]);
        }
    }

    [Fact]
    public void No_repeat_ngram_size_bans_every_token_that_would_repeat_an_ngram_of_prompt_or_output()
    {
        using var model = ModelTestSupport.TinyModel(seed: 16);
        var free = TextGenerator.Generate(model, Prompts, new GenerationOptions { MaxNewTokens = 40 });
        // A tiny random model's greedy decoding loops, so the constraint has something to change.
        Assert.Contains(Prompts.Select((p, row) => RepeatedNgrams([.. p, .. free[row]], 2)), repeats => repeats > 0);

        var constrained = TextGenerator.Generate(model, Prompts, new GenerationOptions { MaxNewTokens = 40, NoRepeatNgramSize = 2 });
        for (int row = 0; row < Prompts.Length; row++)
        {
            Assert.Equal(0, RepeatedNgrams([.. Prompts[row], .. constrained[row]], 2));
        }
    }

    [Fact]
    public void Repeating_tokens_are_those_that_followed_the_last_n_minus_one_tokens_before()
    {
        Assert.Equal([7L, 9L], TextGenerator.RepeatingTokens([1, 7, 4, 1, 9, 1], 2).ToArray());
        Assert.Equal([9L], TextGenerator.RepeatingTokens([1, 2, 9, 5, 1, 2], 3).ToArray());
        Assert.Empty(TextGenerator.RepeatingTokens([1, 2, 3], 2));
    }

    private static int RepeatedNgrams(long[] tokens, int n)
    {
        var seen = new HashSet<string>();
        int repeats = 0;
        for (int i = 0; i + n <= tokens.Length; i++)
        {
            if (!seen.Add(string.Join(',', tokens.Skip(i).Take(n)))) repeats++;
        }
        return repeats;
    }

    [Fact]
    public void Sampling_is_reproducible_with_a_seed_and_cache_independent()
    {
        using var model = ModelTestSupport.TinyModel(seed: 14);
        var options = new GenerationOptions { MaxNewTokens = 20, Temperature = 1.5, TopK = 20, TopP = 0.95, Seed = 3 };
        var first = TextGenerator.Generate(model, Prompts, options);
        Assert.Equal(first, TextGenerator.Generate(model, Prompts, options));
        Assert.Equal(first, TextGenerator.Generate(model, Prompts, options with { UseCache = false }));
        Assert.NotEqual(first, TextGenerator.Generate(model, Prompts, options with { Seed = 4 }));
    }

    [Fact]
    public void Top_k_one_sampling_is_greedy()
    {
        using var model = ModelTestSupport.TinyModel(seed: 15);
        var greedy = TextGenerator.Generate(model, Prompts, new GenerationOptions { MaxNewTokens = 10 });
        var topOne = TextGenerator.Generate(model, Prompts, new GenerationOptions { MaxNewTokens = 10, Temperature = 0.7, TopK = 1, Seed = 9 });
        Assert.Equal(greedy, topOne);
    }

    [Fact]
    public void Generation_stops_a_row_at_the_end_of_text_token()
    {
        using var model = ModelTestSupport.TinyModel(seed: 16);
        var free = TextGenerator.Generate(model, [Prompts[0]], new GenerationOptions { MaxNewTokens = 10 })[0];
        var stopped = TextGenerator.Generate(model, [Prompts[0]], new GenerationOptions { MaxNewTokens = 10, EosTokenId = free[3] })[0];
        Assert.Equal(free.TakeWhile(t => t != free[3]), stopped);
    }
}
