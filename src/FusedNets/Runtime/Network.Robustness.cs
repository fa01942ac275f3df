using FusedNets.Data;

namespace FusedNets;

// Robustness and interpretability (docs/research.md): certified output bounds, and the checked entries to the engine
// operations Robustness and Interpretability build on and robust training takes.
public abstract partial class Network
{
    /// <summary>
    /// Certified bounds of every output by interval bound propagation (Gowal et al. 2018): for n boxes of inputs,
    /// <paramref name="lower"/> and <paramref name="upper"/> (n × InputSize each, lower ≤ upper), writes bounds of each
    /// output (n × OutputSize each) that hold for every input in the box.
    /// </summary>
    /// <remarks>
    /// The bounds are sound in float arithmetic: they hold the output <see cref="Predict(ReadOnlySpan{float}, Span{float})"/>
    /// gives for any input in the box on any backend, and the output in exact arithmetic. Each is widened by a proven
    /// margin, not by outward rounding: the rounding error of computing it plus the largest error any float forward pass
    /// can make on the same layer, whatever the order of its sums (docs/research.md derives the margins). The engines
    /// compute them batched, in kernels shaped like the forward pass's.
    /// </remarks>
    public void IntervalBounds(ReadOnlySpan<float> lower, ReadOnlySpan<float> upper, Span<float> outputLower, Span<float> outputUpper)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int batch = CheckBoxes(lower, upper);
            CheckLength(outputLower.Length, batch, Architecture.OutputSize, nameof(outputLower));
            CheckLength(outputUpper.Length, batch, Architecture.OutputSize, nameof(outputUpper));
            if (batch == 0)
            {
                return;
            }

