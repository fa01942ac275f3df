using System.Collections.Immutable;

namespace FusedNets;

/// <summary>
/// M copies of one architecture as a single network, so that every engine trains an ensemble in the passes and launches
/// of one network: the first layer with weights reads the shared input with M times the outputs (its members' weight
/// rows stacked, one product for all), every later layer with weights is block diagonal (member m's weights in block
/// m, the rest masked), pooling pools M times the channels, and the loss is summed over M groups of outputs
/// (<see cref="NetworkArchitecture.LossGroups"/>). Layers before the first with weights see the shared input and stay
/// as they are. Member m's values are the m-th block of every layer's output, so the same computation is done for
/// each member as alone, and the CPU engine, which runs block-diagonal layers block by block
/// (<see cref="Backends.Cpu.BlockStructure"/>), gives each member the same sums in the same order.
/// </summary>
/// <remarks>
/// The GPU engines run the block-diagonal layers as masked dense products: one launch per layer and phase for all
/// members, at M times the multiply-adds in layers after the first, which a launch-bound small network does not feel.
/// A convolution after the first runs its masked blocks on every backend the same way.
/// </remarks>
internal sealed class EnsembleArchitecture
{
    private readonly bool[] _sharedInput;

    public EnsembleArchitecture(NetworkArchitecture member, int members)
    {
        ArgumentNullException.ThrowIfNull(member);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(members);
        Member = member;
        Members = members;

        int firstWeighted = member.Layers.IndexOf(member.Layers.First(layer => layer.Weight is not null));
        _sharedInput = [.. Enumerable.Range(0, member.Layers.Length).Select(l => l <= firstWeighted)];
        var layers = ImmutableArray.CreateBuilder<LayerArchitecture>(member.Layers.Length);
        Masks = new float[]?[member.Layers.Length];
        // One member is its own network: no blocks to mask, only what it declares.
        bool alone = members == 1;
        for (int l = 0; l < member.Layers.Length; l++)
        {
            LayerArchitecture layer = member.Layers[l];
            bool widened = l >= firstWeighted && !alone;
            float[]? declared = LayerMask.ArrayOf(layer);
            Masks[l] = layer.Weight is null || ((_sharedInput[l] || alone) && declared is null) ? null : FusedMask(layer, declared, _sharedInput[l]);
            LayerMask mask = Masks[l] is { } values ? LayerMask.FromFunction($"{members} members", Keeps(values, layer, _sharedInput[l])) : LayerMask.None;
            layers.Add(widened ? Widen(layer, _sharedInput[l], mask) : layer);
        }

        Fused = new NetworkArchitecture($"{member.Name}×{members}", member.Loss, member.InputName, member.InputShape, layers.MoveToImmutable())
        {
            LossGroups = members,
        };
    }

    /// <summary>One member's architecture.</summary>
    public NetworkArchitecture Member { get; }

    public int Members { get; }

    /// <summary>All members as one network.</summary>
    public NetworkArchitecture Fused { get; }

    /// <summary>The fused network's masks as the engines take them: each member's declared mask in its block, zeros between blocks.</summary>
    public float[]?[] Masks { get; }

    /// <summary>Writes member <paramref name="member"/>'s parameters (its own flat layout) into the fused network's.</summary>
    public void Pack(int member, ReadOnlySpan<float> memberParameters, Span<float> fused)
    {
        foreach ((int memberIndex, int fusedIndex) in Pairs(member))
        {
            fused[fusedIndex] = memberParameters[memberIndex];
        }
    }

    /// <summary>Reads member <paramref name="member"/>'s parameters (its own flat layout) out of the fused network's.</summary>
    public void Unpack(int member, ReadOnlySpan<float> fused, Span<float> memberParameters)
    {
        foreach ((int memberIndex, int fusedIndex) in Pairs(member))
        {
            memberParameters[memberIndex] = fused[fusedIndex];
        }
    }

    /// <summary>
    /// Every parameter of member <paramref name="member"/>: its index in the member's flat layout and in the fused one.
    /// A weight (r, c) of the member's weight matrix is row m·rows + r of the fused matrix, column c where the input is
    /// shared, else column m·columns + c; bias r is m·rows + r.
    /// </summary>
    private IEnumerable<(int Member, int Fused)> Pairs(int member)
    {
        for (int l = 0; l < Member.Layers.Length; l++)
        {
            LayerArchitecture layer = Member.Layers[l];
            if (layer.Weight is null)
            {
                continue;
            }

            (int rows, int columns) = layer.WeightMatrix;
            int fusedColumns = _sharedInput[l] ? columns : Members * columns;
            int firstColumn = _sharedInput[l] ? 0 : member * columns;
            int memberOffset = Member.ParameterOffset(l), fusedOffset = Fused.ParameterOffset(l);
            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < columns; c++)
                {
                    yield return (memberOffset + r * columns + c, fusedOffset + (member * rows + r) * fusedColumns + firstColumn + c);
                }
            }

            int memberBias = memberOffset + rows * columns, fusedBias = fusedOffset + Members * rows * fusedColumns;
            for (int r = 0; r < rows; r++)
            {
                yield return (memberBias + r, fusedBias + member * rows + r);
            }
        }
    }

    /// <summary>The layer for all members: M times the outputs, and M times the inputs unless it reads the shared input.</summary>
    private LayerArchitecture Widen(LayerArchitecture layer, bool sharedInput, LayerMask mask)
    {
        (int channels, int height, int width) = layer.InputShape;
        (int Channels, int Height, int Width) input = sharedInput ? layer.InputShape : (channels * Members, height, width);
        return layer switch
        {
            DenseLayerArchitecture dense => new DenseLayerArchitecture(dense.Name, dense.Units * Members, Shapes.Size(input), dense.Activation, mask),
            Conv2DLayerArchitecture conv => new Conv2DLayerArchitecture(conv.Name, input, conv.Filters * Members, conv.Kernel, conv.Stride, conv.Padding, conv.Activation, mask),
            MaxPool2DLayerArchitecture pool => new MaxPool2DLayerArchitecture(pool.Name, input, pool.Size),
            AvgPool2DLayerArchitecture pool => new AvgPool2DLayerArchitecture(pool.Name, input, pool.Size),
            _ => throw new NotSupportedException($"An ensemble cannot run {layer.Kind} layers ('{layer.Name}') as one network yet."),
        };
    }

    /// <summary>The fused weight matrix's mask: each member's rows hold its declared mask (or 1s) in its block, everything else 0.</summary>
    private float[] FusedMask(LayerArchitecture layer, float[]? declared, bool sharedInput)
    {
        (int rows, int columns) = layer.WeightMatrix;
        int fusedColumns = sharedInput ? columns : Members * columns;
        var mask = new float[Members * rows * fusedColumns];
        for (int m = 0; m < Members; m++)
        {
            int firstColumn = sharedInput ? 0 : m * columns;
            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < columns; c++)
                {
                    mask[(m * rows + r) * fusedColumns + firstColumn + c] = declared is null ? 1f : declared[r * columns + c];
                }
            }
        }

        return mask;
    }

    /// <summary>The fused mask as a function of (row, column) of the fused weight matrix, for the fused layer's record.</summary>
    private Func<int, int, bool> Keeps(float[] mask, LayerArchitecture layer, bool sharedInput)
    {
        int fusedColumns = sharedInput ? layer.WeightMatrix.Columns : Members * layer.WeightMatrix.Columns;
        return (row, column) => mask[row * fusedColumns + column] != 0;
    }
}
