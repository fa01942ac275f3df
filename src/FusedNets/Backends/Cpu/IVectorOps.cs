namespace FusedNets.Generated;

/// <summary>
/// The few lane-wise operations the CPU kernels use, for one vector width. Kernels are generic over an
/// implementation (a struct), so the JIT compiles one specialized copy per width and inlines every call:
/// the same kernel source runs as AVX-512, as AVX2, as SSE or NEON, or as plain scalar code.
/// </summary>
/// <remarks>
/// Every kernel vectorizes across independent outputs, never across a sum, so each output element sees the
/// same sequence of multiply-adds at every width, each one rounded as <see cref="MultiplyAdd"/> says (once
/// where the processor fuses them, else twice, at every width alike): on one machine the widths agree bit
/// for bit in the products.
/// </remarks>
[System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
public unsafe interface IVectorOps<TVector>
    where TVector : unmanaged
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }

    /// <summary>A short name for <see cref="Backends.INetworkEngine.DeviceName"/>.</summary>
    static abstract string Name { get; }

    static abstract TVector Load(float* source);

    static abstract void Store(float* destination, TVector value);

    /// <summary>A store that bypasses the caches (to an address aligned to the vector), or a plain store where there is none.</summary>
    static abstract void StoreNonTemporal(float* destination, TVector value);

    static abstract TVector Broadcast(float value);

    /// <summary>a * b + c: rounded once where <see cref="Backends.Cpu.MultiplyAdds.AreFused"/> (always at 512 and 256 bits), else a * b rounded, then the sum.</summary>
    static abstract TVector MultiplyAdd(TVector a, TVector b, TVector c);

    static abstract TVector Add(TVector a, TVector b);

    static abstract TVector Subtract(TVector a, TVector b);

    static abstract TVector Multiply(TVector a, TVector b);

    /// <summary>a / b, correctly rounded as IEEE 754 requires, so every width gives the scalar quotient's bits.</summary>
    static abstract TVector Divide(TVector a, TVector b);

    /// <summary>The square root, correctly rounded as IEEE 754 requires, so every width gives the scalar root's bits.</summary>
    static abstract TVector Sqrt(TVector value);

    /// <summary>
    /// 2ⁿ for lanes holding whole numbers n in [−126, 127], exactly: n + 127 written into the exponent bits. What it
    /// gives for any other lane is unspecified (it may differ between widths).
    /// </summary>
    static abstract TVector PowerOfTwo(TVector exponent);

    /// <summary>Lane-wise <c>condition &gt; 0 ? ifPositive : otherwise</c>, NaN and -0 taking <paramref name="otherwise"/> as in C#.</summary>
    static abstract TVector WherePositive(TVector condition, TVector ifPositive, TVector otherwise);

    /// <summary>Lane-wise <c>a &gt; b ? ifGreater : otherwise</c>, false for NaN on either side as in C#.</summary>
    static abstract TVector WhereGreater(TVector a, TVector b, TVector ifGreater, TVector otherwise);

    /// <summary>The sum of the lanes (in a fixed order, so the result is reproducible).</summary>
    static abstract float Sum(TVector value);
}