            PrepareEngine();
            _engine.IntervalBounds(lower, upper, batch, Architecture.Layers.Length, outputLower, outputUpper);
        }
    }

    /// <summary>Bounds of the activations of layer <paramref name="layers"/> − 1 over the boxes (the boxes themselves for 0), for certification's elision.</summary>
    internal void LayerBounds(ReadOnlySpan<float> lower, ReadOnlySpan<float> upper, int layers, Span<float> outputLower, Span<float> outputUpper)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int batch = CheckBoxes(lower, upper);
            if (layers == 0)
            {
                lower.CopyTo(outputLower);
                upper.CopyTo(outputUpper);
                return;
            }

            PrepareEngine();
            _engine.IntervalBounds(lower, upper, batch, layers, outputLower, outputUpper);
        }
    }

    /// <summary>vᵀ ∂outputs/∂inputs for each sample of a batch, v its row of <paramref name="outputGradient"/> (n × OutputSize).</summary>
    internal void VectorJacobianProduct(ReadOnlySpan<float> inputs, ReadOnlySpan<float> outputGradient, Span<float> inputGradient)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int batch = CheckInputs(inputs, nameof(inputs));
            CheckLength(outputGradient.Length, batch, Architecture.OutputSize, nameof(outputGradient));
            CheckLength(inputGradient.Length, batch, Architecture.InputSize, nameof(inputGradient));
            CheckFinite(inputs, nameof(inputs), "input");
            if (batch == 0)
            {
                return;
            }

            PrepareEngine();
            _engine.VectorJacobianProduct(inputs, outputGradient, batch, inputGradient);
        }
    }

    /// <summary>One step of certified training on a batch already checked; a step that goes non-finite throws, dropped.</summary>
    private float TrainStepCertified(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, CertifiedStep certified, SgdStep step, int epoch, int batchNumber)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int batch = CheckBatch(inputs, labels, default);
            PrepareEngine();
            float loss = _engine.TrainBatchCertified(inputs, labels, batch, certified, step);
            if (float.IsNaN(loss))
            {
                throw new TrainingDivergedException(epoch, batchNumber, LossBeforeStep(inputs, labels, default, batch));
            }

            _hostParametersStale = true;
            return loss;
        }
    }

    /// <summary>
    /// One epoch of robust training, batch by batch: certified training's steps with the ε and κ of each step's place in
    /// the run, or ordinary steps on PGD examples of each batch. Returns the sum of the samples' losses.
    /// </summary>
    private double TrainEpochRobustly(RobustTraining training, Dataset data, int[] order, BatchBuffer batches, SgdStep step, int epoch, ProgressClock progress)
    {
        long batchesPerEpoch = (data.Count + batches.Capacity - 1) / batches.Capacity;
        double lossSum = 0;
        int batchNumber = 0;
        float[] adversarial = [];
        for (int first = 0; first < data.Count; first += batches.Capacity)
        {
            int batch = batches.Gather(order.AsSpan(first, Math.Min(batches.Capacity, data.Count - first)));
            batchNumber++;

            // Steps count from 0 at the first batch of epoch 1, so a resumed run takes the ramps where one long run would.
            long globalStep = (epoch - 1) * batchesPerEpoch + batchNumber - 1;
            float loss;
            switch (training)
            {
                case CertifiedTraining certified:
                    (float epsilon, float kappa) = certified.At(globalStep);
                    loss = epsilon == 0
                        ? TrainStep(batches.Inputs, batches.Labels, default, step, epoch, batchNumber)
                        : TrainStepCertified(batches.Inputs, batches.Labels, new CertifiedStep(epsilon, kappa, certified.ClipMin, certified.ClipMax), step, epoch, batchNumber);
                    break;
                case AdversarialTraining pgd:
                    if (adversarial.Length < batches.Inputs.Length)
                    {
                        adversarial = new float[batches.Inputs.Length];
                    }

                    Span<float> examples = adversarial.AsSpan(0, batches.Inputs.Length);
                    Robustness.Pgd(this, batches.Inputs, batches.Labels, pgd.Epsilon, pgd.Steps, pgd.StepSize, examples, HashCode.Combine(pgd.Seed, globalStep), pgd.ClipMin, pgd.ClipMax);
                    loss = TrainStep(examples, batches.Labels, default, step, epoch, batchNumber);
                    break;
                default:
                    throw new ArgumentException($"Unknown robust training {training}.", nameof(training));
            }

            lossSum += (double)loss * batch;
            progress.Trained(first + batch, lossSum);
        }

        return lossSum;
    }

    /// <summary>Refuses robust training of a regressor, and clip ranges the data leaves.</summary>
    private void CheckRobustTraining(RobustTraining? training, Dataset data)
    {
        if (training is null)
        {
            return;
        }

        if (!Architecture.IsClassifier)
        {
            throw new ArgumentException($"{training.GetType().Name} trains a classifier against perturbations that change its class; {Architecture.Name} is a regressor.", nameof(training));
        }

        (float clipMin, float clipMax) = training switch
        {
            CertifiedTraining certified => (certified.ClipMin, certified.ClipMax),
            AdversarialTraining adversarial => (adversarial.ClipMin, adversarial.ClipMax),
            _ => (float.NegativeInfinity, float.PositiveInfinity),
        };
        CheckWithinClipRange(data.Features, clipMin, clipMax, "data");
    }

    /// <summary>The number of boxes; throws unless both ends have n × InputSize finite floats with lower ≤ upper.</summary>
    private int CheckBoxes(ReadOnlySpan<float> lower, ReadOnlySpan<float> upper)
    {
        int batch = CheckInputs(lower, nameof(lower));
        CheckLength(upper.Length, batch, Architecture.InputSize, nameof(upper));
        CheckFinite(lower, nameof(lower), "bound");
        CheckFinite(upper, nameof(upper), "bound");
        for (int i = 0; i < lower.Length; i++)
        {
            if (lower[i] > upper[i])
            {
                throw new ArgumentException(Invariant($"lower[{i}] is {lower[i]}, above upper[{i}] = {upper[i]}: a box needs lower ≤ upper."), nameof(upper));
            }
        }

        return batch;
    }

    /// <summary>Throws unless every value lies in [<paramref name="clipMin"/>, <paramref name="clipMax"/>]: a perturbation clipped to that range could otherwise leave the ε-ball.</summary>
    internal static void CheckWithinClipRange(ReadOnlySpan<float> values, float clipMin, float clipMax, string parameter)
    {
        if (float.IsNaN(clipMin) || float.IsNaN(clipMax) || clipMin > clipMax)
        {
            throw new ArgumentException(Invariant($"The clip range [{clipMin}, {clipMax}] is empty."), nameof(clipMin));
        }

        for (int i = 0; i < values.Length; i++)
        {
            if (!(values[i] >= clipMin && values[i] <= clipMax))
            {
                throw new ArgumentException(Invariant($"{parameter}[{i}] is {values[i]}, outside the clip range [{clipMin}, {clipMax}]."), parameter);
            }
        }
    }

    /// <summary>The labels of a classification data set that fits this classifier, or an exception naming what does not.</summary>
    internal void CheckClassificationData(Dataset data, string parameter)
    {
        ArgumentNullException.ThrowIfNull(data, parameter);
        if (!Architecture.IsClassifier)
        {
            throw new ArgumentException($"{Architecture.Name} is a regressor: certified accuracy needs a classifier.", parameter);
        }

        CheckDataset(data, parameter);
        CheckDataValues(data, parameter);
    }

    /// <summary>Throws unless the network is a classifier and the labels fit its classes.</summary>
    internal void CheckLabels(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels)
    {
        if (!Architecture.IsClassifier)
        {
            throw new ArgumentException($"{Architecture.Name} is a regressor: attacks on its labels need a classifier.", nameof(labels));
        }

        CheckBatch(inputs, labels, default);
    }
}
