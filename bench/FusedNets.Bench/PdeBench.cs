using System.Diagnostics;
using FusedNets;

namespace FusedNets.Bench;

/// <summary>
/// Poisson's equation on the unit square as the physics-informed benchmark: 2 → 64 → 64 → 64 → 1 tanh, the residual
/// −Δu − f at 1024 interior points and u on 256 boundary points (weight 10), fixed, one SGD step each (momentum 0.9).
/// The same network, points and equation as the TorchSharp program docs/pde.md compares it with.
/// </summary>
[Network]
public partial class PinnPoisson
{
    [Input(2)] public partial Layer X { get; }
    [Dense(64, Activation.Tanh)] public partial Layer Hidden1 { get; }
    [Dense(64, Activation.Tanh)] public partial Layer Hidden2 { get; }
    [Dense(64, Activation.Tanh)] public partial Layer Hidden3 { get; }
    [Dense(1)] public partial Layer U { get; }

    [Residual]
    public static T Residual<T>(ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du, T laplacian)
        where T : IPdeNumber<T> => -laplacian - 2 * MathF.PI * MathF.PI * MathF.Sin(MathF.PI * x[0]) * MathF.Sin(MathF.PI * x[1]);

    [Condition]
    public static T Boundary<T>(ReadOnlySpan<float> x, T u)
        where T : IPdeNumber<T> => u;
}

/// <summary>Training steps per second of <see cref="PinnPoisson"/>: the best of the rounds, after a warm-up.</summary>
internal static class PdeBench
{
    public const string Config = "pinn/poisson2d/2-64-64-64-1/1024+256";

    public static (double StepsPerSecond, double AllocatedBytesPerStep) Run(Settings settings)
    {
        using var network = new PinnPoisson(seed: 1, Backend.Cpu);
        Box square = Box.Unit(2);
        var training = new PdeTraining(network)
            .Points(nameof(PinnPoisson.Residual), square, count: 1024, sampling: Sampling.Uniform, seed: 1)
            .Points(nameof(PinnPoisson.Boundary), square.Boundary, count: 256, weight: 10, sampling: Sampling.Uniform, seed: 2);
        var sgd = new Sgd(1e-4f, momentum: 0.9f);

        // Fit on fixed points, in bursts of steps: its per-call results (the final loss) are not per step.
        const int Burst = 20;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < settings.WarmUpSeconds)
        {
            training.Fit(sgd, Burst, resample: false);
        }

        double best = 0;
        for (int round = 0; round < settings.Rounds; round++)
        {
            int steps = 0;
            clock.Restart();
            while (clock.Elapsed.TotalSeconds < settings.RoundSeconds)
            {
                training.Fit(sgd, Burst, resample: false);
                steps += Burst;
            }

            best = Math.Max(best, steps / clock.Elapsed.TotalSeconds);
        }

        return (best, AllocatedBytesPerStep(training, sgd));
    }

    /// <summary>
    /// What the training steps allocate: counted from the first step's callback to the last's, inside one Fit, so that
    /// Fit's result (its losses, allocated once per call) is left out.
    /// </summary>
    private static double AllocatedBytesPerStep(PdeTraining training, Sgd sgd)
    {
        const int Steps = 101;
        long first = 0, last = 0;
        training.Fit(sgd, Steps, resample: false, onStep: progress =>
        {
            if (progress.Step == 1)
            {
                first = GC.GetTotalAllocatedBytes(precise: true);
            }
            else if (progress.Step == Steps)
            {
                last = GC.GetTotalAllocatedBytes(precise: true);
            }
        });
        return (last - first) / (double)(Steps - 1);
    }
}
