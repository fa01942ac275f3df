// The GPU check, run by scripts/gpu-check.sh on a machine with an NVIDIA GPU. The project references FusedNets.Gpu,
// whose backends the generator registers here, as in any user's project:
//   1. every test network trains on the GPU backend to the same parameters as on the CPU backend;
//   2. training throughput of the configurations PyTorch is compared against (scripts/pytorch_baseline.py).
// Usage: FusedNets.GpuCheck [--backend cuda|opencl|ilgpu-cpu] [--quick]
// --quick shrinks the data sets so the whole check runs on ILGPU's CPU simulator, to test the check itself.
using System.Diagnostics;
using System.Globalization;
using FusedNets;
using FusedNets.Data;
using FusedNets.Tests.Networks;

namespace FusedNets.GpuCheck;

// 784-128-128-10 is the test networks' MnistMlp; the other two sizes are declared here.

[Network(Loss = Loss.MeanSquaredError)]
public partial class Regressor64
{
    [Input(784)] public partial Layer Pixels { get; }
    [Dense(64, Activation.Relu)] public partial Layer Hidden1 { get; }
    [Dense(64, Activation.Relu)] public partial Layer Hidden2 { get; }
    [Dense(64, Activation.Relu)] public partial Layer Hidden3 { get; }
    [Dense(64, Activation.Relu)] public partial Layer Hidden4 { get; }
    [Dense(1)] public partial Layer Value { get; }
}

[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class Mlp1024
{
    [Input(784)] public partial Layer Pixels { get; }
    [Dense(1024, Activation.Relu)] public partial Layer Hidden1 { get; }
    [Dense(1024, Activation.Relu)] public partial Layer Hidden2 { get; }
    [Dense(10)] public partial Layer Logits { get; }
}

public static class Program
{
    private static readonly Sgd Sgd = new(0.01f, momentum: 0.9f);

    public static int Main(string[] args)
    {
        Backend backend = args.SkipWhile(arg => arg != "--backend").Skip(1).FirstOrDefault() switch
        {
            null or "cuda" => Backend.Cuda,
            "opencl" => Backend.OpenCL,
            "ilgpu-cpu" => Backend.IlgpuCpu,
            var other => throw new ArgumentException($"Unknown backend '{other}'."),
        };
        bool quick = args.Contains("--quick");

        bool allMatch = true;
        foreach ((string name, Func<Backend, Network> create) in TestNetworks(quick))
        {
            allMatch &= CheckAgainstCpu(name, create, backend);
        }

        int scale = quick ? 64 : 1;
        Throughput("784-128-128-10/b64", b => new MnistMlp(0, b), backend, samples: 60_000 / scale, batch: 64 / Math.Min(scale, 8));
        Throughput("784-128-128-10/b4096", b => new MnistMlp(0, b), backend, samples: 61_440 / scale, batch: 4096 / scale);
        Throughput("784-64-64-64-64-1/b16384", b => new Regressor64(0, b), backend, samples: 65_536 / scale, batch: 16_384 / scale);
        Throughput("784-1024-1024-10/b4096", b => new Mlp1024(0, b), backend, samples: 61_440 / scale, batch: 4096 / scale);
        return allMatch ? 0 : 1;
    }

    /// <summary>The test networks; with <paramref name="quick"/>, without LeNet, whose training takes minutes on ILGPU's CPU simulator.</summary>
    private static IEnumerable<(string, Func<Backend, Network>)> TestNetworks(bool quick) =>
    [
        (nameof(EveryActivationClassifier), b => new EveryActivationClassifier(7, b)),
        (nameof(TinyRegressor), b => new TinyRegressor(7, b)),
        (nameof(MaskedClassifier), b => new MaskedClassifier(7, b)),
        (nameof(TiledClassifier), b => new TiledClassifier(7, b)),
        (nameof(WideRegressor), b => new WideRegressor(7, b)),
        (nameof(MnistMlp), b => new MnistMlp(7, b)),
        (nameof(ConvRegressor), b => new ConvRegressor(7, b)),
        .. quick ? [] : new (string, Func<Backend, Network>)[] { (nameof(LeNet), b => new LeNet(7, b)) },
    ];

    /// <summary>Trains one epoch of 5 batches on both backends from the same seed; prints the largest differences.</summary>
    private static bool CheckAgainstCpu(string name, Func<Backend, Network> create, Backend backend)
    {
        using Network gpu = create(backend), cpu = create(Backend.Cpu);
        Dataset data = RandomData(gpu.Architecture, count: 5 * 24 + 7, seed: 1);
        gpu.Fit(data, Sgd, epochs: 1, batchSize: 24, shuffleSeed: 3);
        cpu.Fit(data, Sgd, epochs: 1, batchSize: 24, shuffleSeed: 3);

        float[] gpuParameters = Parameters(gpu), cpuParameters = Parameters(cpu);
        var outputsGpu = new float[data.Count * gpu.Architecture.OutputSize];
        var outputsCpu = new float[outputsGpu.Length];
        gpu.Predict(data.Features, outputsGpu);
        cpu.Predict(data.Features, outputsCpu);

        double parameterError = RelativeError(cpuParameters, gpuParameters);
        double outputError = RelativeError(outputsCpu, outputsGpu);
        bool ok = parameterError < 1e-3 && outputError < 1e-3;
        Console.WriteLine(Invariant($"check network={name} device=\"{gpu.DeviceName}\" parameters_max_error={parameterError:E2} outputs_max_error={outputError:E2} {(ok ? "ok" : "MISMATCH")}"));
        return ok;
    }

    /// <summary>One warm-up epoch (kernel compilation, data upload), then the mean samples/s of two timed epochs.</summary>
    private static void Throughput(string config, Func<Backend, Network> create, Backend backend, int samples, int batch)
    {
        using Network net = create(backend);
        Dataset data = RandomData(net.Architecture, samples, seed: 2);
        net.Fit(data, Sgd, epochs: 1, batchSize: batch);
        long start = Stopwatch.GetTimestamp();
        net.Fit(data, Sgd, epochs: 2, batchSize: batch, firstEpoch: 2);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        Console.WriteLine(Invariant($"throughput config={config} fusednets_samples_per_s={2 * samples / seconds:F0}"));
    }

    private static Dataset RandomData(NetworkArchitecture architecture, int count, int seed)
    {
        var random = new Random(seed);
        float[] features = new float[count * architecture.InputSize];
        for (int i = 0; i < features.Length; i++)
        {
            features[i] = random.NextSingle();
        }

        if (architecture.Loss == Loss.SoftmaxCrossEntropy)
        {
            int[] labels = [.. Enumerable.Range(0, count).Select(_ => random.Next(architecture.OutputSize))];
            return Dataset.ForClassification(features, labels, architecture.InputSize);
        }

        float[] targets = [.. Enumerable.Range(0, count * architecture.OutputSize).Select(_ => random.NextSingle())];
        return Dataset.ForRegression(features, targets, architecture.InputSize, architecture.OutputSize);
    }

    private static float[] Parameters(Network net)
    {
        var parameters = new float[net.Architecture.ParameterCount];
        net.CopyParametersTo(parameters);
        return parameters;
    }

    /// <summary>max |a - b| / (1 + |a|): relative for large values, absolute near zero.</summary>
    private static double RelativeError(float[] expected, float[] actual) =>
        expected.Zip(actual, (e, a) => Math.Abs(e - a) / (1 + Math.Abs(e))).DefaultIfEmpty(0).Max();

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
