namespace FusedNets;

/// <summary>Where a network's kernels run.</summary>
public enum Backend
{
    /// <summary>The first CUDA GPU, else the first usable OpenCL GPU, else <see cref="Cpu"/>.</summary>
    Auto,
    /// <summary>The SIMD CPU engine (AVX-512, AVX2 or scalar, chosen at start) on all cores: the fast CPU path.</summary>
    Cpu,
    /// <summary>The generated ILGPU kernels on the first NVIDIA GPU.</summary>
    Cuda,
    /// <summary>The generated ILGPU kernels on the first OpenCL 2.0+ GPU with generic address space support.</summary>
    OpenCL,
    /// <summary>The generated ILGPU kernels on ILGPU's CPU accelerator: slow, for checking kernels without a GPU.</summary>
    IlgpuCpu,
}
