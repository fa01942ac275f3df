using FusedNets.Generated;
using FusedNets.Tests.Networks;

namespace FusedNets.Tests.Pde;

/// <summary>Physics-informed training as a user drives it: PdeTraining over a generated network, its points, optimizers and errors.</summary>
public class PdeTrainingTests
{
    [Fact]
    public void Sgd_then_lbfgs_drive_the_poisson_loss_down_on_resampled_then_fixed_points()
    {
        using var network = new PoissonNet(seed: 1, Backend.Cpu);
        Box square = Box.Unit(2);
        var training = new PdeTraining(network)
            .Points(nameof(PoissonNet.Equation), square, count: 200)
            .Points(nameof(PoissonNet.Boundary), square.Boundary, count: 80, weight: 10);
        float initial = training.Evaluate().Total;

        training.Fit(new Sgd(0.002f, momentum: 0.9f), steps: 300);
        float afterSgd = training.Evaluate().Total;
        LbfgsResult result = training.Minimize(new Lbfgs(maxIterations: 200));

        Assert.True(afterSgd < initial / 2, $"SGD: {initial} → {afterSgd}");
        Assert.True(result.Losses.Total < afterSgd / 10, $"L-BFGS: {afterSgd} → {result.Losses.Total}");
        Assert.Equal(result.Losses.Total, training.Evaluate().Total);
        Assert.InRange(result.Iterations, 1, 200);
    }

    [Fact]
    public void An_adam_step_is_the_physics_informed_gradient_through_adams_rule()
    {
        using var network = new PoissonNet(seed: 1, Backend.Cpu);
        Box square = Box.Unit(2);
        var training = new PdeTraining(network)
            .Points(nameof(PoissonNet.Equation), square, count: 64)
            .Points(nameof(PoissonNet.Boundary), square.Boundary, count: 32, weight: 10);
        var adam = new AdamW(0.01f, weightDecay: 0.1f);
        var before = new float[PoissonNet.ParameterCount];
        var gradient = new float[PoissonNet.ParameterCount];
        network.CopyParametersTo(before);
        network.PdeGradient(training.Batch, gradient, new double[training.Terms.Length]);

        // Two steps on fixed points: the second reads the moments the first wrote and the bias corrections of t = 2.
        training.Step(adam);
        var afterOne = new float[PoissonNet.ParameterCount];
        network.CopyParametersTo(afterOne);
        var secondGradient = new float[PoissonNet.ParameterCount];
        network.PdeGradient(training.Batch, secondGradient, new double[training.Terms.Length]);
        training.Step(adam);
        var afterTwo = new float[PoissonNet.ParameterCount];
        network.CopyParametersTo(afterTwo);

        var moments = new float[before.Length];
        var secondMoments = new float[before.Length];
        float[] expectedOne = ApplyAdam(adam, step: 1, before, gradient, moments, secondMoments);
        float[] expectedTwo = ApplyAdam(adam, step: 2, afterOne, secondGradient, moments, secondMoments);
        for (int i = 0; i < before.Length; i++)
        {
            Assert.Equal(expectedOne[i], afterOne[i], 1e-6f * (1 + Math.Abs(expectedOne[i])));
            Assert.Equal(expectedTwo[i], afterTwo[i], 1e-6f * (1 + Math.Abs(expectedTwo[i])));
        }
    }

    /// <summary>Adam's scalar rule on every parameter, weights and biases told apart by the architecture's layout.</summary>
    private static float[] ApplyAdam(Optimizer adam, long step, float[] parameters, float[] gradient, float[] moments, float[] secondMoments)
    {
        AdamStep rule = adam.ToStep(adam.LearningRate, step).Adam;
        var next = new float[parameters.Length];
        NetworkArchitecture architecture = PoissonNet.Definition;
        for (int l = 0; l < architecture.Layers.Length; l++)
        {
            var layer = (DenseLayerArchitecture)architecture.Layers[l];
            int offset = architecture.ParameterOffset(l), weights = layer.Units * layer.Inputs;
            for (int i = offset; i < offset + weights + layer.Units; i++)
            {
                next[i] = i < offset + weights
                    ? rule.UpdateWeight(parameters[i], ref moments[i], ref secondMoments[i], gradient[i])
                    : rule.UpdateBias(parameters[i], ref moments[i], ref secondMoments[i], gradient[i]);
            }
        }

        return next;
    }

