// Handwritten digits, end to end with FusedNets.
//
// A network is a partial class whose Layer properties, in declaration order, are its layers. At compile
// time the FusedNets source generator reads the attributes, checks that every layer's shape fits the one
// before it, and writes the rest of the class: a constructor, the sizes as constants, a typed TrainBatch,
// and the training kernels. Training and evaluation come from the base class, FusedNets.Network.
//
// Run it:
//   dotnet run --project samples/HandwrittenDigits -c Release                 the 8×8 digits built into this program
//   dotnet run --project samples/HandwrittenDigits -c Release -- --data DIR   MNIST, from its four IDX files in DIR
// Options: --epochs N  --batch N  --lr X  --momentum X  --backend auto|cpu|cuda|opencl|ilgpu-cpu  --seed N
//
// The last line it prints is for scripts: test_acc=0.XXXX train_samples_per_s=N

using System.Globalization;
using FusedNets;
using FusedNets.Data;

// Step 1: declare the networks. Both are classifiers: the last layer gives one score (a logit) per digit,
// and training applies softmax and cross-entropy to those scores.

/// <summary>For the 8×8 digits: 64 pixels, 64 hidden units, 10 logits.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class DigitsMlp
{
    [Input(64)] public partial Layer Pixels { get; }
    [Dense(64, Activation.Relu)] public partial Layer Hidden { get; }
    [Dense(10)] public partial Layer Logits { get; }
}

/// <summary>For MNIST's 28×28 digits: 784 pixels, two hidden layers of 128 units, 10 logits.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class MnistMlp
{
    [Input(784)] public partial Layer Pixels { get; }
    [Dense(128, Activation.Relu)] public partial Layer Hidden1 { get; }
    [Dense(128, Activation.Relu)] public partial Layer Hidden2 { get; }
    [Dense(10)] public partial Layer Logits { get; }
}

public static class Program
{
    public static int Main(string[] args)
    {
        // Numbers print the same on every machine: scripts read the last line.
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

        Options options;
        try
        {
            options = Options.Parse(args);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"HandwrittenDigits: {e.Message} (--help lists the options)");
            return 2;
        }

        if (options.Help)
        {
            Console.WriteLine(Options.Usage);
            return 0;
        }

        try
        {
            return options.DataDirectory is null ? TrainOnSmallDigits(options) : TrainOnMnist(options.DataDirectory, options);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException)
        {
            // A missing or malformed file, or a backend this machine lacks: say which, without a stack trace.
            Console.Error.WriteLine($"HandwrittenDigits: {e.Message}");
            return 1;
        }
    }

    /// <summary>1797 digits of 8×8 pixels, built into this program: a few seconds of training on a CPU.</summary>
    private static int TrainOnSmallDigits(Options options)
    {
        // Step 2: the data. Each row of digits.csv.gz is 64 pixels, each counting the inked squares of a 4×4
        // block (0..16), then the digit. Dividing by 16 brings the pixels into [0, 1].
        Dataset digits;
        using (Stream file = typeof(Program).Assembly.GetManifestResourceStream("digits.csv.gz")
            ?? throw new IOException("digits.csv.gz is missing from the program's resources."))
        {
            digits = Csv.ReadClassification(file, featureScale: 1f / 16, name: "digits.csv.gz");
        }

        // Hold a fifth of the images back: accuracy on images the network never trained on is the honest number.
        (Dataset train, Dataset test) = digits.Split(0.2, options.Seed);

        // Step 3: create the network. Its parameters start random, from the seed.
        using var network = new DigitsMlp(options.Seed, options.Backend);

        // A known answer before anything is timed: the generator's parameter count matches one by hand,
        // each dense layer having a weight per (output, input) pair and a bias per output.
        CheckParameterCount(DigitsMlp.ParameterCount, (64 * 64 + 64) + (64 * 10 + 10));

        // Step 4: train with SGD and momentum, then measure on the held-back images.
        var sgd = new Sgd(options.LearningRate ?? 0.05f, options.Momentum ?? 0.9f);
        return Train(network, train, test, sgd, options.Epochs ?? 30, options.BatchSize ?? 32, options.Seed);
    }

    /// <summary>MNIST's 60,000 training and 10,000 test digits of 28×28 pixels, read from IDX files.</summary>
    private static int TrainOnMnist(string directory, Options options)
    {
        // Mnist.Load reads the four files, plain or .gz, and scales the pixels from 0..255 to [0, 1].
        (Dataset train, Dataset test) = Mnist.Load(directory);

        using var network = new MnistMlp(options.Seed, options.Backend);
        CheckParameterCount(MnistMlp.ParameterCount, (784 * 128 + 128) + (128 * 128 + 128) + (128 * 10 + 10));

        var sgd = new Sgd(options.LearningRate ?? 0.05f, options.Momentum ?? 0.9f);
        return Train(network, train, test, sgd, options.Epochs ?? 10, options.BatchSize ?? 64, options.Seed);
    }

    /// <summary>Fits any network to <paramref name="train"/>, printing each epoch, then evaluates it on <paramref name="test"/>.</summary>
    private static int Train(Network network, Dataset train, Dataset test, Sgd sgd, int epochs, int batchSize, int seed)
    {
        Console.WriteLine($"{network.Architecture.Name}: {network.Architecture.ParameterCount:N0} parameters on {network.DeviceName} ({network.Backend})");
        Console.WriteLine($"{train.Count:N0} training and {test.Count:N0} test images; epochs: {epochs}, batch size: {batchSize}, {sgd}");

        // Before training the network guesses: about one test image in ten comes out right.
        Console.WriteLine($"untrained: test accuracy {network.Evaluate(test).Accuracy:F4}");

        IReadOnlyList<EpochReport> epochReports = network.Fit(train, sgd, epochs, batchSize, shuffleSeed: seed, onEpoch: report =>
            Console.WriteLine($"epoch {report.Epoch,3}/{report.Epochs}  loss {report.Loss:F4}  {report.SamplesPerSecond,12:N0} samples/s"));

        Evaluation result = network.Evaluate(test);
        float accuracy = result.Accuracy ?? 0; // a classifier always has one
        Console.WriteLine($"test: loss {result.Loss:F4}, accuracy {accuracy:F4} ({Math.Round(accuracy * result.Count):N0} of {result.Count:N0} right)");

        // Throughput: the mean over epochs, so the first epoch's one-time warm-up (compiling, allocating)
        // does not dominate a short run.
        double samplesPerSecond = epochReports.Average(report => report.SamplesPerSecond);
        Console.WriteLine($"test_acc={accuracy:F4} train_samples_per_s={samplesPerSecond:F0}");
        return 0;
    }

    private static void CheckParameterCount(int generated, int byHand)
    {
        if (generated != byHand)
        {
            throw new InvalidOperationException($"The generator counted {generated} parameters; by hand there are {byHand}.");
        }
    }
}

