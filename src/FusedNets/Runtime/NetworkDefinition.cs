using System.ComponentModel;
using FusedNets.Backends.Ilgpu;

namespace FusedNets.Generated;

/// <summary>
/// Everything the generator emits about one network that the runtime needs: its checked architecture, its
/// CPU program and the factory of its compiled ILGPU program. Generated code creates one per network class.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class NetworkDefinition(NetworkArchitecture architecture, CpuProgram cpuProgram, Func<ILGPU.Runtime.Accelerator, IlgpuProgram> createIlgpuProgram)
{
    public NetworkArchitecture Architecture { get; } = architecture;

    public CpuProgram CpuProgram { get; } = cpuProgram;

    public Func<ILGPU.Runtime.Accelerator, IlgpuProgram> CreateIlgpuProgram { get; } = createIlgpuProgram;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<ILGPU.Runtime.Accelerator, Lazy<IlgpuProgram>> _ilgpuPrograms = new();

    /// <summary>
    /// This network's kernels on <paramref name="accelerator"/>, compiled by the first network of the class that
    /// runs there and shared by every later one: a program holds only loaded kernels, no state.
    /// </summary>
    internal IlgpuProgram IlgpuProgramFor(ILGPU.Runtime.Accelerator accelerator) =>
        _ilgpuPrograms.GetOrAdd(accelerator, device => new Lazy<IlgpuProgram>(() => CreateIlgpuProgram(device))).Value;
}
