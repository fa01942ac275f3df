using FusedNets.Gpu;
using FusedNets.Tests.Networks;
using FusedNets.Tests.Reference;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace FusedNets.Tests.Kernels;

/// <summary>
/// Every kernel instantiation a network launches compiles to PTX for three NVIDIA architectures and to OpenCL C, with
/// no GPU: ILGPU's backends need only a context. Each is compiled as a device compiles it at its first launch, its
/// specialized sizes constants (<see cref="SpecializedCompiler"/>). This is what proves in CI that the kernels would
/// load on a GPU.
/// </summary>
public sealed class GpuCodegenTests : IDisposable
{
    private static readonly Dictionary<string, Func<NetworkArchitecture>> Networks = new()
    {
        [nameof(MnistMlp)] = () => MnistMlp.Definition,
        [nameof(EveryActivationClassifier)] = () => EveryActivationClassifier.Definition,
        [nameof(TinyRegressor)] = () => TinyRegressor.Definition,
        [nameof(MaskedClassifier)] = () => MaskedClassifier.Definition,
        [nameof(TiledClassifier)] = () => TiledClassifier.Definition,
        [nameof(WideRegressor)] = () => WideRegressor.Definition,
        ["ConvNet"] = () => TestArchitectures.ConvNet(Activation.Gelu, Loss.SoftmaxCrossEntropy, TestArchitectures.Mask("Random")),
        ["StridedConvNet"] = () => TestArchitectures.StridedConvNet(Loss.MeanSquaredError, TestArchitectures.Mask("Banded")),
        [nameof(LeNet)] = () => LeNet.Definition,
        [nameof(ConvRegressor)] = () => ConvRegressor.Definition,
    };

    private readonly Context _context = Context.Create(builder => builder.EnableAlgorithms());

    public static TheoryData<string> NetworkNames => [.. Networks.Keys];

