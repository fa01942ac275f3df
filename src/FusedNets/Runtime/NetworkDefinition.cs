using System.ComponentModel;

namespace FusedNets.Generated;

/// <summary>
/// Everything the generator emits about one network that the runtime needs: its checked architecture, its CPU
/// program and, for a physics-informed network, its terms. Generated code creates one per network class. GPU engines
/// (the FusedNets.Gpu package) build their schedule from the architecture at run time, so nothing here depends on a GPU
/// library.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class NetworkDefinition(NetworkArchitecture architecture, CpuProgram cpuProgram)
{
    /// <summary>A physics-informed network: a <see cref="ResidualAttribute"/> method and its conditions.</summary>
    public NetworkDefinition(NetworkArchitecture architecture, CpuProgram cpuProgram, PdeProgram pde)
        : this(architecture, cpuProgram)
    {
        ArgumentNullException.ThrowIfNull(pde);
        Pde = pde;
    }

    public NetworkArchitecture Architecture { get; } = architecture;

    public CpuProgram CpuProgram { get; } = cpuProgram;

    /// <summary>The residual and conditions, or null for a network without a residual.</summary>
    public PdeProgram? Pde { get; }
}
