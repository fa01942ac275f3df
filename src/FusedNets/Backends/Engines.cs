using FusedNets.Generated;
using FusedNets.Backends.Cpu;

namespace FusedNets.Backends;

/// <summary>Turns a <see cref="Backend"/> choice into an engine for one network.</summary>
internal static class Engines
{
    public static INetworkEngine Create(NetworkDefinition definition, Backend backend, IReadOnlyList<float[]?> masks) =>
        Create(definition, backend, masks, GpuBackend.Provider);

    /// <summary>An engine on <paramref name="backend"/>, GPU backends coming from <paramref name="gpu"/> (null: the GPU package is not referenced).</summary>
    public static INetworkEngine Create(NetworkDefinition definition, Backend backend, IReadOnlyList<float[]?> masks, IGpuEngineProvider? gpu)
    {
        switch (backend)
        {
            case Backend.Cpu:
                return Cpu();
            case Backend.Auto:
                // Without the GPU package there is no GPU to look for.
                return gpu?.TryCreateOnGpu(definition, masks) ?? Cpu();
            case Backend.Cuda or Backend.OpenCL or Backend.IlgpuCpu:
                if (gpu is null)
                {
                    throw new NotSupportedException(
                        $"Backend.{backend} runs the ILGPU kernels of the FusedNets.Gpu package, which this application does not reference. " +
                        "Add a PackageReference to FusedNets.Gpu to the project that creates the network; the network's declaration stays the same.");
                }

                return gpu.Create(backend, definition, masks);
            default:
                throw new ArgumentOutOfRangeException(nameof(backend), backend, "Unknown backend.");
        }

        INetworkEngine Cpu() => new CpuEngine(definition.Architecture, definition.CpuProgram, masks, new CpuEngineOptions());
    }
}