    [Theory]
    [MemberData(nameof(NetworkNames))]
    public void Every_kernel_compiles_to_ptx_for_sm75_sm80_and_sm90(string network)
    {
        var failures = new List<string>();
        foreach (CudaArchitecture architecture in new[] { CudaArchitecture.SM_75, CudaArchitecture.SM_80, CudaArchitecture.SM_90 })
        {
            // No NVVM library: ILGPU writes the PTX itself.
            using var backend = new PTXBackend(_context, new CudaCapabilityContext(architecture), architecture, CudaInstructionSet.ISA_80, nvvmAPI: null);
            foreach (KernelInstance kernel in KernelsOf(network))
            {
                string ptx = Compile(() => ((PTXCompiledKernel)SpecializedCompiler.Compile(backend, kernel)).PTXAssembly, $"{kernel} for {architecture}", failures);
                if (ptx.Length > 0 && !ptx.Contains(".entry", StringComparison.Ordinal))
                {
                    failures.Add($"{kernel} for {architecture}: no .entry in the PTX");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Theory]
    [MemberData(nameof(NetworkNames))]
    public void Every_kernel_compiles_to_opencl_c(string network)
    {
        var capabilities = new CLCapabilityContext(float16: false, float64: true, genericAddressSpace: true, int64_Atomics: true, subGroups: false);
        using var backend = new CLBackend(_context, capabilities, CLDeviceVendor.Other, CLCVersion.CL20);
        var failures = new List<string>();
        foreach (KernelInstance kernel in KernelsOf(network))
        {
            string source = Compile(() => ((CLCompiledKernel)SpecializedCompiler.Compile(backend, kernel)).Source, kernel.ToString(), failures);
            if (source.Length > 0 && !source.Contains("kernel", StringComparison.Ordinal))
            {
                failures.Add($"{kernel}: no kernel in the OpenCL C");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Theory]
    [MemberData(nameof(NetworkNames))]
    public void Every_robustness_and_certified_training_kernel_compiles_to_ptx_and_opencl_c(string network)
    {
        // Interval bounds, vector-Jacobian products and, for classifiers, certified training's backward and loss.
        NetworkArchitecture architecture = Networks[network]();
        Accelerator accelerator = IlgpuDevices.TryGet(Backend.IlgpuCpu, out string whyNot) ?? throw new InvalidOperationException(whyNot);
        KernelInstance[] kernels = [.. new IlgpuProgram(accelerator, architecture, TestArchitectures.Masks(architecture)).RobustnessKernels.Distinct()];
        var failures = new List<string>();
        using var ptx = new PTXBackend(_context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, nvvmAPI: null);
        var capabilities = new CLCapabilityContext(float16: false, float64: true, genericAddressSpace: true, int64_Atomics: true, subGroups: false);
        using var openCL = new CLBackend(_context, capabilities, CLDeviceVendor.Other, CLCVersion.CL20);
        foreach (KernelInstance kernel in kernels)
        {
            Compile(() => ((PTXCompiledKernel)SpecializedCompiler.Compile(ptx, kernel)).PTXAssembly, $"{kernel} for SM_90", failures);
            Compile(() => ((CLCompiledKernel)SpecializedCompiler.Compile(openCL, kernel)).Source, $"{kernel} in OpenCL C", failures);
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        if (architecture.Loss == Loss.SoftmaxCrossEntropy)
        {
            Assert.Contains(kernels, kernel => kernel.Method.Name is nameof(IntervalKernels.ElidedLoss) or nameof(IntervalKernels.OutputLoss));
        }
    }

    [Fact]
    public void The_engines_own_kernels_compile_to_ptx_and_opencl_c()
    {
        // The snapshot copy and the batch gathers, standardizing ones included, which the engine launches beside the schedule.
        KernelInstance[] kernels = [.. new[]
            {
                nameof(KernelChecks.CopyWhileHealthy), nameof(KernelChecks.GatherRows), nameof(KernelChecks.GatherLabels),
                nameof(KernelChecks.Standardize), nameof(KernelChecks.GatherStandardizedRows),
            }.Select(name => KernelInstance.Of(typeof(KernelChecks), name, [], specialization: null))];
        var failures = new List<string>();
        using var ptx = new PTXBackend(_context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, nvvmAPI: null);
        var capabilities = new CLCapabilityContext(float16: false, float64: true, genericAddressSpace: true, int64_Atomics: true, subGroups: false);
        using var openCL = new CLBackend(_context, capabilities, CLDeviceVendor.Other, CLCVersion.CL20);
        foreach (KernelInstance kernel in kernels)
        {
            Compile(() => ((PTXCompiledKernel)SpecializedCompiler.Compile(ptx, kernel)).PTXAssembly, $"{kernel} for SM_90", failures);
            Compile(() => ((CLCompiledKernel)SpecializedCompiler.Compile(openCL, kernel)).Source, $"{kernel} in OpenCL C", failures);
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void A_dense_network_launches_a_forward_backward_and_update_kernel_per_layer_and_optimizer_and_a_loss_kernel()
    {
        string[] kernels = [.. KernelsOf(nameof(WideRegressor)).Select(kernel => kernel.ToString())];

        Assert.Equal(
            [
                "DenseKernels.Forward<TanhKernel, Tile8>", "DenseKernels.Backward<IdentityKernel, Tile8>",
                "DenseKernels.Update<Unmasked, Tile8, SgdStep>", "DenseKernels.Update<Unmasked, Tile8, AdamStep>",
                "DenseKernels.Forward<IdentityKernel, Tile8>", "DenseKernels.Backward<TanhKernel, Tile8>",
                "DenseKernels.Update<Unmasked, Tile8, SgdStep>", "DenseKernels.Update<Unmasked, Tile8, AdamStep>",
                "LossKernels.Loss<GpuMeanSquaredError, IdentityKernel>",
            ],
            kernels);
    }

    [Fact]
    public void Dense_networks_at_most_128_wide_train_with_one_fused_kernel_and_wider_or_convolutional_ones_without()
    {
        Assert.Contains(KernelsOf(nameof(MnistMlp)), kernel => kernel.ToString() ==
            "FusedStepKernels.Step<HiddenLayer<ReluKernel, HiddenLayer<ReluKernel, OutputLayer<IdentityKernel, GpuSoftmaxCrossEntropy>>>>");
        Assert.DoesNotContain(KernelsOf(nameof(WideRegressor)), kernel => kernel.Method.Name == nameof(FusedStepKernels.Step));
        Assert.DoesNotContain(KernelsOf("ConvNet"), kernel => kernel.Method.Name == nameof(FusedStepKernels.Step));
    }

    [Fact]
    public void LeNet_launches_the_kernels_of_every_kind()
    {
        string[] kernels = [.. KernelsOf("LeNet").Select(kernel => kernel.ToString())];

        // Below a convolution lies the input or a pooling layer, neither with an activation.
        Assert.Contains("Conv2DKernels.Forward<ReluKernel>", kernels);
        Assert.Contains("Conv2DKernels.Backward<IdentityKernel>", kernels);
        Assert.Contains("Conv2DKernels.Update<Unmasked, SgdStep>", kernels);
        Assert.Contains("Conv2DKernels.Update<Unmasked, AdamStep>", kernels);
        Assert.Contains("MaxPool2DKernels.Forward", kernels);
        Assert.Contains("MaxPool2DKernels.Backward<ReluKernel>", kernels);
        Assert.Contains("AvgPool2DKernels.Forward", kernels);
        Assert.Contains("AvgPool2DKernels.Backward<ReluKernel>", kernels);
        Assert.Contains("DenseKernels.Backward<IdentityKernel, Tile16>", kernels);
    }

    public void Dispose() => _context.Dispose();

    /// <summary>The distinct kernel instances (method and sizes) of a network's schedule.</summary>
    private static KernelInstance[] KernelsOf(string network)
    {
        NetworkArchitecture architecture = Networks[network]();
        Accelerator accelerator = IlgpuDevices.TryGet(Backend.IlgpuCpu, out string whyNot) ?? throw new InvalidOperationException(whyNot);
        return [.. new IlgpuProgram(accelerator, architecture, TestArchitectures.Masks(architecture)).Kernels.Distinct()];
    }

    private static string Compile(Func<string> compile, string what, List<string> failures)
    {
        try
        {
            return compile();
        }
        catch (Exception e)
        {
            failures.Add($"{what}: {e.GetType().Name}: {e.Message}");
            return "";
        }
    }
}
