using System.ComponentModel;
using FusedNets.Backends;
using FusedNets.Generated;
using ILGPU.Runtime;

namespace FusedNets.Gpu;

/// <summary>
/// FusedNets.Gpu's side of the core's GPU seam: ILGPU engines for <see cref="Backend.Cuda"/>, <see cref="Backend.OpenCL"/>
/// and <see cref="Backend.IlgpuCpu"/>. Nothing to call: the generator emits, into every project that references this
/// package, a module initializer that passes <see cref="Instance"/> to <see cref="GpuBackend.Register"/>.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class IlgpuEngineProvider : IGpuEngineProvider
{
    private IlgpuEngineProvider()
    {
    }

    /// <summary>The one provider, which the generated module initializer registers.</summary>
    public static IlgpuEngineProvider Instance { get; } = new();

    INetworkEngine IGpuEngineProvider.Create(Backend backend, NetworkDefinition definition, IReadOnlyList<float[]?> masks)
    {
        Accelerator device = IlgpuDevices.TryGet(backend, out string whyNot)
            ?? throw new NotSupportedException($"Backend.{backend} is not available: {whyNot}");
        return new IlgpuEngine(backend, device, definition.Architecture, masks);
    }

    INetworkEngine? IGpuEngineProvider.TryCreateOnGpu(NetworkDefinition definition, IReadOnlyList<float[]?> masks)
    {
        foreach (Backend gpu in (ReadOnlySpan<Backend>)[Backend.Cuda, Backend.OpenCL])
        {
            if (IlgpuDevices.TryGet(gpu, out _) is { } accelerator)
            {
                return new IlgpuEngine(gpu, accelerator, definition.Architecture, masks);
            }
        }

        return null;
    }
}
