using FusedNets.Generated;
using FusedNets.Backends.Cpu;
using FusedNets.Backends.Ilgpu;
using ILGPU.Runtime;

namespace FusedNets.Backends;

/// <summary>Turns a <see cref="Backend"/> choice into an engine for one network.</summary>
internal static class Engines
{
    public static INetworkEngine Create(NetworkDefinition definition, Backend backend, IReadOnlyList<float[]?> masks)
    {
        switch (backend)
        {
            case Backend.Cpu:
                return Cpu();
            case Backend.Auto:
                foreach (Backend gpu in (ReadOnlySpan<Backend>)[Backend.Cuda, Backend.OpenCL])
                {
                    if (IlgpuDevices.TryGet(gpu, out _) is { } accelerator)
                    {
                        return new IlgpuEngine(gpu, accelerator, definition, masks);
                    }
                }

                return Cpu();
            case Backend.Cuda or Backend.OpenCL or Backend.IlgpuCpu:
                Accelerator device = IlgpuDevices.TryGet(backend, out string whyNot)
                    ?? throw new NotSupportedException($"Backend.{backend} is not available: {whyNot}");
                return new IlgpuEngine(backend, device, definition, masks);
            default:
                throw new ArgumentOutOfRangeException(nameof(backend), backend, "Unknown backend.");
        }

        INetworkEngine Cpu() => new CpuEngine(definition.Architecture, definition.CpuProgram, masks, new CpuEngineOptions());
    }
}
