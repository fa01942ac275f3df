using FusedNets.Backends.Cpu;

namespace FusedNets.Generated;

/// <summary>
/// What a pooling kind computes on one window of one vector of samples (a lane each, or one float for a single
/// sample): the window's values are at <c>values + i · rowStep + j · columnStep</c> for
/// 0 ≤ i, j &lt; size. Written once for both paths, so one sample's outputs equal the batch's bit for bit.
/// </summary>
internal unsafe interface IPoolingRule
{
    /// <summary>The window's output.</summary>
    static abstract TVector Reduce<TVector, TOps>(float* values, nint rowStep, nint columnStep, int size)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>;

    /// <summary>
    /// Hands each window position its share of the output's gradient <paramref name="gradient"/>: position (i, j) goes to
    /// <paramref name="epilogue"/> as row <paramref name="feature"/> + i · <paramref name="featureRowStep"/> + j.
    /// </summary>
    static abstract void Route<TVector, TOps, TEpilogue>(float* values, nint rowStep, nint columnStep, int size, TVector gradient, ref TEpilogue epilogue, int feature, int featureRowStep, int column)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TEpilogue : struct, ITileEpilogue;

    /// <summary>
    /// How many values each output sums, whose rounding interval bounds must absorb (<see cref="IntervalRounding.MeanRelative"/>);
    /// 0 for a rule that is exact, whose bounds need no margin.
    /// </summary>
    static abstract int RoundedTerms(int size);
}

