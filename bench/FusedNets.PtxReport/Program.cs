// Compiles the forward kernels (and the fused training step) of 784-128-128-10 to PTX with ILGPU's PTX backend, no GPU
// needed, both as the generator used to write them (one kernel per layer, every size a constant) and as FusedNets.Gpu
// writes them now (one generic kernel, specialized by ILGPU on the layer's sizes), and prints a Markdown table of what
// each holds. The counts are static (instructions in the text, not executed ones) and PTX is virtual: ptxas unrolls,
// contracts mul + add into fma and allocates physical registers when the driver loads it.
//
// Usage: FusedNets.PtxReport <old build> [--ptx <folder>]
//   <old build>  the output folder of tests/FusedNets.TestNetworks built from a commit whose generator still wrote
//                ILGPU kernels (main before FusedNets.Gpu), holding FusedNets.TestNetworks.dll and its FusedNets.dll.
//   --ptx        also writes every kernel's PTX there.
using System.Globalization;
using System.Reflection;
using System.Runtime.Loader;
using System.Text.RegularExpressions;
using FusedNets;
using FusedNets.Gpu;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace FusedNets.PtxReport;

public static partial class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 0 || !File.Exists(Path.Combine(args[0], "FusedNets.TestNetworks.dll")))
        {
            Console.Error.WriteLine("Usage: FusedNets.PtxReport <folder of an old FusedNets.TestNetworks.dll build> [--ptx <folder>]");
            return 2;
        }

        string? ptxFolder = args.SkipWhile(arg => arg != "--ptx").Skip(1).FirstOrDefault();
        using Context context = Context.Create(builder => builder.EnableAlgorithms());
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_80), CudaArchitecture.SM_80, CudaInstructionSet.ISA_80, nvvmAPI: null);

        // The old kernels: static methods of MnistMlp's generated IlgpuKernels, loaded beside this build's FusedNets.
        Type oldKernels = new OldBuild(Path.GetFullPath(args[0]))
            .LoadFromAssemblyName(new AssemblyName("FusedNets.TestNetworks"))
            .GetType("FusedNets.Tests.Networks.MnistMlp")!
            .GetNestedType("IlgpuKernels", BindingFlags.NonPublic)!;
        string OldPtx(string kernel) => ((PTXCompiledKernel)backend.Compile(
            EntryPointDescription.FromExplicitlyGroupedKernel(oldKernels.GetMethod(kernel, BindingFlags.Static | BindingFlags.NonPublic)!), default)).PTXAssembly;

        // The new ones: the kernels the GPU engine launches for the same architecture.
        NetworkArchitecture mnistMlp = new("MnistMlp", Loss.SoftmaxCrossEntropy, "Pixels", 784,
        [
            new DenseLayerArchitecture("Hidden1", 128, 784, Activation.Relu, LayerMask.None),
            new DenseLayerArchitecture("Hidden2", 128, 128, Activation.Relu, LayerMask.None),
            new DenseLayerArchitecture("Logits", 10, 128, Activation.Identity, LayerMask.None),
        ]);
        Accelerator simulator = IlgpuDevices.TryGet(Backend.IlgpuCpu, out string whyNot) ?? throw new InvalidOperationException(whyNot);
        KernelInstance[] kernels = [.. new IlgpuProgram(simulator, mnistMlp, [null, null, null]).Kernels];
        string NewPtx(KernelInstance kernel) => ((PTXCompiledKernel)SpecializedCompiler.Compile(backend, kernel)).PTXAssembly;

        // The schedule lists each layer's kernels in layer order, the forward first.
        KernelInstance[] forwards = [.. kernels.Where(kernel => kernel.Method.Name == nameof(DenseKernels.Forward))];
        var rows = new List<(string Kernel, string Version, string Ptx)>();
        foreach ((string layer, KernelInstance kernel) in mnistMlp.Layers.Select(layer => layer.Name).Zip(forwards))
        {
            rows.Add(($"{layer} forward", "old: generated, sizes constant", OldPtx(layer + "Forward")));
            rows.Add(($"{layer} forward", $"new: {kernel}, specialized", NewPtx(kernel)));
            rows.Add(($"{layer} forward", "new, not specialized", NewPtx(kernel with { Specialization = null })));
        }

        KernelInstance step = kernels.Single(kernel => kernel.Method.Name == "Step");
        rows.Add(("Fused step", "old: generated, sizes constant", OldPtx("FusedStep")));
        rows.Add(("Fused step", "new: FusedStepKernels.Step<layers as a type>", NewPtx(step)));

        Console.WriteLine("| kernel | version | instructions | ld global f32 / int | st global | ld shared | st shared | fma | mul.f32 + add.f32 | bar | branches | virtual registers | shared memory |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach ((string kernel, string version, string ptx) in rows)
        {
            PtxCounts counts = PtxCounts.Of(ptx);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {kernel} | {version.Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal)} | {counts.Instructions} | {counts.GlobalFloatLoads} / {counts.GlobalIntLoads} | {counts.GlobalStores} | {counts.SharedLoads} | {counts.SharedStores} | {counts.Fma} | {counts.MulAdd} | {counts.Barriers} | {counts.Branches} | {counts.Registers} | {counts.SharedBytes} B |"));
            if (ptxFolder is not null)
            {
                Directory.CreateDirectory(ptxFolder);
                File.WriteAllText(Path.Combine(ptxFolder, $"{kernel.Replace(' ', '-')}.{version.Split(':')[0].Replace(' ', '-').Replace(",", "", StringComparison.Ordinal)}.ptx"), ptx);
            }
        }

        return 0;
    }

    /// <summary>The old build's FusedNets and test networks, apart from this build's; ILGPU and the rest are shared.</summary>
    private sealed class OldBuild(string directory) : AssemblyLoadContext("old build")
    {
        protected override Assembly? Load(AssemblyName name) =>
            name.Name is "FusedNets" or "FusedNets.TestNetworks" ? LoadFromAssemblyPath(Path.Combine(directory, name.Name + ".dll")) : null;
    }
}

