using FedTune.Core.Privacy;

namespace FedTune.Core.Tests.Privacy;

/// <summary>
/// Reference values from TF-Privacy: privacy/analysis/rdp_accountant_test.py (compute_rdp and
/// get_privacy_spent tests, which use the classic conversion) and tutorials/README.md (MNIST DP-SGD:
/// N = 60000, batch 256, noise 1.1, 60 epochs, delta 1e-5 gives eps = 3.01).
/// </summary>
public sealed class RdpAccountantTests
{
    [Fact]
    public void Rdp_without_sampling_is_alpha_over_two_sigma_squared()
        => Assert.Equal(0.1, RdpAccountant.ComputeRdp(1, 10, 1, [20])[0], 12);

    [Fact]
    public void Rdp_with_no_data_is_zero()
        => Assert.Equal(0, RdpAccountant.ComputeRdp(0, 10, 1, [20])[0]);

    [Fact]
    public void Rdp_matches_tf_privacy_scalar_case()
        => Assert.Equal(0.07737, RdpAccountant.ComputeRdp(0.1, 2, 10, [5])[0], 5);

    [Fact]
    public void Rdp_matches_tf_privacy_sequence_including_fractional_orders()
    {
        var rdp = RdpAccountant.ComputeRdp(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100]);
        double[] expected = [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307];
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - rdp[i]) <= 1e-5, $"order index {i}: expected {expected[i]}, got {rdp[i]}");
        }
    }

    [Fact]
    public void Classic_epsilon_matches_tf_privacy_get_privacy_spent()
    {
        double[] orders = Enumerable.Range(2, 31).Select(o => (double)o).ToArray();
        var rdp = RdpAccountant.ComputeRdp(0.01, 4, 10000, orders);
        var (eps, order) = RdpAccountant.ComputeEpsilonClassic(orders, rdp, 1e-5);
        Assert.InRange(eps, 1.258575 - 5e-6, 1.258575 + 5e-6); // Python's assertAlmostEqual(places=5)
        Assert.Equal(20, order);
    }

    [Fact]
    public void Composition_of_two_mechanisms_matches_tf_privacy()
    {
        double[] orders = [1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 64, 256];
        var accountant = new RdpAccountant(orders);
        accountant.AddSteps(1e-4, 0.4, 40000);
        accountant.AddSteps(0.1, 2, 100);
        var (eps, order) = RdpAccountant.ComputeEpsilonClassic(orders, accountant.Rdp, 1e-5);
        Assert.InRange(eps, 8.509656 - 5e-6, 8.509656 + 5e-6);
        Assert.Equal(2.5, order);
    }

    [Fact]
    public void Mnist_tutorial_budget_is_about_three()
    {
        var accountant = new RdpAccountant(Enumerable.Range(1, 99).Select(x => 1 + (x / 10.0)).Concat(Enumerable.Range(12, 52).Select(x => (double)x)).ToArray());
        accountant.AddSteps(256.0 / 60000, 1.1, (long)Math.Ceiling(60 * 60000 / 256.0));
        var (classic, _) = RdpAccountant.ComputeEpsilonClassic(accountant.Orders, accountant.Rdp, 1e-5);
        Assert.Equal(3.01, classic, 2);

        var (tight, _) = accountant.GetEpsilon(1e-5);
        Assert.True(tight < classic, $"the tight conversion ({tight}) is never worse than the classic one ({classic})");
        Assert.True(tight > 2.5);
    }

    [Fact]
    public void Ledger_round_trips_through_json_and_keeps_accumulating()
    {
        var accountant = new RdpAccountant();
        accountant.AddSteps(0.5, 1.0);
        var restored = RdpAccountant.FromJson(accountant.ToJson());
        restored.AddSteps(0.5, 1.0);
        accountant.AddSteps(0.5, 1.0);
        Assert.Equal(accountant.GetEpsilon(1e-5), restored.GetEpsilon(1e-5));
        Assert.Equal(2, restored.Steps);
    }
}
