using FusedNets.Data;
using FusedNets.Reference;
using FusedNets.Tests.Networks;

namespace FusedNets.Tests.Research;

/// <summary>
/// Attributions of one output: saliency is the output's input gradient (against the reference), and integrated
/// gradients are complete (they sum to f(input) − f(baseline)) within 1% at 256 steps, on every layer kind and on
/// the CPU and ILGPU backends, and exact for a linear network.
/// </summary>
public class InterpretabilityTests
{
    private static readonly Lazy<Dataset> Digits = new(() => Csv.ReadClassification(
        Path.Combine(TestPaths.RepositoryRoot, "samples", "HandwrittenDigits", "Data", "digits.csv.gz"),
        hasHeader: false,
        featureScale: 1f / 16));

    public static TheoryData<string, Backend> EveryNetworkOnCpuAndIlgpuCpu()
    {
        var data = new TheoryData<string, Backend>();
        foreach (string network in new[] { nameof(DigitsClassifier), nameof(DigitsConvNet) })
        {
            data.Add(network, Backend.Cpu);
            data.Add(network, Backend.IlgpuCpu);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryNetworkOnCpuAndIlgpuCpu))]
    public void Integrated_gradients_sum_to_the_output_difference_within_1_percent_at_256_steps(string name, Backend backend)
    {
        using Network network = Trained(name, backend);
        var baseline = new float[64];
        var attribution = new float[64];
        var outputs = new float[10];
        var baselineOutputs = new float[10];
        network.Predict(baseline, baselineOutputs);
        for (int sample = 0; sample < 5; sample++)
        {
            ReadOnlySpan<float> input = Digits.Value.FeaturesOf(sample);
            network.Predict(input, outputs);
            int target = Network.ArgMax(outputs);

            Interpretability.IntegratedGradients(network, input, baseline, target, steps: 256, attribution);

            double difference = outputs[target] - baselineOutputs[target], sum = attribution.Sum(value => (double)value);
            Assert.True(Math.Abs(difference) > 0.5, $"sample {sample}: f(input) − f(baseline) = {difference}, too small to test");
            Assert.True(Math.Abs(sum - difference) <= 0.01 * Math.Abs(difference), $"sample {sample}: attributions sum to {sum:R}, f(input) − f(baseline) = {difference:R}");
        }
    }

    [Theory]
    [MemberData(nameof(EveryNetworkOnCpuAndIlgpuCpu))]
    public void Saliency_is_the_gradient_of_the_output_with_respect_to_the_input(string name, Backend backend)
    {
        using Network network = Trained(name, backend);
        var parameters = new float[network.Architecture.ParameterCount];
        network.CopyParametersTo(parameters);
        var reference = new ReferenceNetwork(network.Architecture, parameters, [.. network.Architecture.Layers.Select(LayerMask.ArrayOf)]);
        var saliency = new float[64];
        ReadOnlySpan<float> input = Digits.Value.FeaturesOf(3);
        foreach (int target in new[] { 0, 3, 9 })
        {
            Interpretability.Saliency(network, input, target, saliency);

            var seed = new double[10];
            seed[target] = 1;
            double[] expected = reference.VectorJacobianProduct(Array.ConvertAll(input.ToArray(), value => (double)value), seed, 1);
            for (int i = 0; i < 64; i++)
            {
                Assert.True(Math.Abs(saliency[i] - expected[i]) <= 1e-4 * (1 + Math.Abs(expected[i])), $"target {target}, pixel {i}: expected {expected[i]:R}, got {saliency[i]:R}");
            }
        }
    }

    [Fact]
    public void Integrated_gradients_of_a_linear_network_are_its_weights_times_the_input_change_at_any_number_of_steps()
    {
        using var network = new LinearRegressor(backend: Backend.Cpu);
        network.SetParameters([1, -2, 0.5f, 3, 0.25f, -1, 0.125f, -0.5f]);
        var attribution = new float[3];

        Interpretability.IntegratedGradients(network, [1, 2, -4], [0.5f, 0, 0], target: 1, steps: 3, attribution);

        Assert.Equal([3 * 0.5f, 0.25f * 2, -1 * -4], attribution);
    }

    [Fact]
    public void Attributions_refuse_a_target_that_is_no_output()
    {
        using var network = new LinearRegressor(backend: Backend.Cpu);
        var saliency = new float[3];

        Assert.Throws<ArgumentOutOfRangeException>(() => Interpretability.Saliency(network, [1, 2, 3], 2, saliency));
    }

    /// <summary>A digit classifier trained for a few epochs, so that its outputs move far between an input and the black image.</summary>
    /// <summary>
    /// The network trained on the CPU engine, then its parameters on <paramref name="backend"/>: the attributions are under
    /// test, and training a convolutional network on the ILGPU simulator would take minutes.
    /// </summary>
    private static Network Trained(string name, Backend backend)
    {
        Network Create(Backend on) => name == nameof(DigitsConvNet) ? new DigitsConvNet(seed: 0, on) : new DigitsClassifier(seed: 0, on);
        using Network trained = Create(Backend.Cpu);
        trained.Fit(Digits.Value, new Sgd(0.05f, momentum: 0.9f), epochs: 3);
        var parameters = new float[trained.Architecture.ParameterCount];
        trained.CopyParametersTo(parameters);
        Network network = Create(backend);
        network.SetParameters(parameters);
        return network;
    }
}
