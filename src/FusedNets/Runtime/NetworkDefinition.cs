using System.ComponentModel;

namespace FusedNets.Generated;

/// <summary>
/// Everything the generator emits about one network that the runtime needs: its checked architecture and its
/// CPU program. Generated code creates one per network class. GPU engines (the FusedNets.Gpu package) build
/// their schedule from the architecture at run time, so nothing here depends on a GPU library.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class NetworkDefinition(NetworkArchitecture architecture, CpuProgram cpuProgram)
{
    public NetworkArchitecture Architecture { get; } = architecture;

    public CpuProgram CpuProgram { get; } = cpuProgram;
}
