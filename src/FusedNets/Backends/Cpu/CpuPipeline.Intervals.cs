using FusedNets.Backends;
using FusedNets.Backends.Cpu;

namespace FusedNets.Generated;

// Interval bound propagation (docs/research.md): bounds over boxes of inputs, sound in float, and certified training's
// step (Gowal et al. 2018), in phases over the worker pool like a training pass's (L layers, a barrier after each):
//   input        both ends of the boxes to feature-major
//   prepare l    for a layer with weights: center, radius and per-sample magnitude of its input's bounds; |W| and its row sums
//   bounds l     the kind's IntervalForward: z's and y's bounds                                      for l = 0..L'-1
// and when training:
//   loss         the interval loss on each sample's logit differences and dμ, dρ of the last bounds it read,
//                through the last layer itself where it is elided (then a second phase: its weight gradient)
//   backward l   the kind's IntervalBackward to the layer below, and its IntervalGradient            for l = L'-1..0
//   step         SGD from the gradients, into the next parameter buffers
// Certified training's batch holds each sample twice: as the point itself (its box of radius 0, whose interval loss
// is the ordinary loss, since the bounds of logit differences over a point are the differences themselves) weighted
// κ / B, and as its ε-box weighted (1 − κ) / B. One pass then gives the gradient of the whole mixed loss.
public sealed unsafe partial class CpuPipeline<TVector, TOps>
{
    private CpuIntervalWorkspace? _intervals;
    private int _layerIntervalCapacity;
    private bool _layerIntervalsTrain;
    private Action<int>? _runIntervalPassOnThread;
    private float[] _boxLower = [], _boxUpper = [];

    // The interval pass in flight: how many layers it bounds, whether it trains, and the caller's buffers.
    private int _intervalLayers;
    private bool _intervalTraining;
    private float* _intervalLower, _intervalUpper, _intervalOutputLower, _intervalOutputUpper;

    /// <summary>The interval pass's buffers.</summary>
    internal CpuIntervalWorkspace Intervals => _intervals!;

    /// <summary>Whether the interval pass trains: bounds are then not widened, and layers keep what their gradient reads.</summary>
    internal bool IntervalTraining => _intervalTraining;

    /// <summary>Layer <paramref name="l"/>'s input bounds, feature-major (Inputs, P).</summary>
    internal float* IntervalLowerOf(int l) => l == 0 ? Intervals.InputLower.Pointer : Intervals.Lower[l - 1].Pointer;

    internal float* IntervalUpperOf(int l) => l == 0 ? Intervals.InputUpper.Pointer : Intervals.Upper[l - 1].Pointer;

    void INetworkEngine.IntervalBounds(ReadOnlySpan<float> lower, ReadOnlySpan<float> upper, int batch, int layers, Span<float> outputLower, Span<float> outputUpper)
    {
        fixed (float* lowerPointer = lower, upperPointer = upper, outputLowerPointer = outputLower, outputUpperPointer = outputUpper)
        {
            _intervalOutputLower = outputLowerPointer;
            _intervalOutputUpper = outputUpperPointer;
            RunIntervalPass(lowerPointer, upperPointer, batch, layers, training: false);
            _intervalOutputLower = _intervalOutputUpper = null;
        }
    }

