// Expressivity: how many linear pieces does a ReLU network have, and does depth buy more at the same size?
//
// A ReLU network is piecewise linear: its input space splits into regions, on each of which it is one affine map.
// Analysis.LinearRegions counts, exactly, the regions a segment between two inputs passes through. Here six networks of
// about 4,000 parameters each, from one hidden layer of 400 units to eight of 23, count them along random segments at
// initialization (He's uniform, as every ReLU network starts), averaged over segments and seeds: Hanin and Rolnick (2019)
// found such counts grow with the number of neurons, not exponentially with depth as the largest possible counts do.
//
// Run it:
//   dotnet run --project samples/LinearRegions -c Release -- [--segments 40] [--seeds 3] [--plot linear-regions.png]

using System.Globalization;
using FusedNets;
using ScottPlot;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
int segments = int.Parse(Option("--segments") ?? "40", CultureInfo.InvariantCulture);
int seeds = int.Parse(Option("--seeds") ?? "3", CultureInfo.InvariantCulture);
string plotPath = Option("--plot") ?? "linear-regions.png";

// A check with a known answer first: one ReLU unit y = relu(x) has two pieces on [-1, 1] and one on [1, 2].
using (var kink = new OneUnit(seed: 0, Backend.Cpu))
{
    kink.Y.Weights[0] = 1;
    kink.Y.Bias[0] = 0;
    if (Analysis.LinearRegions(kink, [-1], [1]) != 2 || Analysis.LinearRegions(kink, [1], [2]) != 1)
    {
        Console.Error.WriteLine("LinearRegions: the one-unit check failed.");
        return 1;
    }
}

Func<int, Network>[] networks =
[
    seed => new Depth1(seed, Backend.Cpu),
    seed => new Depth2(seed, Backend.Cpu),
    seed => new Depth3(seed, Backend.Cpu),
    seed => new Depth4(seed, Backend.Cpu),
    seed => new Depth6(seed, Backend.Cpu),
    seed => new Depth8(seed, Backend.Cpu),
];

Console.WriteLine($"Regions along random segments (endpoints drawn from N(0, I) in 8 dimensions), {segments} segments × {seeds} seeds");
Console.WriteLine();
Console.WriteLine("| hidden layers | width | neurons | parameters | regions per segment (mean ± sd) | regions per neuron |");
Console.WriteLine("|---|---|---|---|---|---|");
var rows = new List<(int Depth, int Width, int Neurons, double Mean, double Deviation)>();
foreach (Func<int, Network> create in networks)
{
    var counts = new List<double>();
    int depth = 0, width = 0, parameters = 0;
    for (int seed = 0; seed < seeds; seed++)
    {
        using Network network = create(seed);
        depth = network.Layers.Count - 2;
        width = network.Layers[1].Units;
        parameters = network.Architecture.ParameterCount;
        var random = new Random(1000 + seed);
        for (int s = 0; s < segments; s++)
        {
            counts.Add(Analysis.LinearRegions(network, Gaussian(random, 8), Gaussian(random, 8)));
        }
    }

    double mean = counts.Average();
    double deviation = Math.Sqrt(counts.Sum(count => (count - mean) * (count - mean)) / (counts.Count - 1));
    rows.Add((depth, width, depth * width, mean, deviation));
    Console.WriteLine($"| {depth} | {width} | {depth * width} | {parameters} | {mean:F1} ± {deviation:F1} | {mean / (depth * width):F3} |");
}

// Regions against depth, each point labelled with its width; the bars are one standard deviation.
var plot = new Plot();
plot.Title("ReLU networks of ~4,000 parameters at initialization");
plot.XLabel("hidden layers (width falls as depth rises, to keep the parameters)");
plot.YLabel("regions per segment");
double[] depths = [.. rows.Select(row => (double)row.Depth)];
var line = plot.Add.Scatter(depths, [.. rows.Select(row => row.Mean)]);
line.LegendText = "mean over segments and seeds";
var errors = plot.Add.ErrorBar(depths, [.. rows.Select(row => row.Mean)], [.. rows.Select(row => row.Deviation)]);
errors.Color = line.Color;
foreach ((int depth, int width, int neurons, double mean, _) in rows)
{
    var label = plot.Add.Text($"width {width}, {neurons} neurons", depth, mean);
    label.LabelFontSize = 11;
    label.OffsetX = 8;
}

plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
plot.Axes.SetLimits(0, 10.5, 0, rows.Max(row => row.Mean + row.Deviation) * 1.15);
plot.SavePng(plotPath, 900, 560);
Console.WriteLine();
Console.WriteLine($"plot: {plotPath}");
return 0;

static float[] Gaussian(Random random, int size) =>
    [.. Enumerable.Range(0, size).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())))];

string? Option(string name)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
}

// Six ReLU networks over 8 inputs with one output and about 4,000 parameters each: the width shrinks as depth grows.

[Network(Loss = Loss.MeanSquaredError)]
public partial class Depth1
{
    [Input(8)] public partial Layer X { get; }
    [Dense(400, Activation.Relu)] public partial Layer H1 { get; }
    [Dense(1)] public partial Layer Y { get; }
}

[Network(Loss = Loss.MeanSquaredError)]
public partial class Depth2
{
    [Input(8)] public partial Layer X { get; }
    [Dense(58, Activation.Relu)] public partial Layer H1 { get; }
    [Dense(58, Activation.Relu)] public partial Layer H2 { get; }
    [Dense(1)] public partial Layer Y { get; }
}

[Network(Loss = Loss.MeanSquaredError)]
public partial class Depth3
{
    [Input(8)] public partial Layer X { get; }
    [Dense(42, Activation.Relu)] public partial Layer H1 { get; }
    [Dense(42, Activation.Relu)] public partial Layer H2 { get; }
    [Dense(42, Activation.Relu)] public partial Layer H3 { get; }
    [Dense(1)] public partial Layer Y { get; }
}

[Network(Loss = Loss.MeanSquaredError)]
public partial class Depth4
{
    [Input(8)] public partial Layer X { get; }
    [Dense(34, Activation.Relu)] public partial Layer H1 { get; }
    [Dense(34, Activation.Relu)] public partial Layer H2 { get; }
    [Dense(34, Activation.Relu)] public partial Layer H3 { get; }
    [Dense(34, Activation.Relu)] public partial Layer H4 { get; }
    [Dense(1)] public partial Layer Y { get; }
}

[Network(Loss = Loss.MeanSquaredError)]
public partial class Depth6
{
    [Input(8)] public partial Layer X { get; }
    [Dense(27, Activation.Relu)] public partial Layer H1 { get; }
    [Dense(27, Activation.Relu)] public partial Layer H2 { get; }
    [Dense(27, Activation.Relu)] public partial Layer H3 { get; }
    [Dense(27, Activation.Relu)] public partial Layer H4 { get; }
    [Dense(27, Activation.Relu)] public partial Layer H5 { get; }
    [Dense(27, Activation.Relu)] public partial Layer H6 { get; }
    [Dense(1)] public partial Layer Y { get; }
}

[Network(Loss = Loss.MeanSquaredError)]
public partial class Depth8
{
    [Input(8)] public partial Layer X { get; }
    [Dense(23, Activation.Relu)] public partial Layer H1 { get; }
    [Dense(23, Activation.Relu)] public partial Layer H2 { get; }
    [Dense(23, Activation.Relu)] public partial Layer H3 { get; }
    [Dense(23, Activation.Relu)] public partial Layer H4 { get; }
    [Dense(23, Activation.Relu)] public partial Layer H5 { get; }
    [Dense(23, Activation.Relu)] public partial Layer H6 { get; }
    [Dense(23, Activation.Relu)] public partial Layer H7 { get; }
    [Dense(23, Activation.Relu)] public partial Layer H8 { get; }
    [Dense(1)] public partial Layer Y { get; }
}

/// <summary>y = relu(w x + b): the known answer checked first.</summary>
[Network(Loss = Loss.MeanSquaredError)]
public partial class OneUnit
{
    [Input(1)] public partial Layer X { get; }
    [Dense(1, Activation.Relu)] public partial Layer Y { get; }
}
