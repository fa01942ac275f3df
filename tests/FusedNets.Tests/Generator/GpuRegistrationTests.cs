using FusedNets.Generated;
using FusedNets.Backends;
using FusedNets.Backends.Cpu;
using FusedNets.Tests.Reference;
using Microsoft.CodeAnalysis;

namespace FusedNets.Tests.Generator;

/// <summary>
/// The GPU backends live in the FusedNets.Gpu package. A project that references it gets, from the generator, a module
/// initializer that registers them; a project that does not gets nothing of ILGPU, and its networks run on the CPU.
/// The declaration is the same in both.
/// </summary>
public class GpuRegistrationTests
{
    private const string Declaration = """
        using FusedNets;

        [Network]
        public partial class Net
        {
            [Input(8)] public partial Layer In { get; }
            [Dense(6, Activation.Relu)] public partial Layer Hidden { get; }
            [Dense(3)] public partial Layer Out { get; }
        }
        """;

    [Fact]
    public void A_project_that_references_the_gpu_package_registers_its_backends_in_a_module_initializer()
    {
        GeneratorRun run = GeneratorHarness.Run(GeneratorHarness.CompileWithGpuPackage(Declaration));

        Assert.Empty(run.Exceptions);
        Assert.Empty(run.CompilerErrors);
        string registration = run.GeneratedSource("FusedNets.GpuRegistration.g.cs");
        Assert.Contains("[global::System.Runtime.CompilerServices.ModuleInitializer]", registration, StringComparison.Ordinal);
        Assert.Contains("global::FusedNets.Generated.GpuBackend.Register(global::FusedNets.Gpu.IlgpuEngineProvider.Instance)", registration, StringComparison.Ordinal);
    }

    [Fact]
    public void A_project_without_the_gpu_package_gets_no_registration_and_no_ilgpu_in_its_generated_code()
    {
        GeneratorRun run = GeneratorHarness.Run(Declaration);

        Assert.Empty(run.Exceptions);
        Assert.Empty(run.CompilerErrors);
        GeneratedSourceResult[] sources = [.. run.Result.Results.SelectMany(result => result.GeneratedSources)];
        Assert.Equal(["Net.g.cs"], sources.Select(source => source.HintName));
        Assert.DoesNotContain("ILGPU", sources.Single().SourceText.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_project_with_the_gpu_package_and_no_network_still_registers_it_for_networks_declared_in_its_libraries()
    {
        GeneratorRun run = GeneratorHarness.Run(GeneratorHarness.CompileWithGpuPackage("public static class Program { public static void Main() { } }"));

        Assert.Empty(run.CompilerErrors);
        Assert.Contains("GpuBackend.Register", run.GeneratedSource("FusedNets.GpuRegistration.g.cs"), StringComparison.Ordinal);
    }

    [Fact]
    public void Without_the_gpu_package_a_gpu_backend_throws_naming_the_package_and_Auto_runs_on_the_cpu()
    {
        NetworkArchitecture architecture = TestArchitectures.Mlp(Activation.Tanh, Loss.SoftmaxCrossEntropy);
        var definition = new NetworkDefinition(architecture, new ArchitectureCpuProgram(architecture));
        float[]?[] masks = TestArchitectures.Masks(architecture);

        foreach (Backend backend in new[] { Backend.Cuda, Backend.OpenCL, Backend.IlgpuCpu })
        {
            var error = Assert.Throws<NotSupportedException>(() => Engines.Create(definition, backend, masks, gpu: null));
            Assert.Contains("FusedNets.Gpu", error.Message, StringComparison.Ordinal);
        }

        using INetworkEngine auto = Engines.Create(definition, Backend.Auto, masks, gpu: null);
        Assert.Equal(Backend.Cpu, auto.Backend);
    }
}