    float INetworkEngine.TrainBatchCertified(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, int batch, CertifiedStep step, SgdStep sgd)
    {
        // The points, weighted κ / B, then their boxes, weighted (1 − κ) / B; without the points when κ is 0.
        int inputSize = _architecture.InputSize;
        int copies = step.Kappa == 0 ? 1 : 2, boxes = copies * batch;
        if (_boxLower.Length < boxes * inputSize)
        {
            _boxLower = new float[boxes * inputSize];
            _boxUpper = new float[boxes * inputSize];
        }

        EnsureIntervalCapacity(boxes, training: true);
        CpuIntervalWorkspace intervals = Intervals;
        for (int copy = 0; copy < copies; copy++)
        {
            bool points = copies == 2 && copy == 0;
            Span<float> lower = _boxLower.AsSpan(copy * batch * inputSize, batch * inputSize), upper = _boxUpper.AsSpan(copy * batch * inputSize, batch * inputSize);
            IntervalBoxes.Around(inputs, points ? 0 : step.Epsilon, step.ClipMin, step.ClipMax, lower, upper);
            labels.CopyTo(intervals.Labels.AsSpan(copy * batch));
            intervals.LossWeights.AsSpan(copy * batch, batch).Fill((points ? step.Kappa : 1 - step.Kappa) / batch);
        }

        _nonFinite.AsSpan().Clear();
        Sgd = sgd;
        fixed (float* lower = _boxLower, upper = _boxUpper)
        {
            RunIntervalPass(lower, upper, boxes, _layers.Length, training: true);
        }

        double loss = 0;
        for (int s = 0; s < boxes; s++)
        {
            loss += (double)intervals.LossWeights[s] * intervals.Losses[s];
        }

        float nonFinite = 0;
        foreach (float slot in _nonFinite.AsSpan())
        {
            nonFinite += slot;
        }

        if (!double.IsFinite(loss) || nonFinite != 0)
        {
            return float.NaN; // the step's buffers are dropped, as TrainBatch drops them
        }

        foreach (CpuLayer<TVector, TOps> layer in _layers)
        {
            layer.Weights?.Flip();
        }

        return (float)loss;
    }

    /// <summary>The workspace for at least <paramref name="batch"/> samples, and the layers' own scratch, with what their gradient reads once a pass trains.</summary>
    private void EnsureIntervalCapacity(int batch, bool training)
    {
        if (_intervals is null || _intervals.Capacity < batch)
        {
            _intervals = new CpuIntervalWorkspace(_architecture, [.. _layers.Select(layer => layer.Weights)], batch, TOps.Count);
        }

        if (_layerIntervalCapacity < _intervals.Capacity || (training && !_layerIntervalsTrain))
        {
            _layerIntervalsTrain |= training;
            foreach (CpuLayer<TVector, TOps> layer in _layers)
            {
                layer.EnsureIntervalCapacity(_intervals.Capacity, CpuLayout.RoundUp(_intervals.Capacity, TOps.Count), _layerIntervalsTrain);
            }

            _layerIntervalCapacity = _intervals.Capacity;
        }
    }

    private void RunIntervalPass(float* lower, float* upper, int batch, int layers, bool training)
    {
        EnsureIntervalCapacity(batch, training);
        long flops = batch * (training ? 2 * _trainFlopsPerSample : 2 * _trainFlopsPerSample / 3);
        int threads = flops >= _options.ParallelFlops ? _options.Threads : 1;
        _pass = Pass.Forward;
        Batch = batch;
        Stride = CpuLayout.RoundUp(batch, TOps.Count);
        PassThreads = threads;
        _intervalLower = lower;
        _intervalUpper = upper;
        _intervalLayers = layers;
        _intervalTraining = training;
        _runIntervalPassOnThread ??= RunIntervalPassOnThread;
        if (threads > 1)
        {
            _pool ??= new WorkerPool(threads);
            _pool.Run(_runIntervalPassOnThread);
        }
        else
        {
            RunIntervalPassOnThread(0);
        }

        _intervalLower = _intervalUpper = null;
    }

