using FusedNets.Data;
using FusedNets.Tests.Networks;

namespace FusedNets.Tests.Persistence;

/// <summary>
/// A model saved with its momentum resumes training exactly: 2 epochs, save, load, 1 more epoch gives the
/// same bits as 3 epochs in one go. This needs <see cref="Network.Fit"/>'s order of samples in an epoch to
/// depend only on (shuffle seed, epoch number).
/// </summary>
public class ResumeTrainingTests
{
    private static readonly Sgd Sgd = new(0.05f, momentum: 0.9f, nesterov: true, weightDecay: 0.001f);

    // 50 samples in batches of 8: every epoch ends with a smaller batch.
    private const int Samples = 50, BatchSize = 8, ShuffleSeed = 11;

    // ILGPU's CPU simulator takes seconds per step of a convolution's weight gradient: the convolutional networks
    // resume on the CPU engine, and IlgpuCpu's save and load are the same code as for the dense network.
    public static TheoryData<string, Backend> Networks() => new()
    {
        { nameof(MaskedClassifier), Backend.Cpu },
        { nameof(MaskedClassifier), Backend.IlgpuCpu },
        { nameof(ConvRegressor), Backend.Cpu },
        { nameof(LeNet), Backend.Cpu },
    };

    [Theory]
    [MemberData(nameof(Networks))]
    public void Training_resumed_from_a_saved_model_with_momentum_matches_training_in_one_go(string network, Backend backend)
    {
        using Network oneGo = TestNetworkCatalog.Create(network, backend);
        Dataset data = RandomData(oneGo.Architecture);
        oneGo.Fit(data, Sgd, epochs: 3, BatchSize, ShuffleSeed);

        using Network firstPart = TestNetworkCatalog.Create(network, backend);
        firstPart.Fit(data, Sgd, epochs: 2, BatchSize, ShuffleSeed);
        byte[] file = ModelFileTests.SaveToBytes(firstPart, includeMomentum: true);
        using Network resumed = TestNetworkCatalog.Load(network, new MemoryStream(file), backend);
        IReadOnlyList<EpochReport> reports = resumed.Fit(data, Sgd, epochs: 1, BatchSize, ShuffleSeed, firstEpoch: 3);

        Assert.Equal(ModelFileTests.Bits(ModelFileTests.Parameters(oneGo)), ModelFileTests.Bits(ModelFileTests.Parameters(resumed)));
        Assert.Equal((3, 3), (reports[0].Epoch, reports[0].Epochs));
    }

    [Fact]
    public void Training_resumed_without_momentum_takes_a_different_path()
    {
        Dataset data = RandomData(MaskedClassifier.Definition);
        using var oneGo = new MaskedClassifier(seed: 1, Backend.IlgpuCpu);
        oneGo.Fit(data, Sgd, epochs: 3, BatchSize, ShuffleSeed);

        using var firstPart = new MaskedClassifier(seed: 1, Backend.IlgpuCpu);
        firstPart.Fit(data, Sgd, epochs: 2, BatchSize, ShuffleSeed);
        using var resumed = MaskedClassifier.Load(new MemoryStream(ModelFileTests.SaveToBytes(firstPart)), Backend.IlgpuCpu);
        resumed.Fit(data, Sgd, epochs: 1, BatchSize, ShuffleSeed, firstEpoch: 3);

        Assert.NotEqual(ModelFileTests.Bits(ModelFileTests.Parameters(oneGo)), ModelFileTests.Bits(ModelFileTests.Parameters(resumed)));
    }

    [Fact]
    public void Each_epoch_visits_the_samples_in_an_order_of_its_own()
    {
        Dataset data = RandomData(MaskedClassifier.Definition);
        float[] AfterOneEpoch(int firstEpoch)
        {
            using var net = new MaskedClassifier(seed: 1, Backend.IlgpuCpu);
            net.Fit(data, new Sgd(0.05f), epochs: 1, BatchSize, ShuffleSeed, firstEpoch: firstEpoch);
            return ModelFileTests.Parameters(net);
        }

        Assert.Equal(AfterOneEpoch(2), AfterOneEpoch(2));
        Assert.NotEqual(AfterOneEpoch(1), AfterOneEpoch(2));
    }

    /// <summary>Inputs in [-1, 1), with class labels or with targets in [-1, 1), as the network's loss takes.</summary>
    private static Dataset RandomData(NetworkArchitecture architecture)
    {
        var random = new Random(3);
        float[] features = [.. Enumerable.Range(0, Samples * architecture.InputSize).Select(_ => (float)random.NextDouble() * 2 - 1)];
        if (architecture.Target == LossTarget.FloatTargets)
        {
            float[] targets = [.. Enumerable.Range(0, Samples * architecture.OutputSize).Select(_ => (float)random.NextDouble() * 2 - 1)];
            return Dataset.ForRegression(features, targets, architecture.InputSize, architecture.OutputSize);
        }

        int[] labels = [.. Enumerable.Range(0, Samples).Select(_ => random.Next(architecture.OutputSize))];
        return Dataset.ForClassification(features, labels, architecture.InputSize);
    }
}
