namespace FusedNets;

/// <summary>
/// What generic code needs of a network class: its architecture and a way to create instances. The generator
/// implements it on every <c>[Network]</c> class, so that <see cref="Ensemble{TNetwork}"/> takes any of them.
/// </summary>
/// <typeparam name="TSelf">The network class itself.</typeparam>
public interface IDeclaredNetwork<TSelf>
    where TSelf : Network, IDeclaredNetwork<TSelf>
{
    /// <summary>The architecture every instance of the class shares.</summary>
    static abstract NetworkArchitecture Definition { get; }

    /// <summary>A new instance, as <c>new TSelf(seed, backend)</c> creates it.</summary>
    static abstract TSelf Create(int seed, Backend backend);
}