/// <summary>
/// A pooling layer on the CPU engine, its rule <typeparamref name="TRule"/> a type argument so it inlines into the loops.
/// Values are feature-major (C·H·W, P), so each window position is a vector of the batch and a window is size² loads.
/// <code>
///   forward:   z[c, oy, ox, :] = rule over x[c, oy·size + i, ox·size + j, :],  y = z     x: (C·H·W, P), z, y: (C·OH·OW, P)
///   backward:  dx[c, iy, ix, :] = the rule's share of dz, × f'_below; 0 where no window reads the pixel
/// </code>
/// Windows do not overlap (the stride is the size), so each thread owns whole bands of input rows, output row by
/// output row, and writes every pixel of them (the last band also the rows below the last window).
/// </summary>
internal sealed unsafe class PoolingCpuLayer<TVector, TOps, TRule> : CpuLayer<TVector, TOps>
    where TVector : unmanaged
    where TOps : IVectorOps<TVector>
    where TRule : struct, IPoolingRule
{
    private readonly int _channels, _height, _width, _outHeight, _outWidth, _size;

    public PoolingCpuLayer(int index, Pool2DLayerArchitecture architecture)
        : base(index, architecture)
    {
        (_channels, _height, _width) = architecture.InputShape;
        (_, _outHeight, _outWidth) = architecture.OutputShape;
        _size = architecture.Size;
    }

    public override CpuWeights? Weights => null;

    public override void Forward<TActivation>(CpuPipeline<TVector, TOps> cpu, int thread) => ForwardKernel<TActivation>(cpu, thread);

    public void ForwardKernel<TActivation>(CpuPipeline<TVector, TOps> cpu, int thread)
        where TActivation : struct, IActivationKernel
    {
        CpuWorkspace workspace = cpu.Workspace;
        float* x = cpu.InputOf(Index);
        float* z = workspace.PreActivations[Index].Pointer;
        float* y = workspace.Activations[Index].Pointer;
        int stride = cpu.Stride, width = TOps.Count, size = _size;
        nint rowStep = (nint)_width * stride;
        (int start, int end) = cpu.Share(_channels * _outHeight, 1, thread);
        for (int band = start; band < end; band++)
        {
            int channel = band / _outHeight, outputRow = band % _outHeight;
            for (int outputColumn = 0; outputColumn < _outWidth; outputColumn++)
            {
                float* window = x + ((nint)(channel * _height + outputRow * size) * _width + outputColumn * size) * stride;
                nint output = ((nint)band * _outWidth + outputColumn) * stride;
                for (int vector = 0; vector < stride; vector += width)
                {
                    TVector value = TRule.Reduce<TVector, TOps>(window + vector, rowStep, stride, size);
                    TOps.Store(z + output + vector, value);
                    TOps.Store(y + output + vector, TActivation.Apply<TVector, TOps>(value));
                }
            }
        }
    }

    public override void Backward<TBelow>(CpuPipeline<TVector, TOps> cpu, int thread) => BackwardKernel<TBelow>(cpu, thread);

    public void BackwardKernel<TBelow>(CpuPipeline<TVector, TOps> cpu, int thread)
        where TBelow : struct, IActivationKernel
    {
        CpuWorkspace workspace = cpu.Workspace;
        var epilogue = new BackwardEpilogue<TBelow>(workspace.PreActivations[Index - 1].Pointer, workspace.Activations[Index - 1].Pointer, workspace.Deltas[Index - 1].Pointer, cpu.Stride);
        BackwardData(cpu, thread, ref epilogue);
    }

    public override void BackwardToInputs(CpuPipeline<TVector, TOps> cpu, int thread)
    {
        var epilogue = new StoreEpilogue(cpu.Workspace.InputGradientColumns.Pointer, cpu.Stride);
        BackwardData(cpu, thread, ref epilogue);
    }

    // dz: (C·OH·OW, P) in; the epilogue writes dx for rows (pixels) of the input, P apart.
    private void BackwardData<TEpilogue>(CpuPipeline<TVector, TOps> cpu, int thread, ref TEpilogue epilogue)
        where TEpilogue : struct, ITileEpilogue
    {
        float* x = cpu.InputOf(Index);
        float* delta = cpu.Workspace.Deltas[Index].Pointer;
        int stride = cpu.Stride, width = TOps.Count, size = _size;
        nint rowStep = (nint)_width * stride;
        (int start, int end) = cpu.Share(_channels * _outHeight, 1, thread);
        for (int band = start; band < end; band++)
        {
            int channel = band / _outHeight, outputRow = band % _outHeight;
            for (int outputColumn = 0; outputColumn < _outWidth; outputColumn++)
            {
                int feature = (channel * _height + outputRow * size) * _width + outputColumn * size;
                float* window = x + (nint)feature * stride;
                float* gradient = delta + ((nint)band * _outWidth + outputColumn) * stride;
                for (int vector = 0; vector < stride; vector += width)
                {
                    TRule.Route<TVector, TOps, TEpilogue>(window + vector, rowStep, stride, size, TOps.Load(gradient + vector), ref epilogue, feature, _width, vector);
                }
            }

            // What no window reads: the columns right of the last window, and below the last band the rows under it.
            int firstRow = outputRow * size, endRow = outputRow == _outHeight - 1 ? _height : firstRow + size;
            for (int row = firstRow; row < endRow; row++)
            {
                int firstColumn = row < _outHeight * size ? _outWidth * size : 0;
                for (int column = firstColumn; column < _width; column++)
                {
                    int feature = (channel * _height + row) * _width + column;
                    for (int vector = 0; vector < stride; vector += width)
                    {
                        epilogue.Row<TVector, TOps>(feature, vector, 1, default, default, default, default);
                    }
                }
            }
        }
    }

    // ---- Interval bound propagation ----
    // Both rules are monotone in every value: z's bounds are the rule over each end's window (the mean's widened when sound);
    // backward, each end's gradient goes where the rule routes it over that end's window.

    public override void IntervalForward<TActivation>(CpuPipeline<TVector, TOps> cpu, int thread)
    {
        CpuIntervalWorkspace intervals = cpu.Intervals;
        float* lower = cpu.IntervalLowerOf(Index), upper = cpu.IntervalUpperOf(Index);
        float* zLower = intervals.ZLower[Index].Pointer, zUpper = intervals.ZUpper[Index].Pointer;
        float* yLower = intervals.Lower[Index].Pointer, yUpper = intervals.Upper[Index].Pointer;
        int stride = cpu.Stride, width = TOps.Count, size = _size, terms = TRule.RoundedTerms(size);
        bool sound = !cpu.IntervalTraining, widen = sound && terms > 0;
        TVector relative = TOps.Broadcast(IntervalRounding.MeanRelative(terms)), absolute = TOps.Broadcast(terms * IntervalRounding.SmallestNormal);
        nint rowStep = (nint)_width * stride;
        (int start, int end) = cpu.Share(_channels * _outHeight, 1, thread);
        for (int band = start; band < end; band++)
        {
            int channel = band / _outHeight, outputRow = band % _outHeight;
            for (int outputColumn = 0; outputColumn < _outWidth; outputColumn++)
            {
                nint window = ((nint)(channel * _height + outputRow * size) * _width + outputColumn * size) * stride;
                nint output = ((nint)band * _outWidth + outputColumn) * stride;
                for (int vector = 0; vector < stride; vector += width)
                {
                    TVector lo = TRule.Reduce<TVector, TOps>(lower + window + vector, rowStep, stride, size);
                    TVector hi = TRule.Reduce<TVector, TOps>(upper + window + vector, rowStep, stride, size);
                    if (widen)
                    {
                        TVector margin = TOps.MultiplyAdd(WindowMagnitude(lower + window + vector, upper + window + vector, rowStep, stride), relative, absolute);
                        lo = TOps.Subtract(lo, margin);
                        hi = TOps.Add(hi, margin);
                    }

                    TOps.Store(zLower + output + vector, lo);
                    TOps.Store(zUpper + output + vector, hi);
                    ActivationIntervals<TActivation>.Bounds<TVector, TOps>(lo, hi, sound, out TVector yLo, out TVector yHi);
                    TOps.Store(yLower + output + vector, yLo);
                    TOps.Store(yUpper + output + vector, yHi);
                }
            }
        }
    }

    /// <summary>The largest |lower| or |upper| over a window, lane by lane.</summary>
    private TVector WindowMagnitude(float* lower, float* upper, nint rowStep, nint columnStep)
    {
        TVector magnitude = default;
        for (int i = 0; i < _size; i++)
        {
            for (int j = 0; j < _size; j++)
            {
                nint at = i * rowStep + j * columnStep;
                magnitude = IntervalVectors.Max<TVector, TOps>(magnitude, IntervalVectors.Abs<TVector, TOps>(TOps.Load(lower + at)));
                magnitude = IntervalVectors.Max<TVector, TOps>(magnitude, IntervalVectors.Abs<TVector, TOps>(TOps.Load(upper + at)));
            }
        }

        return magnitude;
    }

    public override void IntervalBackward<TBelow>(CpuPipeline<TVector, TOps> cpu, int thread)
    {
        CpuIntervalWorkspace intervals = cpu.Intervals;
        float* lower = cpu.IntervalLowerOf(Index), upper = cpu.IntervalUpperOf(Index);
        float* centerGradients = intervals.CenterGradients[Index].Pointer, radiusGradients = intervals.RadiusGradients[Index].Pointer;
        float* zLower = intervals.ZLower[Index - 1].Pointer, zUpper = intervals.ZUpper[Index - 1].Pointer;
        float* belowCenterGradients = intervals.CenterGradients[Index - 1].Pointer, belowRadiusGradients = intervals.RadiusGradients[Index - 1].Pointer;
        int stride = cpu.Stride, width = TOps.Count, size = _size;
        var lowerGradients = new StoreEpilogue(intervals.FirstScratch.Pointer, stride);
        var upperGradients = new StoreEpilogue(intervals.SecondScratch.Pointer, stride);
        TVector half = TOps.Broadcast(0.5f);
        nint rowStep = (nint)_width * stride;
        (int start, int end) = cpu.Share(_channels * _outHeight, 1, thread);
        for (int band = start; band < end; band++)
        {
            int channel = band / _outHeight, outputRow = band % _outHeight;
            for (int outputColumn = 0; outputColumn < _outWidth; outputColumn++)
            {
                int feature = (channel * _height + outputRow * size) * _width + outputColumn * size;
                nint output = ((nint)band * _outWidth + outputColumn) * stride;
                for (int vector = 0; vector < stride; vector += width)
                {
                    // lower = μ − ρ, upper = μ + ρ of z.
                    TVector dCenter = TOps.Load(centerGradients + output + vector), dRadius = TOps.Load(radiusGradients + output + vector);
                    TVector dLower = TOps.Multiply(TOps.Subtract(dCenter, dRadius), half), dUpper = TOps.Multiply(TOps.Add(dCenter, dRadius), half);
                    TRule.Route<TVector, TOps, StoreEpilogue>(lower + (nint)feature * stride + vector, rowStep, stride, size, dLower, ref lowerGradients, feature, _width, vector);
                    TRule.Route<TVector, TOps, StoreEpilogue>(upper + (nint)feature * stride + vector, rowStep, stride, size, dUpper, ref upperGradients, feature, _width, vector);
                }
            }

            // Every pixel of the band's rows, those no window reads with no gradient, through the layer below's rule.
            int firstRow = outputRow * size, endRow = outputRow == _outHeight - 1 ? _height : firstRow + size;
            for (int row = firstRow; row < endRow; row++)
            {
                for (int column = 0; column < _width; column++)
                {
                    int feature = (channel * _height + row) * _width + column;
                    bool read = row < _outHeight * size && column < _outWidth * size;
                    for (int vector = 0; vector < stride; vector += width)
                    {
                        nint at = (nint)feature * stride + vector;
                        TVector dLower = read ? TOps.Load(intervals.FirstScratch.Pointer + at) : default;
                        TVector dUpper = read ? TOps.Load(intervals.SecondScratch.Pointer + at) : default;
                        IntervalBackwardRule.Store<TVector, TOps, TBelow>(TOps.Load(zLower + at), TOps.Load(zUpper + at), dLower, dUpper, belowCenterGradients + at, belowRadiusGradients + at);
                    }
                }
            }
        }
    }

    /// <summary>Thread 0 alone: one sample's pooling is a few thousand operations.</summary>
    public override bool PredictSplitsAcrossThreads => false;

    public override void Predict<TActivation>(CpuPipeline<TVector, TOps> cpu, int thread) => PredictKernel<TActivation>(cpu, thread);

    public void PredictKernel<TActivation>(CpuPipeline<TVector, TOps> cpu, int thread)
        where TActivation : struct, IActivationKernel
    {
        float* x = cpu.SingleSampleInput(Index), y = cpu.SingleSampleOutput(Index);
        int size = _size;
        for (int channel = 0; channel < _channels; channel++)
        {
            for (int outputRow = 0; outputRow < _outHeight; outputRow++)
            {
                float* windows = x + (channel * _height + outputRow * size) * _width;
                float* outputs = y + (channel * _outHeight + outputRow) * _outWidth;
                for (int outputColumn = 0; outputColumn < _outWidth; outputColumn++)
                {
                    outputs[outputColumn] = TActivation.Apply(TRule.Reduce<float, ScalarOps>(windows + outputColumn * size, _width, 1, size));
                }
            }
        }
    }
}
