using FedTune.Training.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace FedTune.Training.Generation;

/// <summary>
/// Greedy or sampled decoding for a batch of token prompts (left-padded with an attention mask), with a key/value cache so
/// each step feeds only the new token.
/// </summary>
public static class TextGenerator
{
    /// <summary>Returns, for each prompt, the generated token ids (without the prompt and without the end-of-text token).</summary>
    public static long[][] Generate(GptNeoXForCausalLM model, IReadOnlyList<long[]> prompts, GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (prompts.Count == 0) return [];
        if (prompts.Any(p => p.Length == 0))
            throw new ArgumentException("Every prompt needs at least one token.", nameof(prompts));
        int longest = prompts.Max(p => p.Length);
        if (longest + options.MaxNewTokens > model.MaxSequenceLength)
            throw new ArgumentException(
                $"Prompt ({longest} tokens) plus {options.MaxNewTokens} new tokens exceeds the model's {model.MaxSequenceLength} positions.", nameof(prompts));

        bool wasTraining = model.training;
        model.SetTraining(false);
        try
        {
            return Decode(model, prompts, options, longest);
        }
        finally
        {
            model.SetTraining(wasTraining);
        }
    }

    private static long[][] Decode(GptNeoXForCausalLM model, IReadOnlyList<long[]> prompts, GenerationOptions options, int longest)
    {
        using var noGrad = torch.no_grad();
        using var outer = torch.NewDisposeScope();
        int batch = prompts.Count;
        var ids = new long[batch * longest];
        var mask = new long[batch * longest];
        for (int row = 0; row < batch; row++)
        {
            int offset = longest - prompts[row].Length;
            for (int t = 0; t < longest; t++)
            {
                ids[(row * longest) + t] = t < offset ? options.PadTokenId : prompts[row][t - offset];
                mask[(row * longest) + t] = t < offset ? 0 : 1;
            }
        }

        var sequence = torch.tensor(ids, [batch, longest], device: model.Device);
        var fullMask = torch.tensor(mask, [batch, longest], device: model.Device);
        var generator = options.Temperature > 0 ? new Generator((ulong)options.Seed, model.Device) : null;
        var outputs = Enumerable.Range(0, batch).Select(_ => new List<long>()).ToArray();
        var finished = new bool[batch];
        using var cache = options.UseCache ? new KeyValueCache(model.Config.NumHiddenLayers) : null;
        Tensor stepIds = sequence, stepMask = fullMask;
        for (int step = 0; step < options.MaxNewTokens && !finished.All(f => f); step++)
        {
            using var scope = torch.NewDisposeScope();
            var logits = cache is not null
                ? model.Forward(stepIds, stepMask, cache)
                : model.Forward(sequence, fullMask);
            var last = logits.select(1, logits.shape[1] - 1);
            if (options.NoRepeatNgramSize > 0)
            {
                for (int row = 0; row < batch; row++)
                {
                    if (finished[row]) continue;
                    foreach (var token in RepeatingTokens([.. prompts[row], .. outputs[row]], options.NoRepeatNgramSize))
                    {
                        last[row, token] = torch.tensor(float.NegativeInfinity);
                    }
                }
            }

            var next = Choose(last, options, generator).cpu().data<long>().ToArray();
            for (int row = 0; row < batch; row++)
            {
                if (finished[row]) { next[row] = options.PadTokenId; continue; }
                if (options.EosTokenId == next[row]) { finished[row] = true; continue; }
                outputs[row].Add(next[row]);
            }

            var nextTensor = torch.tensor(next, [batch, 1], device: model.Device);
            var ones = torch.ones(batch, 1, dtype: ScalarType.Int64, device: model.Device);
            stepIds = nextTensor.MoveToOuterDisposeScope();
            stepMask = ones.MoveToOuterDisposeScope();
            if (cache is null)
            {
                sequence = torch.cat([sequence, stepIds], 1).MoveToOuterDisposeScope();
                fullMask = torch.cat([fullMask, stepMask], 1).MoveToOuterDisposeScope();
            }
        }

        return outputs.Select(o => o.ToArray()).ToArray();
    }

    /// <summary>
    /// The tokens that would complete an n-gram already in <paramref name="tokens"/> (Hugging Face's no_repeat_ngram_size):
    /// each token that followed an earlier occurrence of the last n − 1 tokens.
    /// </summary>
    internal static IEnumerable<long> RepeatingTokens(IReadOnlyList<long> tokens, int n)
    {
        if (n <= 0 || tokens.Count < n - 1) yield break;
        int start = tokens.Count - (n - 1);
        for (int i = 0; i + n <= tokens.Count; i++)
        {
            bool same = true;
            for (int k = 0; k < n - 1 && same; k++) same = tokens[i + k] == tokens[start + k];
            if (same) yield return tokens[i + n - 1];
        }
    }

    /// <summary>Argmax, or a sample after temperature, top-k and top-p filtering. <paramref name="logits"/> is [B, V].</summary>
    internal static Tensor Choose(Tensor logits, GenerationOptions options, Generator? generator)
    {
        if (options.Temperature <= 0)
            return logits.argmax(-1);
        var scaled = logits / options.Temperature;
        if (options.TopK > 0 && options.TopK < scaled.shape[1])
        {
            var kth = scaled.topk(options.TopK, -1).values.narrow(1, options.TopK - 1, 1);
            scaled = scaled.masked_fill(scaled.lt(kth), double.NegativeInfinity);
        }

        if (options.TopP < 1)
        {
            var (sorted, order) = scaled.sort(-1, descending: true);
            var cumulative = sorted.softmax(-1).cumsum(-1);
            // Drop tokens once the mass before them already reaches p (the top token always stays).
            var drop = (cumulative - sorted.softmax(-1)).ge(options.TopP);
            var dropInOriginalOrder = torch.zeros_like(drop).scatter(1, order, drop);
            scaled = scaled.masked_fill(dropInOriginalOrder, double.NegativeInfinity);
        }

        return torch.multinomial(scaled.softmax(-1), 1, generator: generator).squeeze(1);
    }
}
