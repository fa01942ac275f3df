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

namespace FusedNets.Tests.Pde;

/// <summary>
/// Every kernel a physics-informed network launches compiles to PTX and to OpenCL C with no GPU, each specialized on its
/// sizes as a device would compile it (as <c>GpuCodegenTests</c> checks the training kernels).
/// </summary>
public sealed class PdeGpuCodegenTests : IDisposable
{
    private static readonly Dictionary<string, Func<NetworkArchitecture>> Networks = new()
    {
        [nameof(PoissonNet)] = () => PoissonNet.Definition,
        [nameof(HeatNet)] = () => HeatNet.Definition,
        [nameof(HelmholtzNet)] = () => HelmholtzNet.Definition,
        [nameof(BurgersNet)] = () => BurgersNet.Definition,
        ["EveryActivation"] = () => new("EveryActivation", Loss.MeanSquaredError, "X", 3,
        [
            .. TestArchitectures.EveryActivation.Select((activation, l) => new DenseLayerArchitecture($"L{l}", 17, l == 0 ? 3 : 17, activation, LayerMask.None)),
            new DenseLayerArchitecture("U", 1, 17, Activation.Identity, LayerMask.None),
        ]),
    };

    private readonly Context _context = Context.Create(builder => builder.EnableAlgorithms());

    public static TheoryData<string> NetworkNames => [.. Networks.Keys];

    [Theory]
    [MemberData(nameof(NetworkNames))]
    public void Every_kernel_compiles_to_ptx_for_sm80_and_sm90(string network)
    {
        var failures = new List<string>();
        foreach (CudaArchitecture architecture in new[] { CudaArchitecture.SM_80, CudaArchitecture.SM_90 })
        {
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

    [Fact]
    public void A_masked_layer_launches_the_masked_weight_gradient_and_every_layer_its_activation_both_ways()
    {
        string[] kernels = [.. KernelsOf(nameof(HeatNet)).Select(kernel => kernel.ToString())];

        Assert.Contains("PdeKernels.ActivationForward<SigmoidKernel>", kernels);
        Assert.Contains("PdeKernels.ActivationBackward<SoftplusKernel>", kernels);
        Assert.Contains("PdeKernels.WeightGradient<Masked, Tile8>", kernels);
        Assert.Contains("PdeKernels.WeightGradient<Unmasked, Tile8>", kernels);
        Assert.Contains("DenseKernels.Forward<IdentityKernel, Tile8>", kernels);
        Assert.Contains("PdeKernels.FirstLayerSums<Unmasked>", kernels);
        Assert.Contains("PdeKernels.Step<SgdStep>", kernels);
        Assert.Contains("PdeKernels.Step<AdamStep>", kernels);
    }

    public void Dispose() => _context.Dispose();

    private static KernelInstance[] KernelsOf(string network)
    {
        NetworkArchitecture architecture = Networks[network]();
        Accelerator accelerator = IlgpuDevices.TryGet(Backend.IlgpuCpu, out string whyNot) ?? throw new InvalidOperationException(whyNot);
        return [.. new IlgpuPdeProgram(KernelLibrary.On(accelerator), architecture, TestArchitectures.Masks(architecture)).Kernels.Distinct()];
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
