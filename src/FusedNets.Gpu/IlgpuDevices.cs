using ILGPU;
using ILGPU.Backends.OpenCL;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace FusedNets.Gpu;

/// <summary>
/// One ILGPU context and accelerator per backend for the whole process, created on first use: contexts are
/// expensive, and kernels compiled once are cached in them. Every context enables ILGPU.Algorithms, which
/// supplies Exp, Log and Tanh to the PTX and OpenCL backends.
/// </summary>
internal static class IlgpuDevices
{
    private static readonly Lock s_gate = new();
    private static readonly Dictionary<Backend, Accelerator?> s_accelerators = [];
    private static readonly List<Context> s_contexts = [];

    /// <summary>
    /// The device IlgpuCpu simulates: NVIDIA's 32-wide warps, and groups of up to 256 threads, the largest the
    /// kernels launch (16 × 16 tiles). The simulator runs each thread of a group on an OS thread,
    /// so a larger limit would only add idle threads.
    /// </summary>
    private static readonly CPUDevice SimulatedGpu = new(numThreadsPerWarp: 32, numWarpsPerMultiprocessor: 8, numMultiprocessors: 1);

    /// <summary>The accelerator for <paramref name="backend"/>, or null when this machine has none; the reason goes to <paramref name="whyNot"/>.</summary>
    public static Accelerator? TryGet(Backend backend, out string whyNot)
    {
        lock (s_gate)
        {
            whyNot = "";
            if (s_accelerators.TryGetValue(backend, out Accelerator? cached) && cached is not null)
            {
                return cached;
            }

            Accelerator? accelerator = null;
            try
            {
                accelerator = backend switch
                {
                    Backend.IlgpuCpu => Create(b => b.CPU(SimulatedGpu), context => context.CreateCPUAccelerator(0)),
                    Backend.Cuda => Create(b => b.Cuda(), context => context.GetCudaDevices().Count > 0 ? context.CreateCudaAccelerator(0) : null),
                    Backend.OpenCL => CreateOpenCL(out whyNot),
                    _ => throw new ArgumentOutOfRangeException(nameof(backend), backend, "Not an ILGPU backend."),
                };
            }
            catch (Exception e) when (e is not ArgumentOutOfRangeException)
            {
                // A missing driver library (libcuda, libOpenCL) surfaces as a load failure: no such device here.
                whyNot = $"{backend} could not be initialized: {e.Message}";
                accelerator = null;
            }

            if (accelerator is null && whyNot.Length == 0)
            {
                whyNot = $"No {backend} device was found.";
            }

            s_accelerators[backend] = accelerator;
            return accelerator;
        }
    }

    private static Accelerator? Create(Func<Context.Builder, Context.Builder> devices, Func<Context, Accelerator?> accelerator)
    {
        Context context = Context.Create(builder => devices(builder).EnableAlgorithms());
        s_contexts.Add(context);
        return accelerator(context);
    }

    private static Accelerator? CreateOpenCL(out string whyNot)
    {
        whyNot = "";
        Context context = Context.Create(builder => builder.OpenCL(_ => true).EnableAlgorithms());
        s_contexts.Add(context);
        var unusable = new List<string>();
        foreach (CLDevice device in context.GetCLDevices())
        {
            if (device.CLStdVersion >= CLBackend.MinimumVersion && device.Capabilities.GenericAddressSpace)
            {
                return device.CreateCLAccelerator(context);
            }

            unusable.Add($"'{device.Name}' (OpenCL C {device.CLStdVersion}, generic address space: {(device.Capabilities.GenericAddressSpace ? "yes" : "no")})");
        }

        if (unusable.Count > 0)
        {
            whyNot = $"No usable OpenCL device: ILGPU needs OpenCL C 2.0 or later with generic address space support, and this machine has only {string.Join(", ", unusable)}.";
        }

        return null;
    }
}
