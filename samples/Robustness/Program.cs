// Robustness and interpretability of a digit classifier, end to end with FusedNets.
//
// Trains the same network twice, once ordinarily and once with certified training (interval bound propagation,
// Gowal et al. 2018), then measures both: clean accuracy, accuracy under the FGSM and PGD attacks at several radii,
// and the accuracy that interval bounds certify at ε = 0.1. Integrated gradients of a few test digits, for both
// networks, go to PNG images. docs/research.md says what each number means and which papers the methods follow.
//
// Run it:
//   dotnet run --project samples/Robustness -c Release                  the 8×8 digits built into this program
//   dotnet run --project samples/Robustness -c Release -- --data DIR    MNIST, from its four IDX files in DIR
//   dotnet run --project samples/Robustness -c Release -- --help        every option
//
// The last line is for scripts: the certified-trained network's clean_acc=... pgd_acc=... certified_acc=... epsilon=0.1

using System.Diagnostics;
using System.Globalization;
using FusedNets;
using FusedNets.Data;

/// <summary>For the 8×8 digits: 64 pixels, 128 hidden units, 10 logits.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class SmallDigitsMlp
{
    [Input(64)] public partial Layer Pixels { get; }
    [Dense(128, Activation.Relu)] public partial Layer Hidden { get; }
    [Dense(10)] public partial Layer Logits { get; }
}

/// <summary>For MNIST: 784 pixels, two hidden layers of 256 units, 10 logits.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class MnistRobustMlp
{
    [Input(784)] public partial Layer Pixels { get; }
    [Dense(256, Activation.Relu)] public partial Layer Hidden1 { get; }
    [Dense(256, Activation.Relu)] public partial Layer Hidden2 { get; }
    [Dense(10)] public partial Layer Logits { get; }
}

/// <summary>
/// For MNIST as images, after Gowal et al.'s "small" model (two 4 × 4 convolutions of 16 and 32 filters, a hidden layer
/// of 100, 10 logits), its second convolution with stride 2 as the first's, which keeps certified training within
/// minutes on two cores.
/// </summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class MnistRobustConvNet
{
    [Input(1, 28, 28)] public partial Layer Pixels { get; }
    [Conv2D(16, 4, Activation.Relu, Stride = 2, Padding = 1)] public partial Layer Conv1 { get; }
    [Conv2D(32, 4, Activation.Relu, Stride = 2, Padding = 1)] public partial Layer Conv2 { get; }
    [Dense(100, Activation.Relu)] public partial Layer Hidden { get; }
    [Dense(10)] public partial Layer Logits { get; }
}

public static class Program
{
    /// <summary>The radius the last line and the certified column report, Gowal et al.'s smaller MNIST radius.</summary>
    private const float Epsilon = 0.1f;

    private static readonly float[] s_attackRadii = [0.05f, 0.1f, 0.2f];

    public static int Main(string[] args)
    {
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        Dictionary<string, string> options;
        try
        {
            options = ParseOptions(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"Robustness: {e.Message} (--help lists the options)");
            return 2;
        }

        if (options.ContainsKey("--help"))
        {
            Console.WriteLine(Usage);
            return 0;
        }

        try
        {
            return Run(options);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or FormatException)
        {
            Console.Error.WriteLine($"Robustness: {e.Message}");
            return 1;
        }
    }

    private const string Usage = """
        Usage: Robustness [--data DIR] [options]
          (no --data)       the 8x8 digits built into this program
          --data DIR        MNIST's IDX files in DIR (train-images-idx3-ubyte and the others, plain or .gz)
          --model M         mlp or conv (MNIST only; mlp)
          --epochs N        epochs of each training run (digits: 40, MNIST: 4)
          --train N         train on the first N training images (all)
          --test N          attack and certify the first N test images (digits: all, MNIST: 2000)
          --train-epsilon X certified training's final radius (0.2, twice the certified radius, as Gowal et al.)
          --plots DIR       where the attribution maps go (attributions)
          --seed N          seeds the parameters, the split and the shuffling (0)
          --help            print this text
        """;

