using System.Runtime.CompilerServices;
using System.ComponentModel;
using FusedNets.Backends.Cpu;

namespace FusedNets.Generated;

/// <summary>The convolution's CPU kernels as a generated schedule names them, each with its activation as a type argument.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class Conv2DCpu
{
    /// <summary>The forward for this thread's share.</summary>
    public static void Forward<TVector, TOps, TActivation>(CpuPipeline<TVector, TOps> cpu, int layer, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TActivation : struct, IActivationKernel =>
        cpu.Layer<Conv2DCpuLayer<TVector, TOps>>(layer).ForwardKernel<TActivation>(cpu, thread);

    /// <summary>Backward data for this thread's share, fused with the derivative of the layer below.</summary>
    public static void Backward<TVector, TOps, TBelow>(CpuPipeline<TVector, TOps> cpu, int layer, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TBelow : struct, IActivationKernel =>
        cpu.Layer<Conv2DCpuLayer<TVector, TOps>>(layer).BackwardKernel<TBelow>(cpu, thread);

    /// <summary>The one sample in flight.</summary>
    public static void Predict<TVector, TOps, TActivation>(CpuPipeline<TVector, TOps> cpu, int layer, int thread)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
        where TActivation : struct, IActivationKernel =>
        cpu.Layer<Conv2DCpuLayer<TVector, TOps>>(layer).PredictKernel<TActivation>(cpu, thread);
}

/// <summary>
/// The convolution on the CPU engine: a direct convolution whose vectors run along the batch, as every value between
/// layers does, so no im2col is built. W is kept as the matrix [filters, channels · kernel²] (<see cref="CpuWeights"/>);
/// a tap is one (channel, kernel row, kernel column). With p an output position and q = tap(p, i, j) the input pixel
/// its window puts under kernel entry (i, j):
/// <code>
///   forward:   z[f, p, :] = Σ_{c, i, j inside} W[f, c, i, j] x[c, q, :] + b[f],  y = f(z)   x: (C·H·W, P), z, y: (F·OH·OW, P)
///   backward:  dx[c, q, :] = Σ_{f, i, j: q = tap(p, i, j)} W[f, c, i, j] dz[f, p, :], × f'_below  dx: (C·H·W, P)
///   update:    dW[f, c, i, j] = Σ_p Σ_s dz[f, p, s] x[c, tap(p, i, j), s],  db[f] = Σ_p Σ_s dz[f, p, s], then SGD
/// </code>
/// </summary>
/// <remarks>
/// The forward and the backward data run <see cref="ConvolutionKernel"/> per position, over only the taps inside the
/// map, so padding is free and a strided backward never multiplies the zeros a dilated copy of dz would hold; each
/// output is one chain in tap order, fused with its epilogue (bias and activation, or the layer below's derivative).
/// The update (<see cref="ConvolutionGradientKernel"/>) sums every position of every sample into registers and hands
/// each weight's gradient straight to the SGD step; it reads the input through a zero-padded copy, written during
/// the training forward (by row, a phase before the update reads it), so its inner loop has no bounds to check.
/// One sample runs with vectors along the output positions instead (see <see cref="Predict"/>).
/// </remarks>
internal sealed unsafe class Conv2DCpuLayer<TVector, TOps> : CpuLayer<TVector, TOps>
    where TVector : unmanaged
    where TOps : IVectorOps<TVector>
{
    private readonly CpuWeights _weights;
    private readonly int _channels, _height, _width, _filters, _outHeight, _outWidth, _kernel, _stride, _padding;

    // The update's input: the input with its zero padding written out, (C · (H + 2 padding) · (W + 2 padding), P).
    private readonly int _paddedHeight, _paddedWidth;
    private AlignedBuffer _paddedInput = new(0);

    // The update's tiles: filters × taps per tile (see GradientTile).
    private readonly int _tileFilters, _tileTaps;

    // One sample: its padded input (C, H + 2 padding, W + 2 padding), with slack for whole vectors read past its end,
    // and the product's rows, _sampleStride apart (see Predict).
    private readonly AlignedBuffer _sampleInput;
    private readonly AlignedBuffer _sampleRows;
    private readonly int _sampleStride;

    public Conv2DCpuLayer(int index, Conv2DLayerArchitecture architecture, float[]? mask)
        : base(index, architecture)
    {
        (_channels, _height, _width) = architecture.InputShape;
        (_filters, _outHeight, _outWidth) = architecture.OutputShape;
        _kernel = architecture.Kernel;
        _stride = architecture.Stride;
        _padding = architecture.Padding;
        _paddedHeight = _height + 2 * _padding;
        _paddedWidth = _width + 2 * _padding;
        _weights = new CpuWeights(_filters, Taps, mask, TOps.Count);
        (_tileFilters, _tileTaps) = GradientTile(_filters, Taps);

        int width = TOps.Count;
        _sampleInput = new AlignedBuffer((long)_channels * _paddedHeight * _paddedWidth + _kernel + width);
        if (_stride == 1)
        {
            _sampleStride = CpuLayout.PaddedStride(_outHeight * _paddedWidth, width);
            _sampleRows = new AlignedBuffer((long)_filters * _sampleStride + width);
        }
        else
        {
            _sampleStride = CpuLayout.PaddedStride(Positions, width);
            _sampleRows = new AlignedBuffer((long)Taps * _sampleStride + width);
        }
    }

    public override CpuWeights Weights => _weights;

    /// <summary>Channels × kernel²: the columns of W.</summary>
    private int Taps => _channels * _kernel * _kernel;

    /// <summary>Output positions per filter.</summary>
    private int Positions => _outHeight * _outWidth;

    public override void EnsureCapacity(int capacity, int stride)
    {
        _paddedInput = _padding > 0
            ? new AlignedBuffer((long)_channels * _paddedHeight * _paddedWidth * stride)
            : new AlignedBuffer(0);
    }

    // ---- Forward ----
    // z[f, oy, ox, :] = Σ_{c, i, j} W[f, c, i, j] x[c, oy·S + i − pad, ox·S + j − pad, :] + b[f]
    // (S: the convolution's stride; pixelFloats: the pipeline's P, the floats from one pixel's samples to the next's)

    public override void Forward<TActivation>(CpuPipeline<TVector, TOps> cpu, int thread) => ForwardKernel<TActivation>(cpu, thread);

    public void ForwardKernel<TActivation>(CpuPipeline<TVector, TOps> cpu, int thread)
        where TActivation : struct, IActivationKernel
    {
        float* x = cpu.InputOf(Index);
        int pixelFloats = cpu.Stride, width = TOps.Count;
        if (cpu.Training && _padding > 0)
        {
            PadInput(cpu, thread, x);
        }

        CpuWorkspace workspace = cpu.Workspace;
        var epilogue = new ForwardEpilogue<TActivation>(_weights.Bias.Pointer, workspace.PreActivations[Index].Pointer, workspace.Activations[Index].Pointer, (nint)Positions * pixelFloats);
        Convolve(cpu, thread, _weights.Weights.Pointer, x, ref epilogue);
    }

    /// <summary>This thread's positions of Σ_{c, i, j inside} weights[f, c, i, j] x[c, tap, :] (W, or |W| in W's layout), into <paramref name="epilogue"/>.</summary>
    private void Convolve<TEpilogue>(CpuPipeline<TVector, TOps> cpu, int thread, float* weights, float* x, ref TEpilogue epilogue)
        where TEpilogue : struct, ITileEpilogue
    {
        int pixelFloats = cpu.Stride, width = TOps.Count;
        int kernel = _kernel, taps = kernel * kernel;
        int blocks = VectorBlocks(pixelFloats);
        (int start, int end) = cpu.Share(Positions * blocks, 1, thread);
        for (int unit = start; unit < end; unit++)
        {
            (int position, int vector, int vectors) = Unit(unit, blocks, pixelFloats);
            int top = position / _outWidth * _stride - _padding, left = position % _outWidth * _stride - _padding;

            // The kernel's rows and columns that land inside the input; the rest read padding, which adds nothing.
            int firstRow = Math.Max(0, -top), rows = Math.Min(kernel, _height - top) - firstRow;
            int firstColumn = Math.Max(0, -left), columns = Math.Min(kernel, _width - left) - firstColumn;
            var stencil = new StencilTaps(
                weights + firstRow * kernel + firstColumn,
                x + ((nint)(top + firstRow) * _width + left + firstColumn) * pixelFloats + vector * width,
                _channels, taps, (nint)_height * _width * pixelFloats,
                rows, kernel, (nint)_width * pixelFloats,
                columns, 1, pixelFloats);
            ConvolutionKernel.Position<TVector, TOps, TEpilogue>(stencil, _weights.WeightStride, _filters, vectors, position * pixelFloats + vector * width, ref epilogue);
        }
    }

    /// <summary>This thread's rows of the zero-padded copy of the input that the update reads.</summary>
    private void PadInput(CpuPipeline<TVector, TOps> cpu, int thread, float* x) => Pad(cpu, thread, x, _paddedInput.Pointer);

    /// <summary>This thread's rows of <paramref name="x"/> with its zero padding written out, into <paramref name="destination"/>.</summary>
    private void Pad(CpuPipeline<TVector, TOps> cpu, int thread, float* x, float* destination)
    {
        int pixelFloats = cpu.Stride;
        nint rowFloats = (nint)_paddedWidth * pixelFloats, marginFloats = (nint)_padding * pixelFloats, inputFloats = (nint)_width * pixelFloats;
        (int start, int end) = cpu.Share(_channels * _paddedHeight, 1, thread);
        for (int row = start; row < end; row++)
        {
            float* padded = destination + row * rowFloats;
            int y = row % _paddedHeight - _padding;
            if (y < 0 || y >= _height)
            {
                new Span<float>(padded, (int)rowFloats).Clear();
                continue;
            }

            int channel = row / _paddedHeight;
            new Span<float>(padded, (int)marginFloats).Clear();
            new ReadOnlySpan<float>(x + ((nint)channel * _height + y) * inputFloats, (int)inputFloats).CopyTo(new Span<float>(padded + marginFloats, (int)inputFloats));
            new Span<float>(padded + marginFloats + inputFloats, (int)marginFloats).Clear();
        }
    }

    // ---- Backward data ----
    // Forward: z[f, oy, ox] = Σ W[f, c, i, j] x[c, oy·S + i − pad, ox·S + j − pad] + b[f], with x = f(z_below).
    // dx[c, iy, ix] = Σ_{f, i, j: iy = oy·S + i − pad, ix = ox·S + j − pad} W[f, c, i, j] dz[f, oy, ox]; then × f'(z_below).

    public override void Backward<TBelow>(CpuPipeline<TVector, TOps> cpu, int thread) => BackwardKernel<TBelow>(cpu, thread);

    public void BackwardKernel<TBelow>(CpuPipeline<TVector, TOps> cpu, int thread)
        where TBelow : struct, IActivationKernel
    {
        CpuWorkspace workspace = cpu.Workspace;
        var epilogue = new BackwardEpilogue<TBelow>(workspace.PreActivations[Index - 1].Pointer, workspace.Activations[Index - 1].Pointer, workspace.Deltas[Index - 1].Pointer, (nint)_height * _width * cpu.Stride);
        BackwardData(cpu, thread, _weights.Weights.Pointer, workspace.Deltas[Index].Pointer, ref epilogue);
    }

    public override void BackwardToInputs(CpuPipeline<TVector, TOps> cpu, int thread)
    {
        var epilogue = new StoreEpilogue(cpu.Workspace.InputGradientColumns.Pointer, (nint)_height * _width * cpu.Stride);
        BackwardData(cpu, thread, _weights.Weights.Pointer, cpu.Workspace.Deltas[Index].Pointer, ref epilogue);
    }

    /// <summary>
    /// Each input pixel gathers from the outputs whose windows cover it: kernel rows i ≡ iy + pad (mod S), and for
    /// each, output row (iy + pad − i) / S, one row up per step of S down the kernel. No thread writes another's pixels.
    /// </summary>
    private void BackwardData<TEpilogue>(CpuPipeline<TVector, TOps> cpu, int thread, float* weights, float* delta, ref TEpilogue epilogue)
        where TEpilogue : struct, ITileEpilogue
    {
        int pixelFloats = cpu.Stride, width = TOps.Count, kernel = _kernel;
        int blocks = VectorBlocks(pixelFloats);
        (int start, int end) = cpu.Share(_height * _width * blocks, 1, thread);
        for (int unit = start; unit < end; unit++)
        {
            (int pixel, int vector, int vectors) = Unit(unit, blocks, pixelFloats);
            (int firstRow, int rows, int outputRow) = Reach(pixel / _width + _padding, _outHeight);
            (int firstColumn, int columns, int outputColumn) = Reach(pixel % _width + _padding, _outWidth);
            var stencil = new StencilTaps(
                weights + firstRow * kernel + firstColumn,
                delta + ((nint)outputRow * _outWidth + outputColumn) * pixelFloats + vector * width,
                _filters, _weights.WeightStride, (nint)Positions * pixelFloats,
                rows, _stride * kernel, -(nint)_outWidth * pixelFloats,
                columns, _stride, -(nint)pixelFloats);
            ConvolutionKernel.Position<TVector, TOps, TEpilogue>(stencil, kernel * kernel, _channels, vectors, pixel * pixelFloats + vector * width, ref epilogue);
        }
    }

    /// <summary>
    /// The kernel rows that put padded input row <paramref name="row"/> under an output row o = (row − i) / S in
    /// [0, <paramref name="outputs"/>): the first, how many (S apart), and the first one's output row. The same for columns.
    /// </summary>
    private (int First, int Count, int Output) Reach(int row, int outputs)
    {
        int lowest = Math.Max(0, row - (outputs - 1) * _stride);
        int first = lowest + (row - lowest) % _stride;
        int last = Math.Min(_kernel - 1, row);
        return first > last ? (0, 0, 0) : (first, (last - first) / _stride + 1, (row - first) / _stride);
    }

    // ---- Weight gradient and SGD step ----
    // Forward: z[f, p] = Σ W[f, c, i, j] x[c, tap(p, i, j)] + b[f].
    // dW[f, c, i, j] = Σ_p Σ_s dz[f, p, s] x[c, tap(p, i, j), s],  db[f] = Σ_p Σ_s dz[f, p, s]  (padding samples have dz = 0)

    public override void Update(CpuPipeline<TVector, TOps> cpu, int thread)
    {
        float* delta = cpu.Workspace.Deltas[Index].Pointer;
        float* input = _padding > 0 ? _paddedInput.Pointer : cpu.InputOf(Index);
        int pixelFloats = cpu.Stride, taps = Taps;
        nint deltaRow = (nint)Positions * pixelFloats;
        GradientWalk walk = Walk(pixelFloats);
        int tileColumns = (taps + _tileTaps - 1) / _tileTaps;
        int tiles = (_filters + _tileFilters - 1) / _tileFilters * tileColumns;
        float* sums = stackalloc float[ConvolutionGradientKernel.MaxRows * ConvolutionGradientKernel.MaxColumns];
        float** tapInputs = stackalloc float*[ConvolutionGradientKernel.MaxColumns];
        (int start, int end) = cpu.Share(tiles, 1, thread);
        for (int tile = start; tile < end; tile++)
        {
            (int firstFilter, int filters, int firstTap, int tileTaps) = GradientTileAt(tile, tileColumns);
            for (int t = 0; t < tileTaps; t++)
            {
                tapInputs[t] = input + TapOffset(firstTap + t, pixelFloats);
            }

            ConvolutionGradientKernel.Tile<TVector, TOps>(filters, tileTaps, delta + firstFilter * deltaRow, deltaRow, tapInputs, walk, sums);
            CpuUpdates.Block(cpu, _weights, sums, ConvolutionGradientKernel.MaxColumns, firstFilter, filters, firstTap, tileTaps, thread);
        }

        (int firstBias, int endBias) = cpu.Share(_filters, 1, thread);
        CpuUpdates.Bias(cpu, _weights, delta, deltaRow, (int)deltaRow, firstBias, endBias, thread);
    }

    // ---- Interval bound propagation ----
    // c, r: (C·H·W, P), the center and radius of x's bounds; |W| in W's layout. With p an output position:
    // Forward:  μ[f, p] = Σ W[f, c, i, j] c[c, tap] + b[f], ρ[f, p] = Σ |W[f, c, i, j]| r[c, tap] (+ the margin when sound).
    // Backward: dc = the backward data of dμ through W, dr that of dρ through |W|; dlower = (dc − dr) / 2, dupper = (dc + dr) / 2.
    // Gradient: dW[f, c, i, j] = Σ_p Σ_s dμ[f, p, s] c[c, tap, s] + sign(W) Σ_p Σ_s dρ[f, p, s] r[c, tap, s], db[f] = Σ dμ[f].

    // What the gradient reads: c and r with their zero padding written out (as the update's copy of x), when there is padding.
    private AlignedBuffer _paddedCenter = new(0), _paddedRadius = new(0);

    public override void EnsureIntervalCapacity(int capacity, int stride, bool training)
    {
        long padded = training && _padding > 0 ? (long)_channels * _paddedHeight * _paddedWidth * stride : 0;
        _paddedCenter = new AlignedBuffer(padded);
        _paddedRadius = new AlignedBuffer(padded);
    }

    public override void IntervalForward<TActivation>(CpuPipeline<TVector, TOps> cpu, int thread)
    {
        CpuIntervalWorkspace intervals = cpu.Intervals;
        float* center = intervals.Center[Index].Pointer, radius = intervals.Radius[Index].Pointer;
        if (cpu.IntervalTraining && _padding > 0)
        {
            Pad(cpu, thread, center, _paddedCenter.Pointer);
            Pad(cpu, thread, radius, _paddedRadius.Pointer);
        }

        nint rowFloats = (nint)Positions * cpu.Stride;
        float* zLower = intervals.ZLower[Index].Pointer;
        var centers = new BiasEpilogue(_weights.Bias.Pointer, zLower, rowFloats);
        Convolve(cpu, thread, _weights.Weights.Pointer, center, ref centers);
        var bounds = new IntervalEpilogue<TActivation>(
            zLower, intervals.ZUpper[Index].Pointer, intervals.Lower[Index].Pointer, intervals.Upper[Index].Pointer, rowFloats,
            sound: !cpu.IntervalTraining, _weights.Bias.Pointer, intervals.RowAbsoluteSums[Index].Pointer, intervals.Magnitudes[Index].Pointer, cpu.Stride, Taps);
        Convolve(cpu, thread, intervals.AbsoluteWeights[Index].Pointer, radius, ref bounds);
    }

    public override void IntervalBackward<TBelow>(CpuPipeline<TVector, TOps> cpu, int thread)
    {
        CpuIntervalWorkspace intervals = cpu.Intervals;
        nint rowFloats = (nint)_height * _width * cpu.Stride;
        float* centerGradients = intervals.FirstScratch.Pointer;
        var centers = new StoreEpilogue(centerGradients, rowFloats);
        BackwardData(cpu, thread, _weights.Weights.Pointer, intervals.CenterGradients[Index].Pointer, ref centers);
        var below = new IntervalBackwardEpilogue<TBelow>(
            centerGradients, intervals.ZLower[Index - 1].Pointer, intervals.ZUpper[Index - 1].Pointer,
            intervals.CenterGradients[Index - 1].Pointer, intervals.RadiusGradients[Index - 1].Pointer, rowFloats);
        BackwardData(cpu, thread, intervals.AbsoluteWeights[Index].Pointer, intervals.RadiusGradients[Index].Pointer, ref below);
    }

    public override void IntervalGradient(CpuPipeline<TVector, TOps> cpu, int thread)
    {
        CpuIntervalWorkspace intervals = cpu.Intervals;
        float* centerGradients = intervals.CenterGradients[Index].Pointer, radiusGradients = intervals.RadiusGradients[Index].Pointer;
        float* center = _padding > 0 ? _paddedCenter.Pointer : intervals.Center[Index].Pointer;
        float* radius = _padding > 0 ? _paddedRadius.Pointer : intervals.Radius[Index].Pointer;
        float* gradients = intervals.WeightGradients[Index].Pointer, weights = _weights.Weights.Pointer;
        nint weightStride = _weights.WeightStride, deltaRow = (nint)Positions * cpu.Stride;
        GradientWalk walk = Walk(cpu.Stride);
        float* centerSums = stackalloc float[ConvolutionGradientKernel.MaxRows * ConvolutionGradientKernel.MaxColumns];
        float* radiusSums = stackalloc float[ConvolutionGradientKernel.MaxRows * ConvolutionGradientKernel.MaxColumns];
        float** centerTaps = stackalloc float*[ConvolutionGradientKernel.MaxColumns];
        float** radiusTaps = stackalloc float*[ConvolutionGradientKernel.MaxColumns];
        int tileColumns = (Taps + _tileTaps - 1) / _tileTaps;
        (int start, int end) = cpu.Share((_filters + _tileFilters - 1) / _tileFilters * tileColumns, 1, thread);
        for (int tile = start; tile < end; tile++)
        {
            (int firstFilter, int filters, int firstTap, int tileTaps) = GradientTileAt(tile, tileColumns);
            for (int t = 0; t < tileTaps; t++)
            {
                nint offset = TapOffset(firstTap + t, cpu.Stride);
                centerTaps[t] = center + offset;
                radiusTaps[t] = radius + offset;
            }

            ConvolutionGradientKernel.Tile<TVector, TOps>(filters, tileTaps, centerGradients + firstFilter * deltaRow, deltaRow, centerTaps, walk, centerSums);
            ConvolutionGradientKernel.Tile<TVector, TOps>(filters, tileTaps, radiusGradients + firstFilter * deltaRow, deltaRow, radiusTaps, walk, radiusSums);
            for (int f = 0; f < filters; f++)
            {
                for (int t = 0; t < tileTaps; t++)
                {
                    nint at = (firstFilter + f) * weightStride + firstTap + t;
                    int sum = f * ConvolutionGradientKernel.MaxColumns + t;
                    gradients[at] = centerSums[sum] + MathF.Sign(weights[at]) * radiusSums[sum];
                }
            }
        }

        (int firstBias, int endBias) = cpu.Share(_filters, 1, thread);
        for (int f = firstBias; f < endBias; f++)
        {
            intervals.BiasGradients[Index].Pointer[f] = CpuUpdates.SumFirst<TVector, TOps>(centerGradients + f * deltaRow, (int)deltaRow);
        }
    }

    /// <summary>How the weight gradient walks an input tap's positions: with stride 1 an output row's taps are one run of the padded input row, OW positions × P samples back to back.</summary>
    private GradientWalk Walk(int pixelFloats) => _stride == 1
        ? new GradientWalk(_outHeight, 1, _outWidth * pixelFloats / TOps.Count, (nint)_paddedWidth * pixelFloats, 0)
        : new GradientWalk(_outHeight, _outWidth, pixelFloats / TOps.Count, (nint)_stride * _paddedWidth * pixelFloats, (nint)_stride * pixelFloats);

    /// <summary>Gradient tile <paramref name="tile"/>: its first filter and filters, its first tap and taps.</summary>
    private (int FirstFilter, int Filters, int FirstTap, int Taps) GradientTileAt(int tile, int tileColumns)
    {
        int firstFilter = tile / tileColumns * _tileFilters, firstTap = tile % tileColumns * _tileTaps;
        return (firstFilter, Math.Min(_tileFilters, _filters - firstFilter), firstTap, Math.Min(_tileTaps, Taps - firstTap));
    }

    /// <summary>Where tap (channel, i, j) of the first output position reads the padded input (an unpadded one when there is no padding).</summary>
    private nint TapOffset(int tap, int pixelFloats)
    {
        int kernel = _kernel, channel = tap / (kernel * kernel), i = tap / kernel % kernel, j = tap % kernel;
        return ((nint)(channel * _paddedHeight + i) * _paddedWidth + j) * pixelFloats;
    }

    /// <summary>
    /// The update's tile, filters × taps: the one that covers W with the least work, a tile of fewer than 12 sums
    /// costing as much as 12 (below that, fused multiply-add latency and the loads leave the units idle). LeNet's
    /// first convolution (6 × 25) gets 3 × 5, ten equal tiles; its second (16 × 150) 4 × 6, a hundred.
    /// </summary>
    internal static (int Filters, int Taps) GradientTile(int filters, int taps)
    {
        (int Filters, int Taps) best = (1, 1);
        long bestCost = long.MaxValue;
        for (int rows = 1; rows <= ConvolutionGradientKernel.MaxRows; rows++)
        {
            for (int columns = 1; columns <= ConvolutionGradientKernel.MaxColumns; columns++)
            {
                long cost = 0;
                for (int row = 0; row < filters; row += rows)
                {
                    for (int column = 0; column < taps; column += columns)
                    {
                        cost += Math.Max(12, Math.Min(rows, filters - row) * Math.Min(columns, taps - column));
                    }
                }

                if (cost < bestCost || (cost == bestCost && rows * columns > best.Filters * best.Taps))
                {
                    (best, bestCost) = ((rows, columns), cost);
                }
            }
        }

        return best;
    }

    // ---- Shared by the batched phases ----

    /// <summary>Groups of up to 4 vectors of samples per position: the tiles' columns.</summary>
    private static int VectorBlocks(int pixelFloats) => (pixelFloats / TOps.Count + TileKernel.TileVectors - 1) / TileKernel.TileVectors;

    /// <summary>Work unit <paramref name="unit"/>: its position, its first vector of samples and how many vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (int Position, int Vector, int Vectors) Unit(int unit, int blocks, int pixelFloats)
    {
        int vector = unit % blocks * TileKernel.TileVectors;
        return (unit / blocks, vector, Math.Min(TileKernel.TileVectors, pixelFloats / TOps.Count - vector));
    }

    // ---- One sample ----
    // Vectors along the output positions rather than the batch. Each output is the batched forward's chain plus zero
    // terms for the padding taps, which leave it unchanged (the chain starts at +0 and w · 0 adds ±0), so one sample's
    // bits equal the batch's as long as the weights are finite.

    /// <summary>Thread 0 alone: LeNet's convolutions take a microsecond or two each, about what a hand-off costs.</summary>
    public override bool PredictSplitsAcrossThreads => false;

    public override void Predict<TActivation>(CpuPipeline<TVector, TOps> cpu, int thread) => PredictKernel<TActivation>(cpu, thread);

    public void PredictKernel<TActivation>(CpuPipeline<TVector, TOps> cpu, int thread)
        where TActivation : struct, IActivationKernel
    {
        float* x = cpu.SingleSampleInput(Index), y = cpu.SingleSampleOutput(Index);
        float* padded = _sampleInput.Pointer;
        int height = _height, width = _width, paddedWidth = _paddedWidth;
        for (int channel = 0; channel < _channels; channel++)
        {
            // Only the inside of the padded frame is written; its margins stay the zeros they were allocated as.
            float* inside = padded + ((nint)channel * _paddedHeight + _padding) * paddedWidth + _padding;
            for (int row = 0; row < height; row++)
            {
                new ReadOnlySpan<float>(x + ((nint)channel * height + row) * width, width).CopyTo(new Span<float>(inside + row * paddedWidth, width));
            }
        }

        if (_stride == 1)
        {
            PredictWide<TActivation>(padded, y);
        }
        else
        {
            PredictByColumns<TActivation>(padded, y);
        }
    }

    /// <summary>
    /// Stride 1: output (oy, ox) and input (oy + i, ox + j) are the same distance apart in the padded frame for every
    /// position, so the outputs numbered oy · (W + 2 padding) + ox, which include K − 1 columns past each output row's
    /// end, read every tap as contiguous vectors of the padded input: a stencil, no im2col. The extra columns are
    /// dropped when the rows are packed into the output.
    /// </summary>
    private void PredictWide<TActivation>(float* padded, float* y)
        where TActivation : struct, IActivationKernel
    {
        int width = TOps.Count, kernel = _kernel, paddedWidth = _paddedWidth;
        int vectors = (_outHeight * paddedWidth + width - 1) / width;
        float* rows = _sampleRows.Pointer;
        var epilogue = new SampleEpilogue<TActivation>(_weights.Bias.Pointer, rows, _sampleStride);

        // Blocks of up to 4 vectors, as even as they come: 9 vectors go 3 + 3 + 3, not 4 + 4 + 1.
        int blocks = (vectors + TileKernel.TileVectors - 1) / TileKernel.TileVectors;
        for (int block = 0; block < blocks; block++)
        {
            int first = vectors * block / blocks, end = vectors * (block + 1) / blocks;
            var stencil = new StencilTaps(
                _weights.Weights.Pointer, padded + first * width,
                _channels, kernel * kernel, (nint)_paddedHeight * paddedWidth,
                kernel, kernel, paddedWidth,
                kernel, 1, 1);
            ConvolutionKernel.Position<TVector, TOps, SampleEpilogue<TActivation>>(stencil, _weights.WeightStride, _filters, end - first, first * width, ref epilogue);
        }

        // Packed row by row with whole vectors, each row's copy overwriting what the previous one wrote past its end;
        // exactly where whole vectors would run past the end of y.
        int outWidth = _outWidth, outHeight = _outHeight;
        float* yEnd = y + _filters * Positions;
        for (int filter = 0; filter < _filters; filter++)
        {
            float* from = rows + (nint)filter * _sampleStride, to = y + filter * Positions;
            for (int row = 0; row < outHeight; row++, from += paddedWidth, to += outWidth)
            {
                if (to + CpuLayout.RoundUp(outWidth, width) > yEnd)
                {
                    new ReadOnlySpan<float>(from, outWidth).CopyTo(new Span<float>(to, outWidth));
                    continue;
                }

                for (int column = 0; column < outWidth; column += width)
                {
                    TOps.Store(to + column, TOps.Load(from + column));
                }
            }
        }
    }

    /// <summary>
    /// Larger strides: an im2col, col[(c, i, j), p] = padded input under tap (i, j) of position p (rows
    /// <see cref="_sampleStride"/> apart), then z = W col + b by <see cref="TileKernel"/>, into y directly.
    /// </summary>
    private void PredictByColumns<TActivation>(float* padded, float* y)
        where TActivation : struct, IActivationKernel
    {
        int kernel = _kernel, step = _stride, outWidth = _outWidth;
        float* columns = _sampleRows.Pointer;
        for (int tap = 0; tap < Taps; tap++)
        {
            int channel = tap / (kernel * kernel), i = tap / kernel % kernel, j = tap % kernel;
            float* destination = columns + (nint)tap * _sampleStride;
            for (int outputRow = 0; outputRow < _outHeight; outputRow++, destination += outWidth)
            {
                float* source = padded + ((nint)(channel * _paddedHeight + outputRow * step + i) * _paddedWidth) + j;
                for (int column = 0; column < outWidth; column++)
                {
                    destination[column] = source[column * step];
                }
            }
        }

        var operands = new ProductOperands(_weights.Weights.Pointer, _weights.WeightStride, 1, columns, _sampleStride, Taps);
        var epilogue = new SampleEpilogue<TActivation>(_weights.Bias.Pointer, y, Positions);
        TileKernel.Product<TVector, TOps, SampleEpilogue<TActivation>>(operands, 0, _filters, _sampleStride / TOps.Count, ref epilogue);
    }
}

/// <summary>
/// One sample's y = f(z + b) for rows of <paramref name="length"/> outputs laid end to end, the layout the next
/// layer reads; a row's last vector stores only the lanes inside the row.
/// </summary>
internal readonly unsafe struct SampleEpilogue<TActivation>(float* bias, float* y, int length) : ITileEpilogue
    where TActivation : IActivationKernel
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Row<TVector, TOps>(int row, int column, int vectors, TVector c0, TVector c1, TVector c2, TVector c3)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        TVector b = TOps.Broadcast(bias[row]);
        float* destination = y + (nint)row * length;
        int width = TOps.Count;
        Finish<TVector, TOps>(destination, column, TOps.Add(c0, b));
        if (vectors > 1) { Finish<TVector, TOps>(destination, column + width, TOps.Add(c1, b)); }
        if (vectors > 2) { Finish<TVector, TOps>(destination, column + 2 * width, TOps.Add(c2, b)); }
        if (vectors > 3) { Finish<TVector, TOps>(destination, column + 3 * width, TOps.Add(c3, b)); }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Finish<TVector, TOps>(float* destination, int column, TVector preActivation)
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        TVector value = TActivation.Apply<TVector, TOps>(preActivation);
        if (column + TOps.Count <= length)
        {
            TOps.Store(destination + column, value);
            return;
        }

        float* lanes = (float*)&value;
        for (int lane = 0; column + lane < length; lane++)
        {
            destination[column + lane] = lanes[lane];
        }
    }
}
