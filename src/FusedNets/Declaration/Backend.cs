namespace FusedNets;

/// <summary>Where a network's kernels run.</summary>
public enum Backend
{
    /// <summary>
    /// The first CUDA GPU, else the first usable OpenCL GPU, else <see cref="Cpu"/>; only <see cref="Cpu"/> when the
    /// application does not reference the FusedNets.Gpu package.
    /// </summary>
    Auto,
    /// <summary>The SIMD CPU engine (AVX-512, AVX2 or scalar, chosen at start) on all cores: the fast CPU path.</summary>
    Cpu,
    /// <summary>FusedNets.Gpu's ILGPU kernels on the first NVIDIA GPU (needs the FusedNets.Gpu package).</summary>
    Cuda,
    /// <summary>FusedNets.Gpu's ILGPU kernels on the first OpenCL 2.0+ GPU with generic address space support (needs the FusedNets.Gpu package).</summary>
    OpenCL,
    /// <summary>FusedNets.Gpu's ILGPU kernels on ILGPU's CPU accelerator: slow, for checking kernels without a GPU (needs the FusedNets.Gpu package).</summary>
    IlgpuCpu,
}
