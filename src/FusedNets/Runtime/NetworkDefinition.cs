using FusedNets.Backends.Ilgpu;

namespace FusedNets;

/// <summary>
/// Everything the generator emits about one network that the runtime needs: its checked architecture and
/// the factory of its compiled ILGPU program. Generated code creates one per network class.
/// </summary>
public sealed class NetworkDefinition(NetworkArchitecture architecture, Func<ILGPU.Runtime.Accelerator, IlgpuProgram> createIlgpuProgram)
{
    public NetworkArchitecture Architecture { get; } = architecture;

    public Func<ILGPU.Runtime.Accelerator, IlgpuProgram> CreateIlgpuProgram { get; } = createIlgpuProgram;
}