    private static int Run(Dictionary<string, string> options)
    {
        int seed = Int(options, "--seed", 0);
        string? directory = options.GetValueOrDefault("--data");
        (Dataset train, Dataset test, int side) = directory is null ? SmallDigits(seed) : Mnist(directory);
        train = First(train, Int(options, "--train", train.Count));
        test = First(test, Int(options, "--test", directory is null ? test.Count : 2000));
        int epochs = Int(options, "--epochs", directory is null ? 40 : 4);
        string model = options.GetValueOrDefault("--model", "mlp");
        if (model is not ("mlp" or "conv") || (model == "conv" && directory is null))
        {
            throw new FormatException($"--model must be mlp or conv (conv with --data), not '{model}'");
        }

        Network Create() => (directory, model) switch
        {
            (null, _) => new SmallDigitsMlp(seed, Backend.Cpu),
            (_, "conv") => new MnistRobustConvNet(seed, Backend.Cpu),
            _ => new MnistRobustMlp(seed, Backend.Cpu),
        };

        // Gowal et al.'s schedule, shortened to the run: ordinary training for the first sixteenth of the steps, then ε
        // and κ ramp linearly over half of them, and the rest trains at ε_train (by default 2 ε_test, their MNIST setting
        // for ε = 0.1) with κ = 0.5. The boxes stay inside the pixels' range [0, 1].
        const int BatchSize = 100;
        int steps = epochs * ((train.Count + BatchSize - 1) / BatchSize);
        var certifiedTraining = new CertifiedTraining(Float(options, "--train-epsilon", 2 * Epsilon), rampSteps: steps / 2, warmupSteps: steps / 16, finalKappa: 0.5f, clipMin: 0, clipMax: 1);

        Console.WriteLine($"{(directory is null ? "8×8 digits" : "MNIST")}: {train.Count:N0} training and {test.Count:N0} test images; {epochs} epochs of batches of {BatchSize}, SGD 0.05 with momentum 0.9");
        var rows = new List<(string Name, Measures Measures)>();
        Measures? certifiedMeasures = null;
        foreach ((string name, RobustTraining? robust) in new (string, RobustTraining?)[] { ("standard", null), ("certified (IBP)", certifiedTraining) })
        {
            using Network network = Create();
            var clock = Stopwatch.StartNew();
            network.Fit(train, new Sgd(0.05f, momentum: 0.9f), epochs, BatchSize, shuffleSeed: seed, robustTraining: robust);
            Console.WriteLine($"{name}: {network.Architecture.Name}, {network.Architecture.ParameterCount:N0} parameters, trained in {clock.Elapsed.TotalSeconds:F0} s{(robust is null ? "" : $" with {robust}")}");
            Measures measures = Measure(network, test);
            rows.Add((name, measures));
            certifiedMeasures = measures;
            string plots = options.GetValueOrDefault("--plots", "attributions");
            foreach (string file in AttributionMaps.Save(network, test, side, Path.Combine(plots, name.Split(' ')[0])))
            {
                Console.WriteLine($"  attributions: {file}");
            }
        }

        PrintTable(rows);
        Measures last = certifiedMeasures!;
        Console.WriteLine($"clean_acc={last.Clean:F4} pgd_acc={last.Pgd[Array.IndexOf(s_attackRadii, Epsilon)]:F4} certified_acc={last.Certified:F4} epsilon={Epsilon}");
        return 0;
    }

    /// <summary>Clean accuracy, FGSM and PGD accuracy at each radius, and the accuracy certified at <see cref="Epsilon"/>.</summary>
    private sealed record Measures(float Clean, float[] Fgsm, float[] Pgd, float Certified);

