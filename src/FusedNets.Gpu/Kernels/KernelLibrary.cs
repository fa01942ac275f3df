using FusedNets.Generated;
using System.Collections.Concurrent;
using System.Reflection;
using ILGPU;
using ILGPU.Runtime;

namespace FusedNets.Gpu;

/// <summary>
/// One kernel as a network launches it: a kernel method of this library with its type arguments chosen (activation,
/// tile, loss, mask mode) and the value its <see cref="SpecializedValue{T}"/> parameter takes for this network (the
/// layer's sizes). ILGPU compiles a specialized kernel the first time it is launched with a value, every size then a
/// constant in the code, and reuses it for every later launch with the same value.
/// </summary>
/// <param name="Method">The kernel method, generic arguments bound.</param>
/// <param name="Specialization">The boxed <see cref="SpecializedValue{T}"/> this network passes, or null for a kernel without one.</param>
internal sealed record KernelInstance(MethodInfo Method, object? Specialization)
{
    /// <summary>
    /// The kernel <paramref name="name"/> of <paramref name="kernels"/> instantiated with <paramref name="typeArguments"/>,
    /// launched with <paramref name="specialization"/>.
    /// </summary>
    public static KernelInstance Of(Type kernels, string name, Type[] typeArguments, object? specialization)
    {
        MethodInfo method = kernels.GetMethod(name, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            ?? throw new MissingMethodException(kernels.Name, name);
        return new KernelInstance(typeArguments.Length > 0 ? method.MakeGenericMethod(typeArguments) : method, specialization);
    }

    /// <summary>Kernels whose first parameter is a thread index are implicitly grouped; the others choose their groups.</summary>
    public bool IsImplicitlyGrouped => Method.GetParameters() is [{ ParameterType: var first }, ..] && first == typeof(Index1D);

    /// <summary>For messages and test names, as <c>DenseKernels.Forward&lt;ReluKernel, Tile16&gt;</c>.</summary>
    public override string ToString() =>
        $"{Method.DeclaringType!.Name}.{Method.Name}"
        + (Method.IsGenericMethod ? $"<{string.Join(", ", Method.GetGenericArguments().Select(Name))}>" : "");

    private static string Name(Type type) =>
        type.IsGenericType ? $"{type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)]}<{string.Join(", ", type.GetGenericArguments().Select(Name))}>" : type.Name;
}

/// <summary>
/// The kernels loaded on one accelerator. Each instantiation is compiled once per accelerator and its launcher
/// shared by every network there, whatever its architecture; with the launcher goes ILGPU's cache of its
/// specialized versions, one per distinct size.
/// </summary>
internal sealed class KernelLibrary
{
    private static readonly ConcurrentDictionary<Accelerator, KernelLibrary> s_libraries = new();

    private readonly ConcurrentDictionary<MethodInfo, Lazy<Delegate>> _launchers = new();

    private KernelLibrary(Accelerator accelerator) => Accelerator = accelerator;

    public Accelerator Accelerator { get; }

    /// <summary>The library of <paramref name="accelerator"/>: accelerators live as long as the process (see <see cref="IlgpuDevices"/>).</summary>
    public static KernelLibrary On(Accelerator accelerator) => s_libraries.GetOrAdd(accelerator, device => new KernelLibrary(device));

    /// <summary>
    /// Loads <paramref name="kernel"/> into <paramref name="launcher"/>, an <c>Action</c> of the stream, the launch
    /// dimension (a <see cref="KernelConfig"/>, or an <see cref="Index1D"/> for an implicitly grouped kernel), then the
    /// kernel's parameters; the launcher's type is written once, where the caller declares it.
    /// </summary>
    public void Load<TLauncher>(KernelInstance kernel, out TLauncher launcher)
        where TLauncher : Delegate =>
        launcher = (TLauncher)_launchers.GetOrAdd(kernel.Method, method => new Lazy<Delegate>(() => kernel.IsImplicitlyGrouped
            ? Accelerator.LoadAutoGroupedKernel<TLauncher>(method)
            : Accelerator.LoadKernel<TLauncher>(method))).Value;
}
