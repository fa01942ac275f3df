using System.Collections.Immutable;
using FusedNets.Backends;
using FusedNets.Generated;
using FusedNets.Reference;
using FusedNets.Tests.Cpu;
using FusedNets.Tests.Networks;
using FusedNets.Tests.Reference;

namespace FusedNets.Tests.Pde;

/// <summary>
/// The physics-informed test cases: the generated programs of the test networks (PdeNetworks.cs), which between them
/// take every form a term can have, paired with small networks of any activation, and random points.
/// </summary>
internal static class PdeCases
{
    private static readonly Lazy<ImmutableDictionary<string, (PdeProgram Program, int Inputs)>> s_programs = new(() => new Dictionary<string, (PdeProgram, int)>
    {
        // Laplacian over every input, and a value condition.
        ["Poisson"] = ProgramOf(new PoissonNet(backend: Backend.Cpu)),
        // Laplacian over inputs 1 and 2 of 3, input 0 read through du, two value conditions.
        ["Heat"] = ProgramOf(new HeatNet(backend: Backend.Cpu)),
        // A Laplacian, and a condition that reads du.
        ["Helmholtz"] = ProgramOf(new HelmholtzNet(backend: Backend.Cpu)),
        // One second derivative on its own (input 1 of 2), a nonlinear residual.
        ["Burgers"] = ProgramOf(new BurgersNet(backend: Backend.Cpu)),
    }.ToImmutableDictionary());

    public static IEnumerable<string> Equations => ["Poisson", "Heat", "Helmholtz", "Burgers"];

    public static PdeProgram Program(string equation) => s_programs.Value[equation].Program;

    public static int Inputs(string equation) => s_programs.Value[equation].Inputs;

    /// <summary>inputs → 6 → 5 → 1, every layer with <paramref name="activation"/>, the middle one masked if asked.</summary>
    public static NetworkArchitecture Mlp(int inputs, Activation activation, LayerMask? mask = null) =>
        new($"Pde_{inputs}_{activation}", Loss.MeanSquaredError, "X", inputs,
        [
            new DenseLayerArchitecture("Hidden1", 6, inputs, activation, LayerMask.None),
            new DenseLayerArchitecture("Hidden2", 5, 6, activation, mask ?? LayerMask.None),
            new DenseLayerArchitecture("U", 1, 5, activation, LayerMask.None),
        ]);

    /// <summary>
    /// <paramref name="counts"/>[t] points for term t, uniform in [-1, 1)^inputs, weights 1, 0.5, 2, ... so that weighting
    /// is exercised.
    /// </summary>
    public static PdeBatch Batch(string equation, int seed, params int[] counts)
    {
        PdeProgram program = Program(equation);
        int inputs = Inputs(equation);
        var batch = new PdeBatch(program, inputs);
        var random = new Random(seed);
        for (int t = 0; t < program.Terms.Length; t++)
        {
            Span<float> points = batch.Resize(t, counts[t % counts.Length], t == 0 ? 1f : t % 2 == 1 ? 0.5f : 2f);
            for (int i = 0; i < points.Length; i++)
            {
                points[i] = (float)(random.NextDouble() * 2 - 1);
            }
        }

        return batch;
    }

    public static ReferencePde Reference(string equation, NetworkArchitecture architecture, int seed) =>
        new(TestArchitectures.RandomReference(architecture, seed), Program(equation));

    /// <summary>Each activation with each equation.</summary>
    public static TheoryData<Activation, string> EveryActivationWithEveryEquation()
    {
        var data = new TheoryData<Activation, string>();
        foreach (Activation activation in TestArchitectures.EveryActivation)
        {
            foreach (string equation in Equations)
            {
                data.Add(activation, equation);
            }
        }

        return data;
    }

    /// <summary>
    /// An engine holding the reference's parameters against it: u and the derivatives each term reads at each point, the
    /// loss of each term, the gradient (scaled by its largest entry), and Loss agreeing with Gradient.
    /// </summary>
    public static void AssertEngineMatchesReference(IPdeEngine pde, ReferencePde reference, PdeBatch batch)
    {
        int inputs = batch.Inputs;
        for (int t = 0; t < batch.Terms.Length; t++)
        {
            PdeTerm term = batch.Terms[t];
            int n = batch.Count(t), first = term.ReadsFirstDerivatives ? inputs : 0, second = term.SecondDerivativeCount;
            float[] values = new float[n], firsts = new float[n * first], seconds = new float[n * second];
            pde.Derivatives(batch, t, values, firsts, seconds);
            for (int s = 0; s < n; s++)
            {
                (double u, double[] du, double[] d2u) = reference.Derivatives(term, batch.Points(t).Slice(s * inputs, inputs));
                CpuEngineTests.AssertClose([u, .. du, .. d2u], [values[s], .. firsts.AsSpan(s * first, first), .. seconds.AsSpan(s * second, second)], 1e-4);
            }
        }

        var expectedLosses = new double[batch.Terms.Length];
        (double expectedLoss, double[] expectedGradient) = reference.Gradients(batch, expectedLosses);
        var losses = new double[batch.Terms.Length];
        var gradient = new float[expectedGradient.Length];
        float loss = pde.Gradient(batch, gradient, losses);

        Assert.True(Math.Abs(loss - expectedLoss) <= 1e-4 * (1 + Math.Abs(expectedLoss)), $"loss {loss}, reference {expectedLoss}");
        CpuEngineTests.AssertClose(expectedLosses, [.. losses.Select(value => (float)value)], 1e-4);
        double scale = Math.Max(1, expectedGradient.Max(Math.Abs));
        CpuEngineTests.AssertClose([.. expectedGradient.Select(value => value / scale)], [.. gradient.Select(value => (float)(value / scale))], 1e-4);
        Assert.Equal(loss, pde.Loss(batch, losses));
    }

    private static (PdeProgram, int) ProgramOf(Network network)
    {
        using (network)
        {
            return (network.GeneratedDefinition.Pde!, network.Architecture.InputSize);
        }
    }
}