    private static Measures Measure(Network network, Dataset test)
    {
        float Accuracy(float[] inputs) => network.Evaluate(Dataset.ForClassification(inputs, test.Labels.ToArray(), test.FeatureCount)).Accuracy ?? 0;

        var fgsm = new float[s_attackRadii.Length];
        var pgd = new float[s_attackRadii.Length];
        var examples = new float[test.Features.Length];
        for (int r = 0; r < s_attackRadii.Length; r++)
        {
            float epsilon = s_attackRadii[r];
            Robustness.Fgsm(network, test.Features, test.Labels, epsilon, examples, clipMin: 0, clipMax: 1);
            fgsm[r] = Accuracy(examples);

            // Madry et al.'s MNIST attack scaled to the radius: 40 steps of ε / 10 from a random start.
            Robustness.Pgd(network, test.Features, test.Labels, epsilon, steps: 40, stepSize: epsilon / 10, examples, seed: 1, clipMin: 0, clipMax: 1);
            pgd[r] = Accuracy(examples);
        }

        return new Measures(network.Evaluate(test).Accuracy ?? 0, fgsm, pgd, Robustness.CertifiedAccuracy(network, test, Epsilon, clipMin: 0, clipMax: 1));
    }

    private static void PrintTable(List<(string Name, Measures Measures)> rows)
    {
        var header = new List<string> { "training", "clean" };
        header.AddRange(s_attackRadii.Select(e => $"FGSM {e}"));
        header.AddRange(s_attackRadii.Select(e => $"PGD {e}"));
        header.Add($"certified {Epsilon}");
        var lines = rows.Select(row => (IReadOnlyList<string>)[row.Name, F(row.Measures.Clean), .. row.Measures.Fgsm.Select(F), .. row.Measures.Pgd.Select(F), F(row.Measures.Certified)]).ToList();
        int[] widths = [.. header.Select((h, c) => Math.Max(h.Length, lines.Max(line => line[c].Length)))];
        Console.WriteLine();
        Console.WriteLine("| " + string.Join(" | ", header.Select((h, c) => h.PadRight(widths[c]))) + " |");
        Console.WriteLine("|" + string.Join("|", widths.Select(w => new string('-', w + 2))) + "|");
        foreach (IReadOnlyList<string> line in lines)
        {
            Console.WriteLine("| " + string.Join(" | ", line.Select((cell, c) => cell.PadRight(widths[c]))) + " |");
        }

        Console.WriteLine();
        static string F(float accuracy) => accuracy.ToString("F4", CultureInfo.InvariantCulture);
    }

    private static (Dataset Train, Dataset Test, int Side) SmallDigits(int seed)
    {
        using Stream file = typeof(Program).Assembly.GetManifestResourceStream("digits.csv.gz")
            ?? throw new IOException("digits.csv.gz is missing from the program's resources.");
        (Dataset train, Dataset test) = Csv.ReadClassification(file, featureScale: 1f / 16, name: "digits.csv.gz").Split(0.2, seed);
        return (train, test, 8);
    }

    private static (Dataset Train, Dataset Test, int Side) Mnist(string directory)
    {
        (Dataset train, Dataset test) = FusedNets.Data.Mnist.Load(directory);
        return (train, test, 28);
    }

    private static Dataset First(Dataset data, int count) => count >= data.Count ? data : data.Select([.. Enumerable.Range(0, count)]);

    private static int Int(Dictionary<string, string> options, string name, int fallback)
    {
        if (!options.TryGetValue(name, out string? text))
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value >= 0
            ? value
            : throw new FormatException($"{name} must be a whole number of at least 0, not '{text}'");
    }

    private static float Float(Dictionary<string, string> options, string name, float fallback)
    {
        if (!options.TryGetValue(name, out string? text))
        {
            return fallback;
        }

        return float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) && value >= 0 && float.IsFinite(value)
            ? value
            : throw new FormatException($"{name} must be a number of at least 0, not '{text}'");
    }

    private static Dictionary<string, string> ParseOptions(string[] args)
    {
        string[] valueOptions = ["--data", "--model", "--epochs", "--train", "--test", "--train-epsilon", "--plots", "--seed"];
        var options = new Dictionary<string, string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] is "--help" or "-h")
            {
                options["--help"] = "";
            }
            else if (!valueOptions.Contains(args[i]))
            {
                throw new ArgumentException($"unknown argument '{args[i]}'");
            }
            else if (i + 1 == args.Length)
            {
                throw new ArgumentException($"{args[i]} needs a value");
            }
            else
            {
                options[args[i]] = args[++i];
            }
        }

        return options;
    }
}
