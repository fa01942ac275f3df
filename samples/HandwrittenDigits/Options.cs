using System.Globalization;
using FusedNets;

/// <summary>The command line. A null setting takes the default of the data set being trained on.</summary>
internal sealed record Options(
    string? DataDirectory,
    Model Model,
    int? Epochs,
    int? BatchSize,
    float? LearningRate,
    float? Momentum,
    Backend Backend,
    int Seed,
    string? LoadPath,
    string? SavePath,
    string? OnnxPath,
    string? PlotPath,
    bool Verbose,
    bool Help)
{
    public const string Usage = """
        Usage: HandwrittenDigits [--data DIR [--model mlp|lenet]] [options]
          (no --data)          train DigitsMlp on the 8x8 digits built into this program
          --data DIR           train on MNIST's IDX files in DIR (train-images-idx3-ubyte and the others, plain or .gz)
          --model M            with --data: mlp, MnistMlp (784-128-128-10, the default), or lenet, the convolutional
                               LeNet, trained with a cosine learning-rate schedule
          --epochs N           passes over the training set (digits: 30, MNIST: 10; with --load: none unless given)
          --batch N            samples per SGD step (digits: 32, MNIST: 64)
          --lr X               learning rate (0.05)
          --momentum X         SGD momentum in [0, 1) (0.9)
          --backend B          auto, cpu, cuda, opencl or ilgpu-cpu (auto)
          --seed N             seeds the parameters, the split and the shuffling (0)
          --load FILE          start from a model saved with --save instead of random parameters: evaluate it,
                               and train it further with --epochs (use the --seed it was trained with)
          --save FILE          save the trained model, with its SGD momentum, as a safetensors file
          --export-onnx FILE   export the trained model as ONNX (input: pixels, output: 10 logits)
          --plot FILE          draw the loss and test accuracy of each epoch into a PNG image
          --verbose            on an error, print the whole exception, not only its message
          --help               print this text
        """;

    private static readonly Dictionary<string, Backend> s_backends = new()
    {
        ["auto"] = Backend.Auto,
        ["cpu"] = Backend.Cpu,
        ["cuda"] = Backend.Cuda,
        ["opencl"] = Backend.OpenCL,
        ["ilgpu-cpu"] = Backend.IlgpuCpu,
    };

    private static readonly Dictionary<string, Model> s_models = new()
    {
        ["mlp"] = Model.Mlp,
        ["lenet"] = Model.LeNet,
    };

    private static readonly string[] s_valueOptions =
        ["--data", "--model", "--epochs", "--batch", "--lr", "--momentum", "--backend", "--seed", "--load", "--save", "--export-onnx", "--plot"];

    private static readonly string[] s_flags = ["--verbose", "--help", "-h"];

    /// <summary>Reads flags and "--name value" pairs; anything else is a <see cref="UsageException"/>.</summary>
    public static Options Parse(string[] args)
    {
        var values = new Dictionary<string, string>();
        var flags = new HashSet<string>();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (s_flags.Contains(name))
            {
                flags.Add(name);
            }
            else if (!s_valueOptions.Contains(name))
            {
                throw new UsageException($"unknown argument '{name}'");
            }
            else if (i + 1 == args.Length)
            {
                throw new UsageException($"{name} needs a value");
            }
            else
            {
                values[name] = args[++i];
            }
        }

        string? backendName = values.GetValueOrDefault("--backend");
        Backend backend = Backend.Auto;
        if (backendName is not null && !s_backends.TryGetValue(backendName, out backend))
        {
            throw new UsageException($"--backend must be one of {string.Join(", ", s_backends.Keys)}, not '{backendName}'");
        }

        string? modelName = values.GetValueOrDefault("--model");
        Model model = Model.Mlp;
        if (modelName is not null && !s_models.TryGetValue(modelName, out model))
        {
            throw new UsageException($"--model must be one of {string.Join(", ", s_models.Keys)}, not '{modelName}'");
        }

        var options = new Options(
            DataDirectory: values.GetValueOrDefault("--data"),
            Model: model,
            Epochs: ParseInt(values, "--epochs", minimum: 1),
            BatchSize: ParseInt(values, "--batch", minimum: 1),
            LearningRate: ParseFloat(values, "--lr", value => value > 0, "a number above 0"),
            Momentum: ParseFloat(values, "--momentum", value => value is >= 0 and < 1, "a number in [0, 1)"),
            Backend: backend,
            Seed: ParseInt(values, "--seed", minimum: int.MinValue) ?? 0,
            LoadPath: values.GetValueOrDefault("--load"),
            SavePath: OutputFile(values, "--save"),
            OnnxPath: OutputFile(values, "--export-onnx"),
            PlotPath: OutputFile(values, "--plot"),
            Verbose: flags.Contains("--verbose"),
            Help: flags.Contains("--help") || flags.Contains("-h"));

        if (modelName is not null && options.DataDirectory is null)
        {
            throw new UsageException("--model chooses the network for MNIST: give its files with --data DIR");
        }

        if (options is { PlotPath: not null, LoadPath: not null, Epochs: null })
        {
            throw new UsageException("--plot draws the training curves, and a model given with --load trains only with --epochs N");
        }

        return options;
    }

    /// <summary>The number of epochs to train: none for a loaded model unless asked for, else the data set's default.</summary>
    public int EpochsOr(int defaultEpochs) => Epochs ?? (LoadPath is null ? defaultEpochs : 0);

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

    /// <summary>A file to write after training: its folder must exist now, so a typo does not cost a training run.</summary>
    private static string? OutputFile(Dictionary<string, string> values, string name)
    {
        if (!values.TryGetValue(name, out string? path))
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(path))
        {
            throw new UsageException($"{name} needs a file name");
        }

        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(folder))
        {
            throw new UsageException($"{name}: the folder '{folder}' does not exist");
        }

        return path;
    }
}

/// <summary>The network to train on MNIST.</summary>
internal enum Model
{
    Mlp,
    LeNet,
}

/// <summary>A command line that cannot be run: one line on stderr and exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
