using FusedNets.Backends;
using FusedNets.Generated;
using FusedNets.Persistence;

namespace FusedNets;

// Physics-informed training (docs/pde.md): what PdeTraining asks of the network, under the network's lock like every
// other operation. The engine's physics-informed part shares the engine's parameters and momentum, so a step here and a
// TrainBatch see the same network.
public abstract partial class Network
{
    private IPdeEngine? _pdeEngine;

    /// <summary>The residual and conditions the generator found, or null for a network without a <see cref="ResidualAttribute"/> method.</summary>
    internal PdeProgram? PdeProgram => GeneratedDefinition.Pde;

    /// <summary>
    /// One step of <paramref name="optimizer"/> at <paramref name="learningRate"/> on every term's points; the loss before
    /// it. The step counts in the network's optimizer state like a step of Fit or TrainBatch (Adam's t), so the two
    /// may be mixed. <paramref name="stepNumber"/> names the step in a divergence.
    /// </summary>
    /// <exception cref="TrainingDivergedException">The step went non-finite and was dropped.</exception>
    internal float PdeTrainStep(PdeBatch batch, Optimizer optimizer, float learningRate, Span<double> termLosses, int? stepNumber)
    {
        lock (_gate)
        {
            IPdeEngine engine = PrepareEngineForPde(batch);
            SavedOptimizerState? previous = StartOptimizerState(optimizer);
            float loss = float.NaN;
            try
            {
                loss = engine.TrainStep(batch, optimizer.ToStep(learningRate, _optimizerSteps + 1), termLosses);
            }
            finally
            {
                // A dropped step, or an engine that does not apply this rule here, leaves the state it found.
                if (float.IsNaN(loss) && previous is not null)
                {
                    WriteOptimizerState(previous);
                }
            }

            if (float.IsNaN(loss))
            {
                throw new TrainingDivergedException(stepNumber, stepNumber is null ? null : 1, engine.Loss(batch, termLosses));
            }

            _optimizerSteps++;
            _hostParametersStale = true;
            return loss;
        }
    }

    /// <summary>The loss and its gradient (flat, masked) at the current parameters.</summary>
    internal float PdeGradient(PdeBatch batch, Span<float> gradient, Span<double> termLosses)
    {
        lock (_gate)
        {
            return PrepareEngineForPde(batch).Gradient(batch, gradient, termLosses);
        }
    }

    /// <summary>The loss at the current parameters.</summary>
    internal float PdeLoss(PdeBatch batch, Span<double> termLosses)
    {
        lock (_gate)
        {
            return PrepareEngineForPde(batch).Loss(batch, termLosses);
        }
    }

    private IPdeEngine PrepareEngineForPde(PdeBatch batch)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        PrepareEngine();
        return _pdeEngine ??= _engine is IPdeEngineSource source
            ? source.Pde(batch.Program)
            : throw new NotSupportedException($"Backend.{Backend} does not train physics-informed networks.");
    }
}
