using System.Globalization;

namespace FusedNets;

/// <summary>
/// Limited-memory BFGS with a strong Wolfe line search, for the last phase of physics-informed training, on fixed
/// points (<see cref="PdeTraining.Minimize"/>). The hyperparameters are those of PyTorch's <c>torch.optim.LBFGS</c>
/// with <c>line_search_fn="strong_wolfe"</c>, which is the reference for its behaviour; <see cref="MaxIterations"/> counts
/// iterations of the whole minimization, as PyTorch's <c>max_iter</c> does within one <c>step()</c>.
/// </summary>
/// <remarks>
/// The algorithm is Nocedal and Wright, <i>Numerical Optimization</i> (2nd ed., 2006): the two-loop recursion of
/// Algorithm 7.4 for the search direction, its initial matrix scaled by γ = sᵀy / yᵀy (eq. 7.20), pairs with
/// sᵀy ≤ 10⁻¹⁰ skipped; Algorithms 3.5 and 3.6 for the line search (sufficient decrease c1 = 10⁻⁴, curvature
/// c2 = 0.9), with cubic interpolation (eq. 3.59) safeguarded away from the ends of the bracket, at most 25 evaluations.
/// The first step has length min(1, 1 / ‖g‖₁) × <see cref="LearningRate"/>, the later ones <see cref="LearningRate"/>,
/// as PyTorch's. Vectors are kept in double; parameters are rounded to float for each evaluation.
/// </remarks>
public sealed class Lbfgs
{
    /// <param name="maxIterations">Iterations at most (PyTorch's <c>max_iter</c>).</param>
    /// <param name="historySize">Correction pairs kept (<c>history_size</c>).</param>
    /// <param name="learningRate">Scales the line search's first trial step (<c>lr</c>).</param>
    /// <param name="toleranceGradient">Stop once every gradient entry is at most this in magnitude (<c>tolerance_grad</c>).</param>
    /// <param name="toleranceChange">Stop once a step or the loss changes by less (<c>tolerance_change</c>).</param>
    /// <param name="maxEvaluations">Loss and gradient evaluations at most (<c>max_eval</c>); default 1.25 × <paramref name="maxIterations"/>.</param>
    public Lbfgs(int maxIterations = 500, int historySize = 100, float learningRate = 1, double toleranceGradient = 1e-7, double toleranceChange = 1e-9, int? maxEvaluations = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxIterations);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(historySize);
        if (!float.IsFinite(learningRate) || learningRate <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate must be a positive finite number.");
        }

        if (!(toleranceGradient >= 0) || !(toleranceChange >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(toleranceGradient), "Tolerances must be at least 0.");
        }

        MaxIterations = maxIterations;
        HistorySize = historySize;
        LearningRate = learningRate;
        ToleranceGradient = toleranceGradient;
        ToleranceChange = toleranceChange;
        MaxEvaluations = maxEvaluations ?? maxIterations * 5 / 4;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxEvaluations, nameof(maxEvaluations));
    }

    public int MaxIterations { get; }

    public int HistorySize { get; }

    public float LearningRate { get; }

    public double ToleranceGradient { get; }

    public double ToleranceChange { get; }

    public int MaxEvaluations { get; }

    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"Lbfgs(maxIterations={MaxIterations}, historySize={HistorySize}, lr={LearningRate}, toleranceGradient={ToleranceGradient}, toleranceChange={ToleranceChange}, maxEvaluations={MaxEvaluations})");
}

/// <summary>Why an L-BFGS run stopped.</summary>
public enum LbfgsStop
{
    /// <summary>It took <see cref="Lbfgs.MaxIterations"/> iterations.</summary>
    Iterations,

    /// <summary>It evaluated the loss <see cref="Lbfgs.MaxEvaluations"/> times.</summary>
    Evaluations,

    /// <summary>Every gradient entry fell to <see cref="Lbfgs.ToleranceGradient"/> or below.</summary>
    GradientTolerance,

    /// <summary>A step, the loss's change or the slope along the search direction fell below <see cref="Lbfgs.ToleranceChange"/>.</summary>
    ChangeTolerance,
}