/// <summary>What one kernel's PTX holds, instruction by instruction.</summary>
internal sealed partial record PtxCounts(
    int Instructions, int GlobalFloatLoads, int GlobalIntLoads, int GlobalStores, int SharedLoads, int SharedStores, int Fma, int MulAdd, int Barriers, int Branches, int Registers, int SharedBytes)
{
    public static PtxCounts Of(string ptx)
    {
        string[] instructions = [.. ptx.Split('\n')
            .Select(line => line.Trim())
            .Where(line => line.EndsWith(';') && !line.StartsWith('.') && !line.StartsWith("//", StringComparison.Ordinal))
            .Select(line => Predicate().Replace(line, ""))];
        int Count(Func<string, bool> kind) => instructions.Count(kind);

        // ILGPU addresses views with generic loads and stores (ld.f32), which reach global memory here; .global ones count too.
        static bool IsMemory(string op, string instruction) =>
            instruction.StartsWith(op + ".", StringComparison.Ordinal)
            && !instruction.StartsWith(op + ".shared", StringComparison.Ordinal)
            && !instruction.StartsWith(op + ".param", StringComparison.Ordinal)
            && !instruction.StartsWith(op + ".local", StringComparison.Ordinal);

        return new PtxCounts(
            instructions.Length,
            Count(i => IsMemory("ld", i) && i.Contains(".f32", StringComparison.Ordinal)),
            Count(i => IsMemory("ld", i) && !i.Contains(".f32", StringComparison.Ordinal)),
            Count(i => IsMemory("st", i)),
            Count(i => i.StartsWith("ld.shared", StringComparison.Ordinal)),
            Count(i => i.StartsWith("st.shared", StringComparison.Ordinal)),
            Count(i => i.StartsWith("fma.", StringComparison.Ordinal)),
            Count(i => i.StartsWith("mul.f32", StringComparison.Ordinal) || i.StartsWith("add.f32", StringComparison.Ordinal)),
            Count(i => i.StartsWith("bar.", StringComparison.Ordinal) || i.StartsWith("barrier.", StringComparison.Ordinal)),
            Count(i => i.StartsWith("bra", StringComparison.Ordinal)),
            RegisterDeclaration().Matches(ptx).Sum(match => int.Parse(match.Groups["count"].Value, CultureInfo.InvariantCulture)),
            SharedDeclaration().Matches(ptx).Sum(match => int.Parse(match.Groups["bytes"].Value, CultureInfo.InvariantCulture)));
    }

    /// <summary>A guard such as <c>@%p3 </c> in front of an instruction.</summary>
    [GeneratedRegex(@"^@!?%\w+\s+")]
    private static partial Regex Predicate();

    /// <summary><c>.reg .b32 %r&lt;35&gt;;</c>: 35 virtual registers of one type.</summary>
    [GeneratedRegex(@"\.reg\s+\.\w+\s+%\w+<(?<count>\d+)>;")]
    private static partial Regex RegisterDeclaration();

    /// <summary><c>.shared .align 4 .b8 __shared_alloca0[1088];</c></summary>
    [GeneratedRegex(@"\.shared\s+\.align\s+\d+\s+\.b8\s+\w+\[(?<bytes>\d+)\];")]
    private static partial Regex SharedDeclaration();
}
