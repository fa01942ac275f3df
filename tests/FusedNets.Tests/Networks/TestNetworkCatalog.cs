using FusedNets.Tests.Persistence;
using FusedNets.Tests.Reference;

namespace FusedNets.Tests.Networks;

/// <summary>The test networks by name, for theories: create one, or load one through its generated <c>Load</c>.</summary>
public static class TestNetworkCatalog
{
    private static readonly Dictionary<string, (Func<Backend, Network> Create, Func<Stream, Backend, Network> Load)> Networks = new()
    {
        [nameof(EveryActivationClassifier)] = (backend => new EveryActivationClassifier(seed: 3, backend), (stream, backend) => EveryActivationClassifier.Load(stream, backend)),
        [nameof(TinyRegressor)] = (backend => new TinyRegressor(seed: 3, backend), (stream, backend) => TinyRegressor.Load(stream, backend)),
        [nameof(MaskedClassifier)] = (backend => new MaskedClassifier(seed: 3, backend), (stream, backend) => MaskedClassifier.Load(stream, backend)),
        [nameof(MnistMlp)] = (backend => new MnistMlp(seed: 3, backend), (stream, backend) => MnistMlp.Load(stream, backend)),
        [nameof(LeNet)] = (backend => new LeNet(seed: 3, backend), (stream, backend) => LeNet.Load(stream, backend)),
        [nameof(ConvRegressor)] = (backend => new ConvRegressor(seed: 3, backend), (stream, backend) => ConvRegressor.Load(stream, backend)),
        [nameof(WideTinyRegressor)] = (backend => new WideTinyRegressor(seed: 3, backend), (stream, backend) => WideTinyRegressor.Load(stream, backend)),
        [nameof(ReluTinyRegressor)] = (backend => new ReluTinyRegressor(seed: 3, backend), (stream, backend) => ReluTinyRegressor.Load(stream, backend)),
        [nameof(RenamedTinyRegressor)] = (backend => new RenamedTinyRegressor(seed: 3, backend), (stream, backend) => RenamedTinyRegressor.Load(stream, backend)),
    };

    /// <summary>
    /// The networks of TestNetworks.cs: every activation, both losses, both kinds of mask, every layer kind (strides,
    /// padding and a masked convolution included), vector and image inputs.
    /// </summary>
    public static readonly IReadOnlyList<string> Names =
        [nameof(EveryActivationClassifier), nameof(TinyRegressor), nameof(MaskedClassifier), nameof(MnistMlp), nameof(LeNet), nameof(ConvRegressor)];

    public static Network Create(string name, Backend backend) => Networks[name].Create(backend);

    public static Network Load(string name, Stream stream, Backend backend) => Networks[name].Load(stream, backend);

    /// <summary>The network with <see cref="TestArchitectures.RandomParameters"/> (biases away from zero, masked weights zero).</summary>
    public static Network WithRandomParameters(string name, Backend backend, int seed = 5)
    {
        Network net = Create(name, backend);
        net.SetParameters(TestArchitectures.RandomParameters(net.Architecture, seed));
        return net;
    }
}