/// <summary>The end of an L-BFGS run.</summary>
/// <param name="Iterations">Iterations taken.</param>
/// <param name="Evaluations">Loss and gradient evaluations, the first included.</param>
/// <param name="Stop">Why it stopped.</param>
/// <param name="Losses">The loss at the parameters it ended with.</param>
public sealed record LbfgsResult(int Iterations, int Evaluations, LbfgsStop Stop, PdeLosses Losses);

/// <summary>Where an L-BFGS run stands after an iteration.</summary>
/// <param name="Iteration">Iterations taken, from 1.</param>
/// <param name="Evaluations">Evaluations so far.</param>
/// <param name="Loss">The loss after the iteration's step.</param>
/// <param name="StepLength">The step length the line search accepted.</param>
public readonly record struct LbfgsProgress(int Iteration, int Evaluations, double Loss, double StepLength);

/// <summary>The L-BFGS iteration and its line search over a flat float parameter vector (see <see cref="Lbfgs"/>).</summary>
internal static class LbfgsMinimizer
{
    private const double SufficientDecrease = 1e-4;
    private const double Curvature = 0.9;
    private const int MaxLineSearchEvaluations = 25;

    public readonly record struct Outcome(float[] Parameters, int Iterations, int Evaluations, LbfgsStop Stop);

    /// <summary>
    /// Minimizes <paramref name="objective"/> (parameters, gradient out → loss) from <paramref name="start"/>; returns the
    /// parameters of the last accepted step.
    /// </summary>
    public static Outcome Minimize(Lbfgs options, float[] start, Func<float[], float[], float> objective, Action<LbfgsProgress>? onIteration)
    {
        var search = new Search(objective, start.Length);
        int n = start.Length;
        double[] x = [.. start.Select(value => (double)value)];
        double[] g = new double[n], direction = new double[n], previousGradient = new double[n];
        double loss = search.Evaluate(x, 0, direction, g);
        var history = new History(options.HistorySize, n);
        if (MaxAbs(g) <= options.ToleranceGradient)
        {
            return new Outcome(search.Point(x, 0, direction), 0, search.Evaluations, LbfgsStop.GradientTolerance);
        }

        double step = 0;
        for (int iteration = 1; ; iteration++)
        {
            if (iteration == 1)
            {
                for (int i = 0; i < n; i++)
                {
                    direction[i] = -g[i];
                }
            }
            else
            {
                // The pair of the last step: s = t d, y = g − g_previous.
                history.Add(direction, step, g, previousGradient);
                history.Direction(g, direction);
            }

            g.CopyTo(previousGradient, 0);
            double previousLoss = loss;
            step = iteration == 1 ? Math.Min(1, 1 / SumAbs(g)) * options.LearningRate : options.LearningRate;
            double slope = Dot(g, direction);
            if (slope > -options.ToleranceChange)
            {
                return new Outcome(search.Point(x, 0, direction), iteration - 1, search.Evaluations, LbfgsStop.ChangeTolerance);
            }

            (step, loss) = search.StrongWolfe(x, direction, step, loss, g, slope, options.ToleranceChange);
            for (int i = 0; i < n; i++)
            {
                x[i] += step * direction[i];
            }

            onIteration?.Invoke(new LbfgsProgress(iteration, search.Evaluations, loss, step));
            LbfgsStop? stop = iteration >= options.MaxIterations ? LbfgsStop.Iterations
                : search.Evaluations >= options.MaxEvaluations ? LbfgsStop.Evaluations
                : MaxAbs(g) <= options.ToleranceGradient ? LbfgsStop.GradientTolerance
                : MaxAbs(direction) * Math.Abs(step) <= options.ToleranceChange || Math.Abs(loss - previousLoss) < options.ToleranceChange ? LbfgsStop.ChangeTolerance
                : null;
            if (stop is { } reason)
            {
                return new Outcome(search.Point(x, 0, direction), iteration, search.Evaluations, reason);
            }
        }
    }

