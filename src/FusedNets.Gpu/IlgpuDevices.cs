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
/// <remarks>
/// A backend with no device is remembered too, with the reason, and the context that found nothing is
/// disposed. <see cref="Backend.Auto"/> asks for CUDA and OpenCL on every network it creates: on a machine
/// without a GPU, looking again each time cost 2.5 ms per network and left two contexts and their four
/// threads behind (1,000 networks: 4,000 threads and 158 MB). A driver installed while the process runs is
/// therefore seen only by the next process.
/// </remarks>
internal static class IlgpuDevices
{
    private static readonly Lock s_gate = new();
    private static readonly Dictionary<Backend, (Accelerator? Accelerator, string WhyNot)> s_found = [];

    // The contexts of the accelerators in s_found, alive as long as the process.
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
            if (s_found.TryGetValue(backend, out (Accelerator? Accelerator, string WhyNot) found))
            {
                whyNot = found.WhyNot;
                return found.Accelerator;
            }

            whyNot = "";
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

            s_found[backend] = (accelerator, whyNot);
            return accelerator;
        }
    }

    /// <summary>The accelerator <paramref name="accelerator"/> finds in a new context, which is kept with it; a context that yields none, or throws, is disposed.</summary>
    private static Accelerator? Create(Func<Context.Builder, Context.Builder> devices, Func<Context, Accelerator?> accelerator)
    {
        Context context = Context.Create(builder => devices(builder).EnableAlgorithms());
        try
        {
            if (accelerator(context) is { } found)
            {
                s_contexts.Add(context);
                return found;
            }
        }
        catch
        {
            context.Dispose();
            throw;
        }

        context.Dispose();
        return null;
    }

    private static Accelerator? CreateOpenCL(out string whyNot)
    {
        var unusable = new List<string>();
        Accelerator? accelerator = Create(b => b.OpenCL(_ => true), context =>
        {
            foreach (CLDevice device in context.GetCLDevices())
            {
                if (device.CLStdVersion >= CLBackend.MinimumVersion && device.Capabilities.GenericAddressSpace)
                {
                    return device.CreateCLAccelerator(context);
                }

                unusable.Add($"'{device.Name}' (OpenCL C {device.CLStdVersion}, generic address space: {(device.Capabilities.GenericAddressSpace ? "yes" : "no")})");
            }

            return null;
        });

        whyNot = accelerator is null && unusable.Count > 0
            ? $"No usable OpenCL device: ILGPU needs OpenCL C 2.0 or later with generic address space support, and this machine has only {string.Join(", ", unusable)}."
            : "";
        return accelerator;
    }
}
