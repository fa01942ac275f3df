using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using FusedNets.Generated;

namespace FusedNets;

/// <summary>How collocation points are drawn from a <see cref="Region"/>.</summary>
public enum Sampling
{
    /// <summary>Independent uniform points from a seeded generator.</summary>
    Uniform,

    /// <summary>
    /// The Sobol' sequence (<see cref="SobolSequence"/>), which covers the region more evenly than random points;
    /// each redraw takes the sequence's next points, so points never repeat.
    /// </summary>
    Sobol,
}

/// <summary>
/// Physics-informed training of a network that declares a <see cref="ResidualAttribute"/> method: the points each term
/// of the loss is evaluated at, and the optimizers that drive the loss down. The loss is
/// <code>
///   L = Σ_terms weight · mean over the term's points of r(x)²
/// </code>
/// r being the term's method, evaluated on the network's u and its derivatives with respect to the inputs, which the
/// engines carry forward with the values (docs/pde.md).
/// </summary>
/// <example>
/// <code>
/// var square = Box.Unit(2);
/// var training = new PdeTraining(network)
///     .Points(nameof(Poisson.Residual), square, count: 1024)
///     .Points(nameof(Poisson.Boundary), square.Boundary, count: 256, weight: 10);
/// training.Fit(new Sgd(0.01f, momentum: 0.9f), steps: 2000);   // new points every step
/// training.Minimize(new Lbfgs(maxIterations: 500));               // then L-BFGS on fixed points
/// </code>
/// </example>
public sealed class PdeTraining
{
    private readonly Network _network;
    private readonly PdeProgram _program;
    private readonly PdeBatch _batch;
    private readonly PointSource?[] _sources;
    private readonly double[] _termLosses;

    /// <summary>Training for <paramref name="network"/>, whose class declares a residual; every term still needs its points.</summary>
    /// <exception cref="ArgumentException">The network's class has no <see cref="ResidualAttribute"/> method.</exception>
    public PdeTraining(Network network)
    {
        ArgumentNullException.ThrowIfNull(network);
        _program = network.PdeProgram ?? throw new ArgumentException(
            $"Network '{network.Architecture.Name}' declares no [Residual] method, so it has no physics-informed loss.", nameof(network));
        _network = network;
        _batch = new PdeBatch(_program, network.Architecture.InputSize);
        _sources = new PointSource?[_program.Terms.Length];
        _termLosses = new double[_program.Terms.Length];
    }

    /// <summary>The residual, then each condition: what <see cref="Points(string, Region, int, float, Sampling, int)"/> names.</summary>
    public ImmutableArray<PdeTerm> Terms => _program.Terms;

    /// <summary>
    /// Evaluates term <paramref name="term"/> (its method's name) at <paramref name="count"/> points drawn from
    /// <paramref name="region"/>, weighted by <paramref name="weight"/> in the loss; draws them now.
    /// </summary>
    public PdeTraining Points(string term, Region region, int count, float weight = 1, Sampling sampling = Sampling.Sobol, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(region);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        int index = TermIndex(term);
        CheckWeight(weight);
        if (region.Dimensions != _batch.Inputs)
        {
            throw new ArgumentException($"Region {region} has {region.Dimensions} dimensions, but the network has {_batch.Inputs} inputs.", nameof(region));
        }

        var source = new PointSource(region, sampling, seed);
        _sources[index] = source;
        source.Draw(_batch.Resize(index, count, weight));
        return this;
    }