    /// <summary>The correction pairs (s, y) of the last steps, and the two-loop recursion over them.</summary>
    private sealed class History(int capacity, int n)
    {
        private readonly List<(double[] S, double[] Y, double Rho)> _pairs = new(capacity);
        private readonly double[] _alphas = new double[capacity];
        private double _scale = 1;

        public void Add(double[] direction, double step, double[] gradient, double[] previousGradient)
        {
            double[] s = new double[n], y = new double[n];
            for (int i = 0; i < n; i++)
            {
                s[i] = step * direction[i];
                y[i] = gradient[i] - previousGradient[i];
            }

            double ys = Dot(y, s);
            if (ys <= 1e-10)
            {
                return; // no positive curvature along the step: the pair would spoil the approximation
            }

            if (_pairs.Count == capacity)
            {
                _pairs.RemoveAt(0);
            }

            _pairs.Add((s, y, 1 / ys));
            _scale = ys / Dot(y, y);
        }

        /// <summary>d = −H g, H the inverse-Hessian approximation of the pairs (Nocedal and Wright, Algorithm 7.4).</summary>
        public void Direction(double[] gradient, double[] direction)
        {
            for (int i = 0; i < n; i++)
            {
                direction[i] = -gradient[i];
            }

            for (int k = _pairs.Count - 1; k >= 0; k--)
            {
                (double[] s, double[] y, double rho) = _pairs[k];
                double alpha = rho * Dot(s, direction);
                _alphas[k] = alpha;
                for (int i = 0; i < n; i++)
                {
                    direction[i] -= alpha * y[i];
                }
            }

            for (int i = 0; i < n; i++)
            {
                direction[i] *= _scale;
            }

            for (int k = 0; k < _pairs.Count; k++)
            {
                (double[] s, double[] y, double rho) = _pairs[k];
                double beta = rho * Dot(y, direction);
                for (int i = 0; i < n; i++)
                {
                    direction[i] += s[i] * (_alphas[k] - beta);
                }
            }
        }
    }

    /// <summary>The objective along x + t d, and the line search over t.</summary>
    private sealed class Search(Func<float[], float[], float> objective, int n)
    {
        private readonly float[] _point = new float[n];
        private readonly float[] _gradient = new float[n];

        public int Evaluations { get; private set; }

        /// <summary>The parameters x + t d, rounded to float (a fresh array).</summary>
        public float[] Point(double[] x, double t, double[] direction)
        {
            var point = new float[n];
            for (int i = 0; i < n; i++)
            {
                point[i] = (float)(x[i] + t * direction[i]);
            }

            return point;
        }

        /// <summary>The loss at x + t d, its gradient into <paramref name="gradient"/>; a loss that is not finite counts as +∞.</summary>
        public double Evaluate(double[] x, double t, double[] direction, double[] gradient)
        {
            for (int i = 0; i < n; i++)
            {
                _point[i] = (float)(x[i] + t * direction[i]);
            }

            float loss = objective(_point, _gradient);
            Evaluations++;
            for (int i = 0; i < n; i++)
            {
                gradient[i] = _gradient[i];
            }

            return float.IsFinite(loss) ? loss : double.PositiveInfinity;
        }