    private void RunIntervalPassOnThread(int thread)
    {
        CpuIntervalWorkspace intervals = Intervals;
        int inputSize = _architecture.InputSize;
        (int firstFeature, int endFeature) = Share(inputSize, 1, thread);
        TransposeIn(_intervalLower, intervals.InputLower.Pointer, firstFeature, endFeature);
        TransposeIn(_intervalUpper, intervals.InputUpper.Pointer, firstFeature, endFeature);
        Synchronize();

        // Training bounds every layer but an elided last one, whose logit differences the loss phase bounds itself.
        bool elide = _intervalTraining && IntervalLoss.Elides(_architecture) && _layers.Length > 1;
        int layers = elide ? _layers.Length - 1 : _intervalLayers;
        for (int l = 0; l < layers; l++)
        {
            if (_layers[l].Weights is not null)
            {
                PrepareIntervalInputs(l, thread);
                Synchronize();
            }

            var forward = new IntervalForwardVisitor(this, l, thread);
            Activations.Dispatch(_architecture.Layers[l].Activation, ref forward);
            Synchronize();
        }

        if (!_intervalTraining)
        {
            (int first, int end) = Share(Batch, 1, thread);
            int units = _architecture.Layers[layers - 1].Units;
            Transposes.Transpose(intervals.Lower[layers - 1].Pointer + first, Stride, _intervalOutputLower + first * units, units, units, end - first);
            Transposes.Transpose(intervals.Upper[layers - 1].Pointer + first, Stride, _intervalOutputUpper + first * units, units, units, end - first);
            return;
        }

        if (elide)
        {
            var loss = new ElidedLossVisitor(this, thread);
            Activations.Dispatch(_architecture.Layers[^2].Activation, ref loss);
            Synchronize();
            ElidedGradient(thread);
        }
        else
        {
            var loss = new OutputLossVisitor(this, thread);
            Activations.Dispatch(_architecture.Layers[^1].Activation, ref loss);
        }

        Synchronize();
        for (int l = layers - 1; l >= 0; l--)
        {
            if (l > 0)
            {
                var backward = new IntervalBackwardVisitor(this, l, thread);
                Activations.Dispatch(_architecture.Layers[l - 1].Activation, ref backward);
            }

            _layers[l].IntervalGradient(this, thread);
            Synchronize();
        }

        StepFromGradients(thread);
    }

    /// <summary>This thread's features of a box end, sample-major (Batch, InputSize), into feature-major columns with zero padding samples.</summary>
    private void TransposeIn(float* source, float* columns, int firstFeature, int endFeature)
    {
        int inputSize = _architecture.InputSize;
        Transposes.Transpose(source + firstFeature, inputSize, columns + firstFeature * Stride, Stride, Batch, endFeature - firstFeature);
        for (int feature = firstFeature; feature < endFeature; feature++)
        {
            new Span<float>(columns + feature * Stride + Batch, Stride - Batch).Clear();
        }
    }

    /// <summary>
    /// Layer <paramref name="l"/>'s input bounds as center c = lo/2 + hi/2 and radius r = hi/2 − lo/2 (each one rounding,
    /// as the margins assume), and per sample the largest |lo| or |hi|, for this thread's samples; |W| and Σ|W| of each row
    /// for its rows.
    /// </summary>
    private void PrepareIntervalInputs(int l, int thread)
    {
        CpuIntervalWorkspace intervals = Intervals;
        float* lower = IntervalLowerOf(l), upper = IntervalUpperOf(l);
        float* center = intervals.Center[l].Pointer, radius = intervals.Radius[l].Pointer, magnitudes = intervals.Magnitudes[l].Pointer;
        int inputs = _architecture.Layers[l].Inputs, width = TOps.Count;
        nint stride = Stride;
        TVector half = TOps.Broadcast(0.5f);
        (int first, int end) = Share(Stride, width, thread);
        for (int column = first; column < end; column += width)
        {
            TVector magnitude = default;
            for (nint at = column, last = column + inputs * stride; at < last; at += stride)
            {
                TVector lo = TOps.Load(lower + at), hi = TOps.Load(upper + at);
                TVector halfLo = TOps.Multiply(lo, half), halfHi = TOps.Multiply(hi, half);
                TOps.Store(center + at, TOps.Add(halfLo, halfHi));
                TOps.Store(radius + at, TOps.Subtract(halfHi, halfLo));
                magnitude = IntervalVectors.Max<TVector, TOps>(magnitude, IntervalVectors.Max<TVector, TOps>(IntervalVectors.Abs<TVector, TOps>(lo), IntervalVectors.Abs<TVector, TOps>(hi)));
            }

            TOps.Store(magnitudes + column, magnitude);
        }

        CpuWeights weights = _layers[l].Weights!;
        float* absolute = intervals.AbsoluteWeights[l].Pointer, rowSums = intervals.RowAbsoluteSums[l].Pointer;
        (int startRow, int endRow) = ShareRows(weights.Units, thread);
        for (int row = startRow; row < endRow; row++)
        {
            float sum = 0;
            float* w = weights.Weights.Pointer + (nint)row * weights.WeightStride, a = absolute + (nint)row * weights.WeightStride;
            for (int i = 0; i < weights.WeightStride; i++)
            {
                a[i] = MathF.Abs(w[i]);
                sum += a[i];
            }

            rowSums[row] = sum;
        }
    }

