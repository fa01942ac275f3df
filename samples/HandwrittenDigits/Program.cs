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
//   dotnet run --project samples/HandwrittenDigits -c Release -- --data DIR --model lenet   a convolutional network
//   dotnet run --project samples/HandwrittenDigits -c Release -- --help       every option (Options.cs)
//
// In a terminal it shows a progress bar that moves within each epoch, then a table of the epochs and the test
// set's confusion matrix (TrainingConsole.cs); piped or in CI it prints plain lines, one per epoch. Either way
// the last line is for scripts: test_acc=0.XXXX train_samples_per_s=N

using System.Globalization;
using FusedNets;
using FusedNets.Data;

// Step 1: declare the networks. All three are classifiers: the last layer gives one score (a logit) per digit,
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

/// <summary>
/// For MNIST's 28×28 digits, LeNet: convolutions learn small local filters (strokes, then parts of digits) that slide
/// over the whole image, and pooling halves each map, so the dense layers at the top see 400 features, not 784 pixels.
/// An image input is (channels, height, width); the generator works out every layer's shape, written on the right,
/// refuses a declaration whose shapes do not fit, and shows each shape when you hover over the property.
/// </summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class LeNet
{
    [Input(1, 28, 28)] public partial Layer Image { get; }                               // (1, 28, 28): grey levels
    [Conv2D(6, 5, Activation.Relu, Padding = 2)] public partial Layer Conv1 { get; }     // (6, 28, 28): 6 filters of 5×5
    [MaxPool2D(2)] public partial Layer Pool1 { get; }                                   // (6, 14, 14): the largest of each 2×2
    [Conv2D(16, 5, Activation.Relu)] public partial Layer Conv2 { get; }                 // (16, 10, 10): each reads all 6 maps
    [AvgPool2D(2)] public partial Layer Pool2 { get; }                                   // (16, 5, 5): the mean of each 2×2
    [Dense(120, Activation.Relu)] public partial Layer Fc1 { get; }                      // (120): reads the 400 values flattened
    [Dense(84, Activation.Relu)] public partial Layer Fc2 { get; }                       // (84)
    [Dense(10)] public partial Layer Logits { get; }                                     // (10)
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
            TrainingConsole console = TrainingConsole.Create();
            return (options.DataDirectory, options.Model) switch
            {
                (null, _) => TrainOnSmallDigits(options, console),
                (string directory, Model.LeNet) => TrainLeNetOnMnist(directory, options, console),
                (string directory, _) => TrainOnMnist(directory, options, console),
            };
        }
        catch (Exception e)
        {
            // A missing or malformed file, a model that does not fit the network, a backend this machine lacks:
            // one line that says which. The stack trace is for whoever debugs the sample, with --verbose.
            Console.Error.WriteLine(options.Verbose ? $"HandwrittenDigits: {e}" : $"HandwrittenDigits: {e.Message} (--verbose shows the details)");
            return 1;
        }
    }

    /// <summary>1797 digits of 8×8 pixels, built into this program: a few seconds of training on a CPU.</summary>
    private static int TrainOnSmallDigits(Options options, TrainingConsole console)
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

        // Step 3: create the network. Its parameters start random, from the seed, or come from a saved model.
        using DigitsMlp network = options.LoadPath is null
            ? new DigitsMlp(options.Seed, options.Backend)
            : LoadModel(options.LoadPath, DigitsMlp.Load, options.Backend);

        // A known answer before anything is timed: the generator's parameter count matches one by hand,
        // each dense layer having a weight per (output, input) pair and a bias per output.
        CheckParameterCount(DigitsMlp.ParameterCount, (64 * 64 + 64) + (64 * 10 + 10));

        // Step 4: train with SGD and momentum, then measure on the held-back images.
        var sgd = new Sgd(options.LearningRate ?? 0.05f, options.Momentum ?? 0.9f);
        return Train(network, "8×8 digits", train, test, sgd, options.EpochsOr(30), options.BatchSize ?? 32, options, console);
    }

    /// <summary>MNIST's 60,000 training and 10,000 test digits of 28×28 pixels, read from IDX files.</summary>
    private static int TrainOnMnist(string directory, Options options, TrainingConsole console)
    {
        // Mnist.Load reads the four files, plain or .gz, and scales the pixels from 0..255 to [0, 1].
        (Dataset train, Dataset test) = Mnist.Load(directory);

        using MnistMlp network = options.LoadPath is null
            ? new MnistMlp(options.Seed, options.Backend)
            : LoadModel(options.LoadPath, MnistMlp.Load, options.Backend);
        CheckParameterCount(MnistMlp.ParameterCount, (784 * 128 + 128) + (128 * 128 + 128) + (128 * 10 + 10));

        var sgd = new Sgd(options.LearningRate ?? 0.05f, options.Momentum ?? 0.9f);
        return Train(network, "MNIST", train, test, sgd, options.EpochsOr(10), options.BatchSize ?? 64, options, console);
    }

    /// <summary>MNIST again, with the convolutional LeNet: the same 784 floats per image, read as a 1 × 28 × 28 image.</summary>
    private static int TrainLeNetOnMnist(string directory, Options options, TrainingConsole console)
    {
        (Dataset train, Dataset test) = Mnist.Load(directory);

        using LeNet network = options.LoadPath is null
            ? new LeNet(options.Seed, options.Backend)
            : LoadModel(options.LoadPath, LeNet.Load, options.Backend);

        // A convolution has a weight per (filter, input channel, kernel row, kernel column) and a bias per filter,
        // however large the image; pooling has no parameters; Fc1 reads Pool2's 16 × 5 × 5 values.
        CheckParameterCount(
            LeNet.ParameterCount,
            (6 * 1 * 5 * 5 + 6) + (16 * 6 * 5 * 5 + 16) + (16 * 5 * 5 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10));

        // The rate falls from its start to zero along half a cosine over the run: large steps early, small ones at
        // the end, which settle the last tenths of a percent.
        var sgd = new Sgd(options.LearningRate ?? 0.05f, options.Momentum ?? 0.9f);
        int epochs = options.EpochsOr(10);
        return Train(network, "MNIST", train, test, sgd, epochs, options.BatchSize ?? 64, options, console,
            schedule: epochs > 0 ? new CosineAnnealing(maxEpochs: epochs) : null);
    }

    /// <summary>
    /// Fits any network to <paramref name="train"/>, showing each epoch, evaluates it on <paramref name="test"/>,
    /// and writes the files the options ask for.
    /// </summary>
    private static int Train(
        Network network,
        string dataName,
        Dataset train,
        Dataset test,
        Sgd sgd,
        int epochs,
        int batchSize,
        Options options,
        TrainingConsole console,
        LearningRateSchedule? schedule = null)
    {
        console.Line($"{network.Architecture.Name}: {network.Architecture.ParameterCount:N0} parameters on {network.DeviceName} ({network.Backend})");
        console.Line($"{dataName}: {train.Count:N0} training and {test.Count:N0} test images");
        console.Line(epochs > 0
            ? $"epochs: {epochs}, batch size: {batchSize}, {sgd}{(schedule is null ? "" : $", {schedule}")}"
            : "no training: --load without --epochs only evaluates");

        // Before training a fresh network guesses: about one test image in ten comes out right.
        string start = options.LoadPath is null ? "untrained" : $"loaded from {options.LoadPath}";
        console.Line($"{start}: test accuracy {network.Evaluate(test).Accuracy:F4}");

        var history = new List<EpochResult>();
        if (epochs > 0)
        {
            console.ShowTraining(epochs, train.Count, display =>
                network.Fit(train, sgd, epochs, batchSize, shuffleSeed: options.Seed, schedule: schedule, onProgress: display.OnProgress, onEpoch: report =>
                {
                    // The accuracy after every epoch costs one pass over the test set (not counted in the
                    // throughput) and draws the curve that --plot saves.
                    float testAccuracy = network.Evaluate(test).Accuracy ?? 0; // a classifier always has one
                    var epoch = new EpochResult(report.Epoch, report.Epochs, report.Loss, testAccuracy, report.SamplesPerSecond);
                    history.Add(epoch);
                    display.OnEpoch(epoch);
                }));
        }

        // Beside the loss and accuracy, a classifier's evaluation holds its confusion matrix: which digits it
        // takes for which, with each digit's precision, recall and F1.
        Evaluation result = network.Evaluate(test);
        console.Summary(history, result);

        // Step 5: keep what was trained. The safetensors file holds the SGD momentum too, so that --load with
        // --epochs carries on where this run stopped; the ONNX model is for inference elsewhere.
        if (options.SavePath is not null)
        {
            network.Save(options.SavePath, includeMomentum: true);
            console.Line($"saved the model to {options.SavePath}");
        }

        if (options.OnnxPath is not null)
        {
            network.ExportOnnx(options.OnnxPath);
            console.Line($"exported the model as ONNX to {options.OnnxPath}");
        }

        if (options.PlotPath is not null)
        {
            TrainingCurves.SavePng(history, $"{network.Architecture.Name} on {dataName}", options.PlotPath);
            console.Line($"plotted loss and accuracy to {options.PlotPath}");
        }

        // Throughput: the mean over epochs, so the first epoch's one-time warm-up (compiling, allocating)
        // does not dominate a short run. A loaded model that was only evaluated trained at 0 samples/s.
        double samplesPerSecond = history.Count == 0 ? 0 : history.Average(epoch => epoch.SamplesPerSecond);
        Console.WriteLine($"test_acc={result.Accuracy ?? 0:F4} train_samples_per_s={samplesPerSecond:F0}");
        return 0;
    }

    /// <summary>Loads a model saved with --save; an error names the file, which the reader's message may not.</summary>
    private static T LoadModel<T>(string path, Func<string, Backend, T> load, Backend backend)
    {
        try
        {
            return load(path, backend);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot load the model {path}: {e.Message}", e);
        }
    }

    private static void CheckParameterCount(int generated, int byHand)
    {
        if (generated != byHand)
        {
            throw new InvalidOperationException($"The generator counted {generated} parameters; by hand there are {byHand}.");
        }
    }
}