        /// <summary>
        /// A step length t satisfying the strong Wolfe conditions along <paramref name="direction"/> from x (loss
        /// <paramref name="loss0"/>, slope <paramref name="slope0"/>), or the best found within the evaluations allowed.
        /// Returns t and the loss there, the gradient there in <paramref name="gradient"/>.
        /// </summary>
        public (double Step, double Loss) StrongWolfe(double[] x, double[] direction, double t, double loss0, double[] gradient, double slope0, double toleranceChange)
        {
            double directionSize = MaxAbs(direction);
            var start = new Trial(0, loss0, slope0, (double[])gradient.Clone());
            Trial previous = start;
            Trial current = At(x, direction, t);
            Trial low, high;
            int evaluations = 1;

            // Algorithm 3.5: step out until the minimum is bracketed or the conditions hold.
            while (true)
            {
                if (current.Loss > loss0 + SufficientDecrease * current.Step * slope0 || (evaluations > 1 && current.Loss >= previous.Loss))
                {
                    (low, high) = (previous, current);
                    break;
                }

                if (Math.Abs(current.Slope) <= -Curvature * slope0)
                {
                    return Accept(current, gradient);
                }

                if (current.Slope >= 0)
                {
                    (low, high) = (current, previous);
                    break;
                }

                if (evaluations >= MaxLineSearchEvaluations)
                {
                    (low, high) = (start, current);
                    break;
                }

                // Extrapolate: a cubic's minimizer between a little past t and ten times t.
                double next = Cubic(previous, current, current.Step + 0.01 * (current.Step - previous.Step), 10 * current.Step);
                previous = current;
                current = At(x, direction, next);
                evaluations++;
            }

            // Algorithm 3.6 (zoom): low always satisfies sufficient decrease with the least loss seen; shrink [low, high].
            bool littleProgress = false;
            while (evaluations < MaxLineSearchEvaluations && Math.Abs(high.Step - low.Step) * directionSize >= toleranceChange)
            {
                double lower = Math.Min(low.Step, high.Step), upper = Math.Max(low.Step, high.Step);
                double step = Cubic(low, high, lower, upper);

                // Keep trials away from the ends, where the bracket would shrink by almost nothing.
                double margin = 0.1 * (upper - lower);
                if (Math.Min(upper - step, step - lower) < margin)
                {
                    if (littleProgress || step >= upper || step <= lower)
                    {
                        step = Math.Abs(step - upper) < Math.Abs(step - lower) ? upper - margin : lower + margin;
                        littleProgress = false;
                    }
                    else
                    {
                        littleProgress = true;
                    }
                }
                else
                {
                    littleProgress = false;
                }

                Trial trial = At(x, direction, step);
                evaluations++;
                if (trial.Loss > loss0 + SufficientDecrease * trial.Step * slope0 || trial.Loss >= low.Loss)
                {
                    high = trial;
                    continue;
                }

                if (Math.Abs(trial.Slope) <= -Curvature * slope0)
                {
                    return Accept(trial, gradient);
                }

                if (trial.Slope * (high.Step - low.Step) >= 0)
                {
                    high = low;
                }

                low = trial;
            }

            return Accept(low, gradient);
        }

        private Trial At(double[] x, double[] direction, double t)
        {
            var gradient = new double[n];
            double loss = Evaluate(x, t, direction, gradient);
            return new Trial(t, loss, Dot(gradient, direction), gradient);
        }

        private static (double, double) Accept(Trial trial, double[] gradient)
        {
            trial.Gradient.CopyTo(gradient, 0);
            return (trial.Step, trial.Loss);
        }

        /// <summary>
        /// The minimizer, clamped to [<paramref name="lower"/>, <paramref name="upper"/>], of the cubic matching loss and
        /// slope at both trials (Nocedal and Wright, eq. 3.59); the middle of the interval when the cubic has none.
        /// </summary>
        private static double Cubic(Trial a, Trial b, double lower, double upper)
        {
            if (!double.IsFinite(a.Loss) || !double.IsFinite(b.Loss))
            {
                return (lower + upper) / 2;
            }

            double d1 = a.Slope + b.Slope - 3 * (a.Loss - b.Loss) / (a.Step - b.Step);
            double square = d1 * d1 - a.Slope * b.Slope;
            if (square < 0)
            {
                return (lower + upper) / 2;
            }

            double d2 = Math.Sign(b.Step - a.Step) * Math.Sqrt(square);
            double denominator = b.Slope - a.Slope + 2 * d2;
            double step = denominator == 0 ? (lower + upper) / 2 : b.Step - (b.Step - a.Step) * (b.Slope + d2 - d1) / denominator;
            return double.IsFinite(step) ? Math.Clamp(step, lower, upper) : (lower + upper) / 2;
        }

        private readonly record struct Trial(double Step, double Loss, double Slope, double[] Gradient);
    }

    private static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    private static double MaxAbs(double[] values) => values.Max(Math.Abs);

    private static double SumAbs(double[] values) => values.Sum(Math.Abs);
}