    // ---- The loss phase: the interval loss log Σ_k exp(d_k) of each sample's logit differences d (d_label = 0) ----

    /// <summary>
    /// Without elision: d_k = upper_k − lower_label of the outputs. Writes each sample's loss and dμ, dρ of the last layer
    /// through its activation <typeparamref name="TOutput"/>'s interval rule, weighted by the sample's loss weight.
    /// </summary>
    private void OutputLoss<TOutput>(int thread)
        where TOutput : struct, IActivationKernel
    {
        CpuIntervalWorkspace intervals = Intervals;
        int outputs = _architecture.OutputSize;
        nint stride = Stride;
        float* lower = intervals.Lower[Last].Pointer, upper = intervals.Upper[Last].Pointer;
        float* zLower = intervals.ZLower[Last].Pointer, zUpper = intervals.ZUpper[Last].Pointer;
        float* centerGradients = intervals.CenterGradients[Last].Pointer, radiusGradients = intervals.RadiusGradients[Last].Pointer;
        Span<float> differences = stackalloc float[outputs];
        (int first, int end) = Share(Batch, 1, thread);
        for (int sample = first; sample < end; sample++)
        {
            int label = intervals.Labels[sample];
            float worstLabel = lower[label * stride + sample];
            for (int k = 0; k < outputs; k++)
            {
                differences[k] = k == label ? 0 : upper[k * stride + sample] - worstLabel;
            }

            intervals.Losses[sample] = SoftmaxOfDifferences(differences, label, intervals.LossWeights[sample]);
            float labelGradient = 0;
            for (int k = 0; k < outputs; k++)
            {
                labelGradient -= differences[k];
            }

            // d_k = upper_k − lower_label: each upper gets its dd_k, the label's lower −Σ_k dd_k.
            for (int k = 0; k < outputs; k++)
            {
                nint at = k * stride + sample;
                IntervalBackwardRule.Store<float, ScalarOps, TOutput>(zLower[at], zUpper[at], k == label ? labelGradient : 0, differences[k], centerGradients + at, radiusGradients + at);
            }
        }

        ClearPaddingGradients(Last, outputs, thread);
    }

    /// <summary>
    /// Elided: d_k = (W_k − W_label) c + |W_k − W_label| r + b_k − b_label over the last layer's input bounds (center c, radius
    /// r). Writes each sample's loss, its dd (for <see cref="ElidedGradient"/>), its c and r as rows, and dμ, dρ of the layer
    /// below through that layer's activation <typeparamref name="TBelow"/>.
    /// </summary>
    private void ElidedLoss<TBelow>(int thread)
        where TBelow : struct, IActivationKernel
    {
        CpuIntervalWorkspace intervals = Intervals;
        int outputs = _architecture.OutputSize, inputs = _architecture.Layers[^1].Inputs, below = Last - 1;
        CpuWeights weights = _layers[Last].Weights!;
        float* w = weights.Weights.Pointer, b = weights.Bias.Pointer;
        nint stride = Stride, weightStride = weights.WeightStride;
        float* lower = intervals.Lower[below].Pointer, upper = intervals.Upper[below].Pointer;
        float* zLower = intervals.ZLower[below].Pointer, zUpper = intervals.ZUpper[below].Pointer;
        float* centerGradients = intervals.CenterGradients[below].Pointer, radiusGradients = intervals.RadiusGradients[below].Pointer;
        Span<float> differences = stackalloc float[outputs];
        (int first, int end) = Share(Batch, 1, thread);
        for (int sample = first; sample < end; sample++)
        {
            int label = intervals.Labels[sample];
            float* c = intervals.CenterRows.Pointer + (nint)sample * inputs, r = intervals.RadiusRows.Pointer + (nint)sample * inputs;
            for (int i = 0; i < inputs; i++)
            {
                float lo = lower[i * stride + sample], hi = upper[i * stride + sample];
                c[i] = 0.5f * lo + 0.5f * hi;
                r[i] = 0.5f * hi - 0.5f * lo;
            }

            float* labelRow = w + label * weightStride;
            for (int k = 0; k < outputs; k++)
            {
                float* row = w + k * weightStride;
                float sum = b[k] - b[label];
                for (int i = 0; k != label && i < inputs; i++)
                {
                    float difference = row[i] - labelRow[i];
                    sum += difference * c[i] + MathF.Abs(difference) * r[i];
                }

                differences[k] = k == label ? 0 : sum;
            }

            intervals.Losses[sample] = SoftmaxOfDifferences(differences, label, intervals.LossWeights[sample]);
            differences.CopyTo(new Span<float>(intervals.ClassGradients.Pointer + (nint)sample * outputs, outputs));

            // dd/dc_i = Σ_k dd_k (W_k − W_label)_i and dd/dr_i = Σ_k dd_k |W_k − W_label|_i; c = (lo + hi) / 2, r = (hi − lo) / 2.
            for (int i = 0; i < inputs; i++)
            {
                float dc = 0, dr = 0;
                for (int k = 0; k < outputs; k++)
                {
                    float difference = w[k * weightStride + i] - labelRow[i];
                    dc += differences[k] * difference;
                    dr += differences[k] * MathF.Abs(difference);
                }

                nint at = i * stride + sample;
                IntervalBackwardRule.Store<float, ScalarOps, TBelow>(zLower[at], zUpper[at], 0.5f * (dc - dr), 0.5f * (dc + dr), centerGradients + at, radiusGradients + at);
            }
        }

        ClearPaddingGradients(below, inputs, thread);
    }

