using FedTune.Training.Benchmarks;
using FedTune.Training.Modeling;
using Xunit;

namespace FedTune.Training.Tests.Trainer;

public sealed class TrainStepFlopsTests
{
    private static readonly GptNeoXConfig Pythia70m = new()
    {
        VocabSize = 50304, HiddenSize = 512, NumHiddenLayers = 6, NumAttentionHeads = 8, IntermediateSize = 2048, MaxPositionEmbeddings = 2048,
    };

    [Fact]
    public void The_seed_step_at_the_pythia_70m_shape_counts_its_recomputation_and_the_peers_whole_block_one()
    {
        var flops = TrainStepFlops.For(Pythia70m, batch: 2, seqLength: 512, loraR: 16, checkpointing: true);

        Assert.Equal(203.3, flops.Model / 1e9, 1);
        Assert.Equal(210.2, flops.Hardware / 1e9, 1); // attention and LoRA recomputed, the projections' outputs kept
        Assert.Equal(248.8, flops.Peer / 1e9, 1); // torch.utils.checkpoint: whole blocks again
        var plain = TrainStepFlops.For(Pythia70m, batch: 2, seqLength: 512, loraR: 16, checkpointing: false);
        Assert.Equal(flops.Model, plain.Hardware);
        Assert.Equal(flops.Model, plain.Peer);
    }
}
