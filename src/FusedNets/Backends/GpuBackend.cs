using System.ComponentModel;
using FusedNets.Backends;

namespace FusedNets.Generated;

/// <summary>
/// The GPU backends of the FusedNets.Gpu package, as the core sees them: an engine for a network on
/// <see cref="Backend.Cuda"/>, <see cref="Backend.OpenCL"/> or <see cref="Backend.IlgpuCpu"/>. The core references no
/// GPU library, so that an application that never uses one (a trimmed or NativeAOT one among them) carries none.
/// </summary>
/// <remarks>
/// Public only so that generated code can pass the package's provider to <see cref="GpuBackend.Register"/>; its members
/// are internal, so only FusedNets.Gpu (which sees the core's internals) implements it.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IGpuEngineProvider
{
    /// <summary>
    /// An engine for <paramref name="definition"/> on <paramref name="backend"/> (one of the three GPU backends).
    /// Throws <see cref="NotSupportedException"/> saying why when this machine has no such device.
    /// </summary>
    internal INetworkEngine Create(Backend backend, NetworkDefinition definition, IReadOnlyList<float[]?> masks);

    /// <summary>An engine on the first GPU <see cref="Backend.Auto"/> takes (CUDA, then OpenCL), or null when there is none.</summary>
    internal INetworkEngine? TryCreateOnGpu(NetworkDefinition definition, IReadOnlyList<float[]?> masks);
}

/// <summary>
/// Where the FusedNets.Gpu package makes its backends known. The generator emits a module initializer that calls
/// <see cref="Register"/> into every project that references FusedNets.Gpu, so a network declaration reads the same
/// whether the project references the GPU package or not.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class GpuBackend
{
    private static IGpuEngineProvider? s_provider;

    /// <summary>Registers the GPU package's provider; every registration after the first is ignored (each project that references the package registers it).</summary>
    public static void Register(IGpuEngineProvider provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        Interlocked.CompareExchange(ref s_provider, provider, null);
    }

    /// <summary>The registered provider, or null when no project of the application references FusedNets.Gpu.</summary>
    internal static IGpuEngineProvider? Provider => Volatile.Read(ref s_provider);
}