    /// <summary>
    /// The elided last layer's dW and db for this thread's rows k, from each sample's dd: d_j depends on rows j and label,
    /// with ∂d_j/∂W_j = c + sign(W_j − W_label) r = −∂d_j/∂W_label.
    /// </summary>
    private void ElidedGradient(int thread)
    {
        CpuIntervalWorkspace intervals = Intervals;
        int outputs = _architecture.OutputSize, inputs = _architecture.Layers[^1].Inputs;
        CpuWeights weights = _layers[Last].Weights!;
        float* w = weights.Weights.Pointer;
        nint weightStride = weights.WeightStride;
        float* gradients = intervals.WeightGradients[Last].Pointer, biasGradients = intervals.BiasGradients[Last].Pointer;
        (int startRow, int endRow) = ShareRows(outputs, thread);
        for (int k = startRow; k < endRow; k++)
        {
            float* dw = gradients + k * weightStride, row = w + k * weightStride;
            new Span<float>(dw, (int)weightStride).Clear();
            float db = 0;
            for (int sample = 0; sample < Batch; sample++)
            {
                int label = intervals.Labels[sample];
                float* dd = intervals.ClassGradients.Pointer + (nint)sample * outputs;
                float* c = intervals.CenterRows.Pointer + (nint)sample * inputs, r = intervals.RadiusRows.Pointer + (nint)sample * inputs;
                for (int j = 0; j < outputs; j++)
                {
                    // Row k is d_j's W_j when j = k ≠ label, and its W_label for every j ≠ label when k = label.
                    float g = j == label ? 0 : j == k ? dd[j] : k == label ? -dd[j] : 0;
                    if (g == 0)
                    {
                        continue;
                    }

                    float* other = w + (j == k ? label : j) * weightStride;
                    db += g;
                    for (int i = 0; i < inputs; i++)
                    {
                        float difference = j == k ? row[i] - other[i] : other[i] - row[i];
                        dw[i] += g * (c[i] + MathF.Sign(difference) * r[i]);
                    }
                }
            }

            biasGradients[k] = db;
        }
    }

    /// <summary>
    /// log Σ_k exp(d_k) of one sample's differences (d_label = 0), and in their place dloss/dd_k = softmax(d)_k times the
    /// sample's <paramref name="weight"/>, 0 at the label (d_label is no variable).
    /// </summary>
    private static float SoftmaxOfDifferences(Span<float> differences, int label, float weight)
    {
        float max = 0;
        foreach (float d in differences)
        {
            max = MathF.Max(max, d);
        }

        float sum = 0;
        foreach (float d in differences)
        {
            sum += MathF.Exp(d - max);
        }

        float loss = max + MathF.Log(sum);
        for (int k = 0; k < differences.Length; k++)
        {
            differences[k] = k == label ? 0 : weight * MathF.Exp(differences[k] - max) / sum;
        }

        return loss;
    }

