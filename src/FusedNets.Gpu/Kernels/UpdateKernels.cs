using FusedNets.Generated;

namespace FusedNets.Gpu;

/// <summary>
/// A layer's update kernel, whose last type argument is the optimizer's <see cref="IUpdateRule"/>: instantiated and
/// loaded for a rule at its first step, so a network trained only with SGD never compiles Adam's.
/// </summary>
internal sealed class UpdateKernels(KernelLibrary library, Type kernels, string name, Type[] typeArguments, object? specialization)
{
    /// <summary>Every rule, for the checks that compile every kernel for GPUs without one.</summary>
    private static readonly Type[] Rules = [typeof(SgdStep), typeof(AdamStep)];

    private readonly Dictionary<Type, Delegate> _launchers = [];

    /// <summary>The kernel for every rule.</summary>
    public IEnumerable<KernelInstance> All => Rules.Select(For);

    /// <summary>
    /// The launcher of <typeparamref name="TRule"/>'s kernel, typed as the caller declares it (the kernel's parameters, the
    /// rule among them); a dictionary lookup after the first call. A network's calls come one at a time.
    /// </summary>
    public TLauncher Launcher<TRule, TLauncher>()
        where TRule : struct, IUpdateRule
        where TLauncher : Delegate
    {
        if (!_launchers.TryGetValue(typeof(TRule), out Delegate? launcher))
        {
            library.Load(For(typeof(TRule)), out TLauncher loaded);
            _launchers[typeof(TRule)] = launcher = loaded;
        }

        return (TLauncher)launcher;
    }

    private KernelInstance For(Type rule) => KernelInstance.Of(kernels, name, [.. typeArguments, rule], specialization);
}
