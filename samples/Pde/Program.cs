// Physics-informed training with FusedNets: a network u(x) trained on the residual of a partial differential equation,
// its derivatives with respect to x carried forward through the layers (docs/pde.md).
//
//   1. Poisson's equation on the unit square, against its manufactured solution on a 100 × 100 grid.
//   2. The same equation in 10 to 50 dimensions: the time per step against d.
//
// The last line, for scripts: relative_l2=... train_seconds=... (part 1).
using System.Diagnostics;
using System.Globalization;
using FusedNets;
using Pde;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
bool quick = args.Contains("--quick");

// ---- 1. −Δu = 2π² sin(πx) sin(πy) on [0, 1]², u = 0 on the boundary ----
Console.WriteLine("Poisson's equation on the unit square: 2 → 32 → 32 → 32 → 1, tanh");
using var square = new PoissonSquare(seed: 0, Backend.Cpu);
Console.WriteLine($"  {square.DeviceName}, {PoissonSquare.ParameterCount} parameters");
Box unitSquare = Box.Unit(2);
var training = new PdeTraining(square)
    .Points(nameof(PoissonSquare.Residual), unitSquare, count: 1024)
    .Points(nameof(PoissonSquare.Boundary), unitSquare.Boundary, count: 256, weight: 10);

// A known small answer before anything is timed: at the start the network is far from the solution.
double initialError = RelativeL2(square);
Console.WriteLine($"  before training: relative L2 error {initialError:F4}");

var clock = Stopwatch.StartNew();
// Phase 1: a first-order optimizer on fresh Sobol' points every step.
PdeLosses losses = training.Fit(new Sgd(0.0005f, momentum: 0.9f), steps: quick ? 200 : 2000,
    schedule: new CosineAnnealing(maxEpochs: quick ? 200 : 2000, minLearningRate: 1e-4f),
    onStep: step =>
    {
        if (step.Step % 500 == 0)
        {
            Console.WriteLine($"  step {step.Step,5}: loss {step.Loss:G4}  ({step.Elapsed.TotalSeconds:F1} s)");
        }
    });
Console.WriteLine($"  after SGD: loss {losses}, relative L2 error {RelativeL2(square):F4}");

// Phase 2: L-BFGS with a strong Wolfe line search on fixed points, as PINN practice finishes.
training.Resample();
LbfgsResult lbfgs = training.Minimize(new Lbfgs(maxIterations: quick ? 100 : 1500), onIteration: progress =>
{
    if (progress.Iteration % 250 == 0)
    {
        Console.WriteLine($"  L-BFGS {progress.Iteration,5}: loss {progress.Loss:G4}  ({clock.Elapsed.TotalSeconds:F1} s)");
    }
});
double trainSeconds = clock.Elapsed.TotalSeconds;
double error = RelativeL2(square);
Console.WriteLine($"  after L-BFGS ({lbfgs.Iterations} iterations, {lbfgs.Evaluations} evaluations, stopped by {lbfgs.Stop}): loss {lbfgs.Losses}");
Console.WriteLine($"  relative L2 error on a 100 × 100 grid: {error:E3}, trained in {trainSeconds:F1} s");

// ---- 2. −Δu = f on [0, 1]^d, d = 10 … 50: time per step against d ----
Console.WriteLine();
Console.WriteLine("Poisson's equation in d dimensions, u = Σ sin(π x_i / 2): d → 64 → 64 → 1, tanh, 256 + 256 points per step");
Console.WriteLine("   d   ms/step   ms/step/d   relative L2 after training");
foreach ((int d, Func<Network> create) in new (int, Func<Network>)[]
{
    (10, () => new Poisson10(seed: 0, Backend.Cpu)),
    (20, () => new Poisson20(seed: 0, Backend.Cpu)),
    (30, () => new Poisson30(seed: 0, Backend.Cpu)),
    (40, () => new Poisson40(seed: 0, Backend.Cpu)),
    (50, () => new Poisson50(seed: 0, Backend.Cpu)),
})
{
    using Network network = create();
    Box cube = Box.Unit(d);
    var pde = new PdeTraining(network)
        .Points("Residual", cube, count: 256)
        .Points("Boundary", cube.Boundary, count: 256, weight: 10);
    var optimizer = new Sgd(0.001f, momentum: 0.9f);
    pde.Fit(optimizer, steps: 20); // warm-up: buffers, tiered compilation, threads
    int steps = quick ? 50 : 400;
    var timer = Stopwatch.StartNew();
    pde.Fit(optimizer, steps: steps, schedule: new CosineAnnealing(maxEpochs: steps, minLearningRate: 1e-5f));
    double msPerStep = timer.Elapsed.TotalMilliseconds / steps;
    Console.WriteLine($"  {d,2}   {msPerStep,7:F2}   {msPerStep / d,9:F3}   {RelativeL2High(network, d):F4}");
}

Console.WriteLine($"relative_l2={error:E3} train_seconds={trainSeconds:F1}");
return error <= 1e-2 ? 0 : 1;

// ‖u − u*‖₂ / ‖u*‖₂ over the 100 × 100 grid of cell centres.
static double RelativeL2(PoissonSquare network)
{
    const int n = 100;
    var points = new float[n * n * 2];
    for (int i = 0; i < n; i++)
    {
        for (int j = 0; j < n; j++)
        {
            points[2 * (i * n + j)] = (i + 0.5f) / n;
            points[2 * (i * n + j) + 1] = (j + 0.5f) / n;
        }
    }

    var u = new float[n * n];
    network.Predict(points, u);
    double difference = 0, norm = 0;
    for (int p = 0; p < n * n; p++)
    {
        double exact = PoissonSquare.Exact(points.AsSpan(2 * p, 2));
        difference += (u[p] - exact) * (u[p] - exact);
        norm += exact * exact;
    }

    return Math.Sqrt(difference / norm);
}

// The same error on 10,000 Sobol' points of the cube.
static double RelativeL2High(Network network, int d)
{
    const int n = 10_000;
    var sobol = new SobolSequence(d);
    var unit = new double[d];
    var points = new float[n * d];
    for (int p = 0; p < n; p++)
    {
        sobol.Next(unit);
        for (int i = 0; i < d; i++)
        {
            points[p * d + i] = (float)unit[i];
        }
    }

    var u = new float[n];
    network.Predict(points, u);
    double difference = 0, norm = 0;
    for (int p = 0; p < n; p++)
    {
        double exact = HighDimensional.Exact(points.AsSpan(p * d, d));
        difference += (u[p] - exact) * (u[p] - exact);
        norm += exact * exact;
    }

    return Math.Sqrt(difference / norm);
}