    /// <summary>Padding samples get no gradient, so every product of the backward leaves them at zero.</summary>
    private void ClearPaddingGradients(int layer, int rows, int thread)
    {
        if (thread != PassThreads - 1)
        {
            return;
        }

        float* centerGradients = Intervals.CenterGradients[layer].Pointer, radiusGradients = Intervals.RadiusGradients[layer].Pointer;
        for (int row = 0; row < rows; row++)
        {
            new Span<float>(centerGradients + row * Stride + Batch, Stride - Batch).Clear();
            new Span<float>(radiusGradients + row * Stride + Batch, Stride - Batch).Clear();
        }
    }

    /// <summary>
    /// SGD on this thread's rows of every layer from the workspace's gradients, into the next parameter buffers, with the
    /// scalar rule every engine shares (<see cref="SgdStep"/>); masked weights get no gradient, so they stay zero.
    /// </summary>
    private void StepFromGradients(int thread)
    {
        SgdStep sgd = Sgd;
        float nonFinite = 0;
        for (int l = 0; l < _layers.Length; l++)
        {
            if (_layers[l].Weights is not { } weights)
            {
                continue;
            }

            float* gradients = Intervals.WeightGradients[l].Pointer, biasGradients = Intervals.BiasGradients[l].Pointer;
            float* mask = weights.Mask is null ? null : weights.Mask.Pointer;
            (int startRow, int endRow) = ShareRows(weights.Units, thread);
            for (int row = startRow; row < endRow; row++)
            {
                for (nint at = (nint)row * weights.WeightStride, last = at + weights.Inputs; at < last; at++)
                {
                    float gradient = mask == null ? gradients[at] : gradients[at] * mask[at];
                    float velocity = weights.WeightVelocities.Pointer[at];
                    weights.NextWeights.Pointer[at] = sgd.UpdateWeight(weights.Weights.Pointer[at], ref velocity, gradient);
                    weights.NextWeightVelocities.Pointer[at] = velocity;
                    nonFinite += weights.NextWeights.Pointer[at] * 0 + velocity * 0;
                }

                float biasVelocity = weights.BiasVelocities.Pointer[row];
                weights.NextBias.Pointer[row] = sgd.UpdateBias(weights.Bias.Pointer[row], ref biasVelocity, biasGradients[row]);
                weights.NextBiasVelocities.Pointer[row] = biasVelocity;
                nonFinite += weights.NextBias.Pointer[row] * 0 + biasVelocity * 0;
            }
        }

        *NonFiniteSlot(thread) += nonFinite;
    }

    private readonly struct IntervalForwardVisitor(CpuPipeline<TVector, TOps> cpu, int layer, int thread) : IActivationVisitor
    {
        public void Visit<TActivation>()
            where TActivation : struct, IActivationKernel => cpu._layers[layer].IntervalForward<TActivation>(cpu, thread);
    }

    private readonly struct IntervalBackwardVisitor(CpuPipeline<TVector, TOps> cpu, int layer, int thread) : IActivationVisitor
    {
        public void Visit<TBelow>()
            where TBelow : struct, IActivationKernel => cpu._layers[layer].IntervalBackward<TBelow>(cpu, thread);
    }

    private readonly struct OutputLossVisitor(CpuPipeline<TVector, TOps> cpu, int thread) : IActivationVisitor
    {
        public void Visit<TOutput>()
            where TOutput : struct, IActivationKernel => cpu.OutputLoss<TOutput>(thread);
    }

    private readonly struct ElidedLossVisitor(CpuPipeline<TVector, TOps> cpu, int thread) : IActivationVisitor
    {
        public void Visit<TBelow>()
            where TBelow : struct, IActivationKernel => cpu.ElidedLoss<TBelow>(thread);
    }
}