    /// <summary>Evaluates term <paramref name="term"/> at fixed <paramref name="points"/> (n × inputs, sample-major), which redraws leave as they are.</summary>
    public PdeTraining Points(string term, ReadOnlySpan<float> points, float weight = 1)
    {
        int index = TermIndex(term);
        CheckWeight(weight);
        if (points.IsEmpty || points.Length % _batch.Inputs != 0)
        {
            throw new ArgumentException($"Expected a whole number of points of {_batch.Inputs} inputs each, got {points.Length} floats.", nameof(points));
        }

        for (int i = 0; i < points.Length; i++)
        {
            if (!float.IsFinite(points[i]))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"points[{i}] is {points[i]}: every coordinate must be finite."), nameof(points));
            }
        }

        _sources[index] = null;
        points.CopyTo(_batch.Resize(index, points.Length / _batch.Inputs, weight));
        return this;
    }

    /// <summary>The points term <paramref name="term"/> is evaluated at now (n × inputs).</summary>
    public ReadOnlySpan<float> CurrentPoints(string term) => _batch.Points(TermIndex(term));

    /// <summary>Draws new points for every term drawn from a region; fixed points stay.</summary>
    public void Resample()
    {
        for (int t = 0; t < _sources.Length; t++)
        {
            _sources[t]?.Draw(_batch.Resize(t, _batch.Count(t), _batch.Weight(t)));
        }
    }

    /// <summary>The loss at the current points and parameters.</summary>
    public PdeLosses Evaluate()
    {
        CheckEveryTermHasPoints();
        float total = _network.PdeLoss(_batch, _termLosses);
        return new PdeLosses(total, _program.Terms, [.. _termLosses]);
    }

    /// <summary>One step of <paramref name="optimizer"/> at its learning rate on the current points; the loss before it.</summary>
    /// <exception cref="TrainingDivergedException">The step went non-finite and was dropped.</exception>
    public PdeLosses Step(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        CheckEveryTermHasPoints();
        float total = _network.PdeTrainStep(_batch, optimizer, optimizer.LearningRate, _termLosses, stepNumber: null);
        return new PdeLosses(total, _program.Terms, [.. _termLosses]);
    }

    /// <summary>
    /// <paramref name="steps"/> steps of <paramref name="optimizer"/>, each on every term's points at once (full batch);
    /// with <paramref name="resample"/>, new points before every step (after the first, which takes the current ones),
    /// else the same points throughout. Returns the loss before the last step.
    /// </summary>
    /// <param name="optimizer">The update rule.</param>
    /// <param name="steps">How many steps.</param>
    /// <param name="resample">Draw new points for every step (the region-drawn terms), or keep them fixed.</param>
    /// <param name="schedule">Each step's learning rate, a step counting as an epoch (steps from 0).</param>
    /// <param name="onStep">Called after every step with its loss; allocates nothing by itself.</param>
    /// <exception cref="TrainingDivergedException">A step went non-finite and was dropped; the network keeps the last good step.</exception>
    public PdeLosses Fit(Optimizer optimizer, int steps, bool resample = true, LearningRateSchedule? schedule = null, Action<PdeProgress>? onStep = null)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        CheckEveryTermHasPoints();
        long started = Stopwatch.GetTimestamp();
        float total = 0;
        for (int step = 0; step < steps; step++)
        {
            if (resample && step > 0)
            {
                Resample();
            }

            float rate = schedule?.LearningRateAt(step, optimizer.LearningRate) ?? optimizer.LearningRate;
            if (!float.IsFinite(rate) || rate < 0)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{schedule} gives step {step} a learning rate of {rate}: a learning rate must be a finite number of at least 0."), nameof(schedule));
            }

            total = _network.PdeTrainStep(_batch, optimizer, rate, _termLosses, stepNumber: step + 1);
            onStep?.Invoke(new PdeProgress(step + 1, steps, total, rate, Stopwatch.GetElapsedTime(started)));
        }

        return new PdeLosses(total, _program.Terms, [.. _termLosses]);
    }

    /// <summary>
    /// Minimizes the loss at the current points, which stay fixed, with L-BFGS and a strong Wolfe line search
    /// (<see cref="Lbfgs"/>); the network is left at the best parameters found.
    /// </summary>
    public LbfgsResult Minimize(Lbfgs lbfgs, Action<LbfgsProgress>? onIteration = null)
    {
        ArgumentNullException.ThrowIfNull(lbfgs);
        CheckEveryTermHasPoints();
        var parameters = new float[_network.Architecture.ParameterCount];
        _network.CopyParametersTo(parameters);
        var result = LbfgsMinimizer.Minimize(
            lbfgs,
            parameters,
            (point, gradient) =>
            {
                _network.SetParameters(point);
                return _network.PdeGradient(_batch, gradient, _termLosses);
            },
            onIteration);
        _network.SetParameters(result.Parameters);
        float total = _network.PdeLoss(_batch, _termLosses);
        return new LbfgsResult(result.Iterations, result.Evaluations, result.Stop, new PdeLosses(total, _program.Terms, [.. _termLosses]));
    }

    internal PdeBatch Batch => _batch;

    private int TermIndex(string term)
    {
        ArgumentNullException.ThrowIfNull(term);
        for (int t = 0; t < _program.Terms.Length; t++)
        {
            if (_program.Terms[t].Name == term)
            {
                return t;
            }
        }

        throw new ArgumentException($"Network '{_network.Architecture.Name}' has no term '{term}'; its terms are {string.Join(", ", _program.Terms.Select(t => $"'{t.Name}'"))}.", nameof(term));
    }

    private static void CheckWeight(float weight)
    {
        if (!float.IsFinite(weight) || weight < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(weight), weight, "A term's weight must be a finite number of at least 0.");
        }
    }

    private void CheckEveryTermHasPoints()
    {
        for (int t = 0; t < _program.Terms.Length; t++)
        {
            if (_batch.Count(t) == 0)
            {
                throw new InvalidOperationException($"Term '{_program.Terms[t].Name}' has no points: give it some with Points(\"{_program.Terms[t].Name}\", ...).");
            }
        }
    }

    /// <summary>Where a term's points come from: a region, drawn by a Sobol' sequence or a seeded generator.</summary>
    private sealed class PointSource(Region region, Sampling sampling, int seed)
    {
        private readonly SobolSequence? _sobol = sampling == Sampling.Sobol ? new SobolSequence(region.Parameters) : null;
        private readonly Random? _random = sampling == Sampling.Uniform ? new Random(seed) : null;
        private readonly double[] _unit = new double[region.Parameters];

        public void Draw(Span<float> points)
        {
            int dimensions = region.Dimensions;
            for (int p = 0; p < points.Length / dimensions; p++)
            {
                if (_sobol is not null)
                {
                    _sobol.Next(_unit);
                }
                else
                {
                    for (int j = 0; j < _unit.Length; j++)
                    {
                        _unit[j] = _random!.NextDouble();
                    }
                }

                region.Map(_unit, points.Slice(p * dimensions, dimensions));
            }
        }
    }
}