    [Fact]
    public void Adam_drives_the_poisson_loss_down_and_takes_the_cpu_engines_steps_on_the_ilgpu_engines()
    {
        using var network = new PoissonNet(seed: 1, Backend.Cpu);
        Box square = Box.Unit(2);
        var training = new PdeTraining(network)
            .Points(nameof(PoissonNet.Equation), square, count: 200)
            .Points(nameof(PoissonNet.Boundary), square.Boundary, count: 80, weight: 10);
        float initial = training.Evaluate().Total;
        training.Fit(new Adam(0.005f), steps: 300);
        float afterAdam = training.Evaluate().Total;
        Assert.True(afterAdam < initial / 10, $"Adam: {initial} → {afterAdam}");

        // An SGD step first: Adam then starts its own moments, on either engine.
        using var onCpu = new PoissonNet(seed: 2, Backend.Cpu);
        using var simulated = new PoissonNet(seed: 2, Backend.IlgpuCpu);
        var parameters = new float[PoissonNet.ParameterCount];
        onCpu.CopyParametersTo(parameters);
        simulated.SetParameters(parameters);
        PdeTraining cpuTraining = SmallPoisson(onCpu), gpuTraining = SmallPoisson(simulated);
        var adam = new Adam(0.01f);
        foreach (Optimizer optimizer in (Optimizer[])[new Sgd(0.01f, momentum: 0.9f), adam, adam])
        {
            cpuTraining.Step(optimizer);
            gpuTraining.Step(optimizer);
        }

        var expected = new float[PoissonNet.ParameterCount];
        onCpu.CopyParametersTo(expected);
        simulated.CopyParametersTo(parameters);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], parameters[i], 1e-4f * (1 + Math.Abs(expected[i])));
        }

        static PdeTraining SmallPoisson(PoissonNet network) => new PdeTraining(network)
            .Points(nameof(PoissonNet.Equation), Box.Unit(2), count: 16)
            .Points(nameof(PoissonNet.Boundary), Box.Unit(2).Boundary, count: 8);
    }

    [Fact]
    public void Lbfgs_finds_the_minimum_of_rosenbrocks_function()
    {
        // f(a, b) = (1 − a)² + 100 (b − a²)², minimum 0 at (1, 1): the classic test of a line search in a curved valley.
        static float Rosenbrock(float[] p, float[] gradient)
        {
            double a = p[0], b = p[1];
            gradient[0] = (float)(-2 * (1 - a) - 400 * a * (b - a * a));
            gradient[1] = (float)(200 * (b - a * a));
            return (float)((1 - a) * (1 - a) + 100 * (b - a * a) * (b - a * a));
        }

        LbfgsMinimizer.Outcome outcome = LbfgsMinimizer.Minimize(new Lbfgs(maxIterations: 200, toleranceGradient: 1e-5), [-1.2f, 1f], Rosenbrock, null);

        Assert.Equal(1f, outcome.Parameters[0], 0.01f);
        Assert.Equal(1f, outcome.Parameters[1], 0.01f);
        Assert.True(outcome.Iterations < 200, $"{outcome.Iterations} iterations, stopped by {outcome.Stop}");
    }

    [Fact]
    public void Lbfgs_solves_a_convex_quadratic_in_as_many_iterations_as_it_has_dimensions()
    {
        // f(p) = Σ_i (i + 1) (p_i − i)² / 2: exact line searches and full history find the minimum in n steps.
        static float Quadratic(float[] p, float[] gradient)
        {
            double f = 0;
            for (int i = 0; i < p.Length; i++)
            {
                gradient[i] = (i + 1) * (p[i] - i);
                f += (i + 1) * (p[i] - i) * (double)(p[i] - i) / 2;
            }

            return (float)f;
        }

        LbfgsMinimizer.Outcome outcome = LbfgsMinimizer.Minimize(new Lbfgs(maxIterations: 50, toleranceGradient: 1e-4), new float[5], Quadratic, null);

        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(i, outcome.Parameters[i], 1e-3f);
        }

        Assert.True(outcome.Iterations <= 12, $"{outcome.Iterations} iterations");
    }

    [Fact]
    public void A_step_on_the_ilgpu_simulator_matches_a_step_on_the_cpu()
    {
        using var cpu = new BurgersNet(seed: 3, Backend.Cpu);
        using var gpu = new BurgersNet(seed: 3, Backend.IlgpuCpu);
        PdeTraining Training(Network network) => new PdeTraining(network)
            .Points(nameof(BurgersNet.Equation), new Box([0f, -1f], [1f, 1f]), count: 40)
            .Points(nameof(BurgersNet.Initial), new Box([0f, -1f], [1f, 1f]).Face(0, BoxSide.Lower), count: 12)
            .Points(nameof(BurgersNet.Walls), new Box([0f, -1f], [1f, 1f]).Faces(1), count: 8, weight: 2);

        PdeLosses onCpu = Training(cpu).Step(new Sgd(0.01f, momentum: 0.9f));
        PdeLosses onGpu = Training(gpu).Step(new Sgd(0.01f, momentum: 0.9f));

        Assert.Equal(onCpu.Total, onGpu.Total, 1e-4f * (1 + onCpu.Total));
        var cpuParameters = new float[BurgersNet.ParameterCount];
        var gpuParameters = new float[BurgersNet.ParameterCount];
        cpu.CopyParametersTo(cpuParameters);
        gpu.CopyParametersTo(gpuParameters);
        for (int i = 0; i < cpuParameters.Length; i++)
        {
            Assert.Equal(cpuParameters[i], gpuParameters[i], 1e-4f);
        }
    }

    [Fact]
    public void Resampling_draws_the_next_sobol_points_and_leaves_fixed_points_alone()
    {
        using var network = new PoissonNet(seed: 1, Backend.Cpu);
        float[] fixedPoints = [0.5f, 0f, 0f, 0.5f];
        var training = new PdeTraining(network)
            .Points(nameof(PoissonNet.Equation), Box.Unit(2), count: 4)
            .Points(nameof(PoissonNet.Boundary), fixedPoints);

        // The Sobol' sequence in two dimensions starts (0, 0), (1/2, 1/2), (3/4, 1/4), (1/4, 3/4), (3/8, 3/8), ...
        Assert.Equal([0f, 0f, 0.5f, 0.5f, 0.75f, 0.25f, 0.25f, 0.75f], training.CurrentPoints(nameof(PoissonNet.Equation)).ToArray());
        training.Resample();
        Assert.Equal([0.375f, 0.375f, 0.875f, 0.875f], training.CurrentPoints(nameof(PoissonNet.Equation))[..4].ToArray());
        Assert.Equal(fixedPoints, training.CurrentPoints(nameof(PoissonNet.Boundary)).ToArray());
    }

    [Fact]
    public void A_residual_that_throws_surfaces_its_exception_on_the_caller_and_changes_nothing()
    {
        using var network = new ThrowingNet(seed: 1, Backend.Cpu);
        var training = new PdeTraining(network).Points(nameof(ThrowingNet.Equation), Box.Unit(2), count: 64);
        var before = new float[ThrowingNet.ParameterCount];
        network.CopyParametersTo(before);

        Assert.Throws<IndexOutOfRangeException>(() => training.Step(new Sgd(0.1f)));

        var after = new float[ThrowingNet.ParameterCount];
        network.CopyParametersTo(after);
        Assert.Equal(before, after);
    }

    [Fact]
    public void Mistakes_in_setting_up_the_points_are_refused_with_what_was_expected()
    {
        using var network = new PoissonNet(seed: 1, Backend.Cpu);
        var training = new PdeTraining(network);

        ArgumentException unknown = Assert.Throws<ArgumentException>(() => training.Points("Laplace", Box.Unit(2), 10));
        Assert.Contains("'Equation', 'Boundary'", unknown.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => training.Points(nameof(PoissonNet.Equation), Box.Unit(3), 10));
        Assert.Throws<ArgumentException>(() => training.Points(nameof(PoissonNet.Equation), [0.5f, 0.5f, 0.5f]));
        Assert.Throws<ArgumentException>(() => training.Points(nameof(PoissonNet.Equation), [0.5f, float.NaN]));
        Assert.Throws<ArgumentOutOfRangeException>(() => training.Points(nameof(PoissonNet.Equation), Box.Unit(2), 10, weight: -1));
        training.Points(nameof(PoissonNet.Equation), Box.Unit(2), 10);
        InvalidOperationException missing = Assert.Throws<InvalidOperationException>(() => training.Evaluate());
        Assert.Contains("'Boundary'", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_network_without_a_residual_has_no_physics_informed_loss()
    {
        using var network = new TinyRegressor(seed: 1, Backend.Cpu);

        ArgumentException refused = Assert.Throws<ArgumentException>(() => new PdeTraining(network));
        Assert.Contains("[Residual]", refused.Message, StringComparison.Ordinal);
    }
}
