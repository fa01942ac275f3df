using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using FusedNets;
using FusedNets.Backends.Cpu;

namespace FusedNets.Bench;

/// <summary>
/// LeNet as issue 10 declares it, 1 × 28 × 28 → Conv(6, 5, Relu, padding 2) → MaxPool 2 → Conv(16, 5, Relu) → AvgPool 2
/// → 120 Relu → 84 Relu → 10, softmax cross-entropy, written out as the generator writes a network class: the
/// architecture, a CPU program naming each layer's activation as a type, the typed Predict and TrainBatch.
/// </summary>
/// <remarks>
/// Until the generator knows the spatial kinds, this class stands in for <c>[Network] partial class LeNet</c>; it runs
/// the very path a generated network runs (Network's argument checks, the engine, the CPU kernels), on Backend.Cpu only.
/// Replace it by the declaration once the generator emits it.
/// </remarks>
public sealed class LeNet : Network, IBenchmarkedNetwork<LeNet.Input, LeNet.Output>
{
    public const int InputSize = 784;
    public const int OutputSize = 10;

    private static readonly NetworkDefinition s_definition = new(
        new NetworkArchitecture(
            nameof(LeNet),
            Loss.SoftmaxCrossEntropy,
            "Image",
            (1, 28, 28),
            ImmutableArray.Create<LayerArchitecture>(
                new Conv2DLayerArchitecture("Conv1", (1, 28, 28), filters: 6, kernel: 5, stride: 1, padding: 2, Activation.Relu, LayerMask.None),
                new MaxPool2DLayerArchitecture("Pool1", (6, 28, 28), size: 2),
                new Conv2DLayerArchitecture("Conv2", (6, 14, 14), filters: 16, kernel: 5, stride: 1, padding: 0, Activation.Relu, LayerMask.None),
                new AvgPool2DLayerArchitecture("Pool2", (16, 10, 10), size: 2),
                new DenseLayerArchitecture("Fc1", 120, 400, Activation.Relu, LayerMask.None),
                new DenseLayerArchitecture("Fc2", 84, 120, Activation.Relu, LayerMask.None),
                new DenseLayerArchitecture("Logits", 10, 84, Activation.Identity, LayerMask.None))),
        new Program(),
        static _ => throw new NotSupportedException("The stand-in LeNet runs on Backend.Cpu only."));

    public LeNet(int seed)
        : base(s_definition, seed, Backend.Cpu)
    {
    }

    [InlineArray(InputSize)]
    public struct Input
    {
        private float _element0;
    }

    [InlineArray(OutputSize)]
    public struct Output
    {
        private float _element0;
    }

    public Output Predict(in Input x)
    {
        Output y = default;
        PredictSample(x, y);
        return y;
    }

    public float TrainBatch(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, Sgd sgd) => TrainBatchCore(inputs, labels, default, sgd);

    private sealed class Program : CpuProgram
    {
        public override CpuKernels<TVector, TOps> CreateKernels<TVector, TOps>() => new Kernels<TVector, TOps>();
    }

    private sealed class Kernels<TVector, TOps> : CpuKernels<TVector, TOps>
        where TVector : unmanaged
        where TOps : IVectorOps<TVector>
    {
        public override void Predict(CpuPipeline<TVector, TOps> cpu, int thread)
        {
            cpu.Predict<ReluKernel>(0, thread);
            cpu.Predict<IdentityKernel>(1, thread);
            cpu.Predict<ReluKernel>(2, thread);
            cpu.Predict<IdentityKernel>(3, thread);
            cpu.Predict<ReluKernel>(4, thread);
            cpu.Predict<ReluKernel>(5, thread);
            cpu.Predict<IdentityKernel>(6, thread);
        }

        public override void Forward(CpuPipeline<TVector, TOps> cpu, int layer, int thread)
        {
            switch (layer)
            {
                case 0: cpu.Forward<ReluKernel>(0, thread); break;
                case 1: cpu.Forward<IdentityKernel>(1, thread); break;
                case 2: cpu.Forward<ReluKernel>(2, thread); break;
                case 3: cpu.Forward<IdentityKernel>(3, thread); break;
                case 4: cpu.Forward<ReluKernel>(4, thread); break;
                case 5: cpu.Forward<ReluKernel>(5, thread); break;
                case 6: cpu.Forward<IdentityKernel>(6, thread); break;
                default: throw new ArgumentOutOfRangeException(nameof(layer), layer, null);
            }
        }

        // Each layer writes the delta of the layer below, with that layer's activation derivative.
        public override void Backward(CpuPipeline<TVector, TOps> cpu, int layer, int thread)
        {
            switch (layer)
            {
                case 6: cpu.Backward<ReluKernel>(6, thread); break;
                case 5: cpu.Backward<ReluKernel>(5, thread); break;
                case 4: cpu.Backward<IdentityKernel>(4, thread); break;
                case 3: cpu.Backward<ReluKernel>(3, thread); break;
                case 2: cpu.Backward<IdentityKernel>(2, thread); break;
                case 1: cpu.Backward<ReluKernel>(1, thread); break;
                default: throw new ArgumentOutOfRangeException(nameof(layer), layer, null);
            }
        }

        public override void Loss(CpuPipeline<TVector, TOps> cpu, int thread) => cpu.Loss<SoftmaxCrossEntropyLoss, IdentityKernel>(thread);
    }
}
