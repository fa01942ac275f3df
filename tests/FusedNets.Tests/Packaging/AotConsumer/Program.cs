// A CPU-only consumer of the FusedNets package, published with NativeAOT and built with the JIT from this one source
// (the packaging tests compare the two; scripts/aot-startup.sh times its start-up). Everything that could differ
// between the two builds is printed as the float's bits in hex, so that equal output means equal bits.
//   Consumer train <model file>    trains a small convolutional classifier, prints its losses and predictions, saves it
//   Consumer predict <model file>  loads the model and prints one prediction: a deployed service's first request
using System.Globalization;
using FusedNets;
using FusedNets.Data;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

switch (args)
{
    case ["train", string modelPath]:
        Train(modelPath);
        return 0;
    case ["predict", string modelPath]:
        using (Digits network = Digits.Load(modelPath, Backend.Cpu))
        {
            float[] logits = new float[3];
            network.Predict(Samples(count: 1).Features, logits);
            Console.WriteLine($"prediction {Hex(logits)}");
        }

        return 0;
    default:
        Console.Error.WriteLine("usage: Consumer train|predict <model file>");
        return 2;
}

static void Train(string modelPath)
{
    (float[] features, int[] labels) = Samples(count: 96);
    Dataset data = Dataset.ForClassification(features, labels, featureCount: 64);

    using var network = new Digits(seed: 7, Backend.Cpu);
    Console.WriteLine($"engine {network.DeviceName}");
    foreach (EpochReport epoch in network.Fit(data, new Sgd(learningRate: 0.05f, momentum: 0.9f), epochs: 4, batchSize: 16, shuffleSeed: 3))
    {
        Console.WriteLine($"epoch {epoch.Epoch} loss {Hex([epoch.Loss])}");
    }

    float[] logits = new float[8 * 3];
    network.Predict(features.AsSpan(0, 8 * 64), logits);
    Console.WriteLine($"predictions {Hex(logits)}");
    Console.WriteLine($"accuracy {network.Evaluate(data).Accuracy:F4}");
    network.Save(modelPath);
}

// Three classes of 8×8 images: a bright row, a bright column or a bright diagonal, over noise from a fixed generator.
static (float[] Features, int[] Labels) Samples(int count)
{
    var random = new Random(11);
    float[] features = new float[count * 64];
    int[] labels = new int[count];
    for (int sample = 0; sample < count; sample++)
    {
        int label = sample % 3, line = random.Next(8);
        labels[sample] = label;
        for (int pixel = 0; pixel < 64; pixel++)
        {
            int row = pixel / 8, column = pixel % 8;
            bool lit = label switch { 0 => row == line, 1 => column == line, _ => row == column };
            features[sample * 64 + pixel] = (lit ? 1f : 0f) + 0.3f * random.NextSingle();
        }
    }

    return (features, labels);
}

static string Hex(ReadOnlySpan<float> values)
{
    var hex = new string[values.Length];
    for (int i = 0; i < values.Length; i++)
    {
        hex[i] = BitConverter.SingleToUInt32Bits(values[i]).ToString("x8", CultureInfo.InvariantCulture);
    }

    return string.Join(' ', hex);
}

[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class Digits
{
    [Input(1, 8, 8)] public partial Layer Image { get; }
    [Conv2D(4, 3, Activation.Relu, Padding = 1)] public partial Layer Features { get; }
    [MaxPool2D(2)] public partial Layer Pooled { get; }
    [Dense(16, Activation.Tanh)] public partial Layer Hidden { get; }
    [Dense(3)] public partial Layer Logits { get; }
}
