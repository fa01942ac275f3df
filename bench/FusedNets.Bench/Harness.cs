using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FusedNets.Bench;

/// <summary>One configuration's numbers, printed once the peak they are compared with is known.</summary>
internal sealed record Result(string Config, string Engine, double SamplesPerSecond, double Gflops, double LatencyMicroseconds, double AllocatedBytesPerStep);

/// <summary>An ensemble's members trained one after another and together, in member samples per second.</summary>
internal sealed record EnsembleResult(string Config, double SequentialSamplesPerSecond, double EnsembleSamplesPerSecond, double AllocatedBytesPerStep);

/// <summary>How long to warm up and how many timed rounds to take; each result is the best round.</summary>
internal sealed record Settings(double WarmUpSeconds, double RoundSeconds, int Rounds, int PeakRounds)
{
    public static Settings Full { get; } = new(WarmUpSeconds: 0.6, RoundSeconds: 0.4, Rounds: 9, PeakRounds: 5);

    public static Settings Quick { get; } = new(WarmUpSeconds: 0.3, RoundSeconds: 0.15, Rounds: 3, PeakRounds: 2);
}

/// <summary>
/// Measures one network: warm-up (tiered compilation, the engine's workspace, the worker pool), then timed
/// rounds of back-to-back steps. Taking the best round keeps other processes' bursts on a shared machine
/// out of the number; the allocation count covers every timed step.
/// </summary>
internal sealed class Harness(Settings settings)
{
    private const int InputSize = 784;
    private const int Classes = 10;

    // Distinct batches, cycled, so that no step sees the exact data of the one before.
    private const int BatchCount = 8;

    public Result Run<TNetwork, TInput, TOutput>(string config, int batchSize, TNetwork network)
        where TNetwork : Network, IBenchmarkedNetwork<TInput, TOutput>
        where TInput : unmanaged
        where TOutput : unmanaged
    {
        using (network)
        {
            (float[] inputs, int[] labels) = MnistShapedData(batchSize * BatchCount, seed: 7);
            var sgd = new Sgd(0.01f, momentum: 0.9f);
            double samplesPerSecond = TrainingThroughput<TNetwork, TInput, TOutput>(network, inputs, labels, batchSize, sgd, out double allocatedPerStep);
            double latency = PredictLatencyMicroseconds<TNetwork, TInput, TOutput>(network, inputs);

            // Only weights that train count: a masked layer's fixed zeros are work its kernels need not do.
            long flopsPerSample = 6L * network.Architecture.Layers.Sum(KeptMultiplyAdds);
            return new Result(config, network.DeviceName, samplesPerSecond, samplesPerSecond * flopsPerSample / 1e9, latency, allocatedPerStep);
        }
    }