/// <summary>A physics-informed loss: the weighted total and each term's mean squared value.</summary>
/// <param name="Total">Σ weight · mean of r² over the terms.</param>
/// <param name="Terms">The terms, in order.</param>
/// <param name="MeanSquared">Each term's mean of r² over its points, unweighted, in the order of <paramref name="Terms"/>.</param>
public sealed record PdeLosses(float Total, ImmutableArray<PdeTerm> Terms, ImmutableArray<double> MeanSquared)
{
    /// <summary>The mean of r² over the points of the term named <paramref name="term"/>.</summary>
    public double this[string term] => MeanSquared[Terms.IndexOf(Terms.FirstOrDefault(t => t.Name == term)
        ?? throw new KeyNotFoundException($"No term '{term}'."))];

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Total:G4} (") + string.Join(", ", Terms.Select((t, i) => string.Create(CultureInfo.InvariantCulture, $"{t.Name} {MeanSquared[i]:G4}"))) + ")";
}

/// <summary>Where <see cref="PdeTraining.Fit"/> stands after a step.</summary>
/// <param name="Step">Steps taken, from 1.</param>
/// <param name="Steps">Steps in the run.</param>
/// <param name="Loss">The step's loss, before its update.</param>
/// <param name="LearningRate">The step's learning rate.</param>
/// <param name="Elapsed">Time since the run started.</param>
public readonly record struct PdeProgress(int Step, int Steps, float Loss, float LearningRate, TimeSpan Elapsed);
