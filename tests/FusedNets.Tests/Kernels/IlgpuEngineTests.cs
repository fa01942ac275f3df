using FusedNets.Backends;
using FusedNets.Data;
using FusedNets.Tests.Networks;
using FusedNets.Tests.Reference;

namespace FusedNets.Tests.Kernels;

/// <summary>
/// The ILGPU engine trains whole epochs on the device (data uploaded once, batches gathered by index, one
/// read back), and a step whose loss or update is not finite leaves the last good parameters in place.
/// </summary>
public class IlgpuEngineTests
{
    private static readonly SgdStep Sgd = new Sgd(0.05f, momentum: 0.9f, weightDecay: 0.001f).ToStep();

    [Fact]
    public void An_epoch_on_the_device_equals_the_same_batches_sent_one_by_one()
    {
        Dataset data = RandomData(count: 45, seed: 1);
        int[] order = [.. Enumerable.Range(0, data.Count).Reverse()];
        using var onDevice = new EveryActivationClassifier(seed: 4, Backend.IlgpuCpu);
        using var batchByBatch = new EveryActivationClassifier(seed: 4, Backend.IlgpuCpu);

        float epochLoss = ((IEpochTrainer)onDevice.Engine).TrainEpoch(data, order, batchSize: 16, Sgd, out int failed);

        double lossSum = 0;
        foreach ((float[] inputs, int[] labels) in Batches(data, order, 16))
        {
            lossSum += batchByBatch.Engine.TrainBatch(inputs, labels, default, labels.Length, Sgd) * labels.Length;
        }

        Assert.Equal(-1, failed);
        Assert.Equal(lossSum / data.Count, epochLoss, 5);
        Assert.Equal(Parameters(batchByBatch), Parameters(onDevice));
    }

    [Fact]
    public void A_step_whose_loss_is_not_finite_returns_NaN_and_keeps_the_parameters()
    {
        using var net = new EveryActivationClassifier(seed: 4, Backend.IlgpuCpu);
        TestBatch batch = TestArchitectures.RandomBatch(net.Architecture, 6, seed: 2);
        // Infinite inputs meet weights of both signs: z = ∞ - ∞ = NaN. (Network rejects such inputs before
        // they reach an engine; the engine's own guard must hold regardless.)
        float[] huge = [.. batch.Inputs.Select(_ => float.PositiveInfinity)];
        float[] before = Parameters(net);

        float loss = net.Engine.TrainBatch(huge, batch.Labels, default, 6, Sgd);

        Assert.True(float.IsNaN(loss));
        Assert.Equal(before, Parameters(net));
        Assert.False(float.IsNaN(net.Engine.TrainBatch(batch.Inputs, batch.Labels, default, 6, Sgd)), "the engine trains on after a refused step");
    }

    [Fact]
    public void A_diverging_batch_mid_epoch_stops_there_with_the_parameters_from_before_it()
    {
        Dataset clean = RandomData(count: 40, seed: 3);
        float[] features = clean.Features.ToArray();
        int[] order = [.. Enumerable.Range(0, clean.Count)];
        const int BatchSize = 8, PoisonedBatch = 2;
        for (int i = 0; i < clean.FeatureCount; i++)
        {
            features[(PoisonedBatch * BatchSize + 3) * clean.FeatureCount + i] = float.PositiveInfinity;
        }

        Dataset poisoned = Dataset.ForClassification(features, clean.Labels.ToArray(), clean.FeatureCount);
        using var onDevice = new EveryActivationClassifier(seed: 4, Backend.IlgpuCpu);
        using var expected = new EveryActivationClassifier(seed: 4, Backend.IlgpuCpu);
        foreach ((float[] inputs, int[] labels) in Batches(poisoned, order, BatchSize).Take(PoisonedBatch))
        {
            expected.Engine.TrainBatch(inputs, labels, default, labels.Length, Sgd);
        }

        float loss = ((IEpochTrainer)onDevice.Engine).TrainEpoch(poisoned, order, BatchSize, Sgd, out int failed);

        Assert.True(float.IsNaN(loss));
        Assert.Equal(PoisonedBatch, failed);
        Assert.Equal(Parameters(expected), Parameters(onDevice));
    }

    private static Dataset RandomData(int count, int seed)
    {
        var random = new Random(seed);
        float[] features = [.. Enumerable.Range(0, count * EveryActivationClassifier.InputSize).Select(_ => (float)(random.NextDouble() * 2 - 1))];
        int[] labels = [.. Enumerable.Range(0, count).Select(_ => random.Next(EveryActivationClassifier.OutputSize))];
        return Dataset.ForClassification(features, labels, EveryActivationClassifier.InputSize);
    }

    private static IEnumerable<(float[] Inputs, int[] Labels)> Batches(Dataset data, int[] order, int batchSize)
    {
        for (int first = 0; first < order.Length; first += batchSize)
        {
            int[] rows = order[first..Math.Min(first + batchSize, order.Length)];
            Dataset batch = data.Select(rows);
            yield return (batch.Features.ToArray(), batch.Labels.ToArray());
        }
    }

    private static float[] Parameters(Network net)
    {
        var parameters = new float[net.Architecture.ParameterCount];
        net.Engine.ReadParameters(parameters);
        return parameters;
    }
}
