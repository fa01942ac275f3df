using System.Reflection;
using FusedNets.Tests.Networks;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Backends.PTX;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace FusedNets.Tests.Kernels;

/// <summary>
/// Every generated kernel compiles to PTX for three NVIDIA architectures and to OpenCL C, with no GPU:
/// ILGPU's backends need only a context. This is what proves in CI that the kernels would load on a GPU.
/// </summary>
public sealed class GpuCodegenTests : IDisposable
{
    private readonly Context _context = Context.Create(builder => builder.EnableAlgorithms());

    public static TheoryData<string, string> Kernels()
    {
        var data = new TheoryData<string, string>();
        foreach (Type network in new[] { typeof(MnistMlp), typeof(EveryActivationClassifier), typeof(TinyRegressor), typeof(MaskedClassifier), typeof(TiledClassifier), typeof(WideRegressor) })
        {
            foreach (MethodInfo kernel in KernelMethods(network))
            {
                data.Add(network.Name, kernel.Name);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Kernel_compiles_to_ptx_for_sm75_sm80_and_sm90(string network, string kernel)
    {
        EntryPointDescription entry = EntryPoint(Find(network, kernel));
        foreach (CudaArchitecture architecture in new[] { CudaArchitecture.SM_75, CudaArchitecture.SM_80, CudaArchitecture.SM_90 })
        {
            // No NVVM library: ILGPU writes the PTX itself.
            using var backend = new PTXBackend(_context, new CudaCapabilityContext(architecture), architecture, CudaInstructionSet.ISA_80, nvvmAPI: null);
            var compiled = (PTXCompiledKernel)backend.Compile(entry, default);
            Assert.Contains(".entry", compiled.PTXAssembly, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Kernel_compiles_to_opencl_c(string network, string kernel)
    {
        EntryPointDescription entry = EntryPoint(Find(network, kernel));
        var capabilities = new CLCapabilityContext(float16: false, float64: true, genericAddressSpace: true, int64_Atomics: true, subGroups: false);
        using var backend = new CLBackend(_context, capabilities, CLDeviceVendor.Other, CLCVersion.CL20);
        var compiled = (CLCompiledKernel)backend.Compile(entry, default);
        Assert.Contains("kernel", compiled.Source, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_network_has_forward_backward_update_and_loss_kernels()
    {
        string[] kernels = [.. KernelMethods(typeof(MnistMlp)).Select(kernel => kernel.Name).Order(StringComparer.Ordinal)];
        Assert.Equal(
            [
                "Hidden1Forward", "Hidden1InputGradient", "Hidden1Update",
                "Hidden2Backward", "Hidden2Forward", "Hidden2Update",
                "LogitsBackward", "LogitsForward", "LogitsUpdate",
                "SoftmaxCrossEntropyLoss",
            ],
            kernels.Where(kernel => kernel != "FusedStep"));
    }

    [Fact]
    public void Networks_at_most_128_wide_train_with_one_fused_kernel_and_wider_ones_without()
    {
        Assert.Contains(KernelMethods(typeof(MnistMlp)), kernel => kernel.Name == "FusedStep");
        Assert.DoesNotContain(KernelMethods(typeof(WideRegressor)), kernel => kernel.Name == "FusedStep");
    }

    public void Dispose() => _context.Dispose();

    private static MethodInfo Find(string network, string kernel) =>
        KernelMethods(typeof(MnistMlp).Assembly.GetType("FusedNets.Tests.Networks." + network)!).Single(method => method.Name == kernel);

    /// <summary>The kernels of a network: the static methods of its generated IlgpuKernels class.</summary>
    private static IEnumerable<MethodInfo> KernelMethods(Type network) => network
        .GetNestedType("IlgpuKernels", BindingFlags.NonPublic)!
        .GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.DeclaredOnly);

    /// <summary>Kernels taking a thread index are implicitly grouped; the tiled ones choose their groups.</summary>
    private static EntryPointDescription EntryPoint(MethodInfo kernel) =>
        kernel.GetParameters() is [{ ParameterType: var first }, ..] && first == typeof(Index1D)
            ? EntryPointDescription.FromImplicitlyGroupedKernel(kernel)
            : EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
}