    /// <summary>
    /// <paramref name="members"/> networks of <typeparamref name="TNetwork"/> at <paramref name="batchSize"/>: trained one
    /// after another (each network its round of steps, then the next), and as one <see cref="Ensemble{TNetwork}"/> taking
    /// the same steps for all members at once, rounds alternating. Both rates count each member's samples.
    /// </summary>
    public EnsembleResult RunEnsemble<TNetwork>(string config, int members, int batchSize)
        where TNetwork : Network, IDeclaredNetwork<TNetwork>, IBenchmarkedNetwork
    {
        (float[] inputs, int[] labels) = MnistShapedData(batchSize * BatchCount, seed: 7);
        var sgd = new Sgd(0.01f, momentum: 0.9f);
        TNetwork[] networks = [.. Enumerable.Range(0, members).Select(i => TNetwork.Create(1 + i, Backend.Cpu))];
        using var ensemble = new Ensemble<TNetwork>(members, seed: 1, Backend.Cpu);
        try
        {
            int step = 0;
            float OneAfterAnother(int count)
            {
                float loss = 0;
                foreach (TNetwork network in networks)
                {
                    for (int i = 0; i < count; i++)
                    {
                        int batch = (step + i) % BatchCount;
                        loss += network.TrainBatch(inputs.AsSpan(batch * batchSize * InputSize, batchSize * InputSize), labels.AsSpan(batch * batchSize, batchSize), sgd);
                    }
                }

                step += count;
                return loss;
            }

            float Together(int count)
            {
                float loss = 0;
                for (int i = 0; i < count; i++, step++)
                {
                    int batch = step % BatchCount;
                    loss += ensemble.TrainBatch(inputs.AsSpan(batch * batchSize * InputSize, batchSize * InputSize), labels.AsSpan(batch * batchSize, batchSize), sgd);
                }

                return loss;
            }

            int sequentialSteps = Calibrate(count => OneAfterAnother(count));
            int ensembleSteps = Calibrate(count => Together(count));
            double sequential = 0, together = 0;
            long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            for (int round = 0; round < settings.Rounds; round++)
            {
                long start = Stopwatch.GetTimestamp();
                OneAfterAnother(sequentialSteps);
                sequential = Math.Max(sequential, (double)members * sequentialSteps * batchSize / Stopwatch.GetElapsedTime(start).TotalSeconds);
                start = Stopwatch.GetTimestamp();
                Together(ensembleSteps);
                together = Math.Max(together, (double)members * ensembleSteps * batchSize / Stopwatch.GetElapsedTime(start).TotalSeconds);
            }

            double allocatedPerStep = (double)(GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / ((members * sequentialSteps + ensembleSteps) * settings.Rounds);
            return new EnsembleResult(config, sequential, together, allocatedPerStep);
        }
        finally
        {
            foreach (TNetwork network in networks)
            {
                network.Dispose();
            }
        }
    }

    private static long KeptMultiplyAdds(LayerArchitecture layer) => LayerMask.ArrayOf(layer) is { } mask
        ? layer.ForwardMultiplyAdds * mask.Count(keep => keep != 0) / mask.Length
        : layer.ForwardMultiplyAdds;

    private double TrainingThroughput<TNetwork, TInput, TOutput>(TNetwork network, float[] inputs, int[] labels, int batchSize, Sgd sgd, out double allocatedPerStep)
        where TNetwork : Network, IBenchmarkedNetwork<TInput, TOutput>
        where TInput : unmanaged
        where TOutput : unmanaged
    {
        int step = 0;
        float TrainSteps(int count)
        {
            float loss = 0;
            for (int i = 0; i < count; i++, step++)
            {
                int batch = step % BatchCount;
                loss += network.TrainBatch(
                    inputs.AsSpan(batch * batchSize * InputSize, batchSize * InputSize),
                    labels.AsSpan(batch * batchSize, batchSize),
                    sgd);
            }

            return loss;
        }

        int stepsPerRound = Calibrate(count => TrainSteps(count));
        double best = 0;
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        for (int round = 0; round < settings.Rounds; round++)
        {
            long start = Stopwatch.GetTimestamp();
            TrainSteps(stepsPerRound);
            best = Math.Max(best, stepsPerRound * batchSize / Stopwatch.GetElapsedTime(start).TotalSeconds);
        }

        allocatedPerStep = (double)(GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / (stepsPerRound * settings.Rounds);
        return best;
    }

    private double PredictLatencyMicroseconds<TNetwork, TInput, TOutput>(TNetwork network, float[] inputs)
        where TNetwork : Network, IBenchmarkedNetwork<TInput, TOutput>
        where TInput : unmanaged
        where TOutput : unmanaged
    {
        TInput sample = MemoryMarshal.Read<TInput>(MemoryMarshal.AsBytes(inputs.AsSpan(0, InputSize)));
        float PredictMany(int count)
        {
            float sink = 0;
            for (int i = 0; i < count; i++)
            {
                TOutput output = network.Predict(in sample);
                sink += Unsafe.As<TOutput, float>(ref output);
            }

            return sink;
        }

        int callsPerRound = Calibrate(count => PredictMany(count));
        double best = double.MaxValue;
        for (int round = 0; round < settings.Rounds; round++)
        {
            long start = Stopwatch.GetTimestamp();
            PredictMany(callsPerRound);
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalMicroseconds / callsPerRound);
        }

        return best;
    }

    /// <summary>Runs <paramref name="work"/> for the warm-up time and returns how many calls fill one round.</summary>
    private int Calibrate(Func<int, float> work)
    {
        long start = Stopwatch.GetTimestamp();
        int calls = 0;
        for (int chunk = 1; Stopwatch.GetElapsedTime(start).TotalSeconds < settings.WarmUpSeconds; chunk = Math.Min(chunk * 2, 1024))
        {
            work(chunk);
            calls += chunk;
        }

        double secondsPerCall = Stopwatch.GetElapsedTime(start).TotalSeconds / calls;
        return Math.Max(1, (int)(settings.RoundSeconds / secondsPerCall));
    }

    /// <summary>Pixels in [0, 1) with a label each: MNIST's shapes and value range, from a fixed seed.</summary>
    private static (float[] Inputs, int[] Labels) MnistShapedData(int samples, int seed)
    {
        var random = new Random(seed);
        var inputs = new float[samples * InputSize];
        var labels = new int[samples];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = random.NextSingle();
        }

        for (int i = 0; i < samples; i++)
        {
            labels[i] = random.Next(Classes);
        }

        return (inputs, labels);
    }
}