/// <summary>The command line. A null setting takes the default of the data set being trained on.</summary>
internal sealed record Options(
    string? DataDirectory, int? Epochs, int? BatchSize, float? LearningRate, float? Momentum, Backend Backend, int Seed, bool Help)
{
    public const string Usage = """
        Usage: HandwrittenDigits [--data DIR] [options]
          (no --data)   train DigitsMlp on the 8x8 digits built into this program
          --data DIR    train MnistMlp on MNIST's IDX files in DIR (train-images-idx3-ubyte and the others, plain or .gz)
          --epochs N    passes over the training set (digits: 30, MNIST: 10)
          --batch N     samples per SGD step (digits: 32, MNIST: 64)
          --lr X        learning rate (0.05)
          --momentum X  SGD momentum in [0, 1) (0.9)
          --backend B   auto, cpu, cuda, opencl or ilgpu-cpu (auto)
          --seed N      seeds the parameters, the split and the shuffling (0)
        """;

    private static readonly Dictionary<string, Backend> s_backends = new()
    {
        ["auto"] = Backend.Auto,
        ["cpu"] = Backend.Cpu,
        ["cuda"] = Backend.Cuda,
        ["opencl"] = Backend.OpenCL,
        ["ilgpu-cpu"] = Backend.IlgpuCpu,
    };

    /// <summary>Reads "--name value" pairs; anything else is a <see cref="UsageException"/>.</summary>
    public static Options Parse(string[] args)
    {
        if (args is ["--help"] or ["-h"])
        {
            return new Options(null, null, null, null, null, Backend.Auto, 0, Help: true);
        }

        var values = new Dictionary<string, string>();
        for (int i = 0; i < args.Length; i += 2)
        {
            string name = args[i];
            if (name is not ("--data" or "--epochs" or "--batch" or "--lr" or "--momentum" or "--backend" or "--seed"))
            {
                throw new UsageException($"unknown argument '{name}'");
            }

            if (i + 1 == args.Length)
            {
                throw new UsageException($"{name} needs a value");
            }

            values[name] = args[i + 1];
        }

        string? backendName = values.GetValueOrDefault("--backend");
        Backend backend = Backend.Auto;
        if (backendName is not null && !s_backends.TryGetValue(backendName, out backend))
        {
            throw new UsageException($"--backend must be one of {string.Join(", ", s_backends.Keys)}, not '{backendName}'");
        }

        return new Options(
            DataDirectory: values.GetValueOrDefault("--data"),
            Epochs: ParseInt(values, "--epochs", minimum: 1),
            BatchSize: ParseInt(values, "--batch", minimum: 1),
            LearningRate: ParseFloat(values, "--lr", value => value > 0, "a number above 0"),
            Momentum: ParseFloat(values, "--momentum", value => value is >= 0 and < 1, "a number in [0, 1)"),
            Backend: backend,
            Seed: ParseInt(values, "--seed", minimum: int.MinValue) ?? 0,
            Help: false);
    }

    private static int? ParseInt(Dictionary<string, string> values, string name, int minimum)
    {
        if (!values.TryGetValue(name, out string? text))
        {
            return null;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < minimum)
        {
            throw new UsageException(minimum == 1 ? $"{name} must be a whole number of at least 1, not '{text}'" : $"{name} must be a whole number, not '{text}'");
        }

        return value;
    }

    private static float? ParseFloat(Dictionary<string, string> values, string name, Func<float, bool> isValid, string expected)
    {
        if (!values.TryGetValue(name, out string? text))
        {
            return null;
        }

        if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) || !float.IsFinite(value) || !isValid(value))
        {
            throw new UsageException($"{name} must be {expected}, not '{text}'");
        }

        return value;
    }
}

/// <summary>A command line that cannot be run: one line on stderr and exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
