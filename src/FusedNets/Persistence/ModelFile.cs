using System.Globalization;
using System.Text.RegularExpressions;

namespace FusedNets.Persistence;

/// <summary>A network's state as read from a model file, in the flat parameter layout of <see cref="NetworkArchitecture"/>.</summary>
/// <param name="Parameters">Every weight and bias.</param>
/// <param name="Momentum">The SGD momentum buffers, when the file holds them.</param>
/// <param name="Seed">The seed the saved network was created from, when the file says.</param>
internal sealed record ModelState(float[] Parameters, float[]? Momentum, int? Seed);

/// <summary>
/// Maps a network to the tensors and metadata of a safetensors model file and back. Layer L's weights are
/// "L.weight" [units, inputs] and its bias "L.bias" [units] (PyTorch's nn.Linear names and layout); the
/// momentum buffers, when saved, are "L.weight.momentum" and "L.bias.momentum". The metadata describes the
/// architecture so that loading can refuse a file saved from a different network.
/// </summary>
internal static partial class ModelFile
{
    public const int FormatVersion = 1;

    /// <summary>The metadata keys; docs/model-files.md lists them for readers in other languages.</summary>
    public static class Keys
    {
        public const string FormatVersion = "fusednets.format_version";
        public const string Network = "fusednets.network";
        public const string Loss = "fusednets.loss";
        public const string Input = "fusednets.input";
        public const string InputSize = "fusednets.input_size";
        public const string Layers = "fusednets.layers";
        public const string Seed = "fusednets.seed";

        public static string Layer(string layer, string property) => $"fusednets.layer.{layer}.{property}";
    }

    private const string WeightSuffix = ".weight", BiasSuffix = ".bias", MomentumSuffix = ".momentum";

    public static void Write(Stream stream, NetworkArchitecture architecture, int seed, float[] parameters, float[]? momentum)
    {
        var tensors = new List<SafeTensor>();
        AddLayerTensors(tensors, architecture, parameters, suffix: "");
        if (momentum is not null)
        {
            AddLayerTensors(tensors, architecture, momentum, MomentumSuffix);
        }

        SafeTensors.Write(stream, Metadata(architecture, seed), tensors);
    }

    private static void AddLayerTensors(List<SafeTensor> tensors, NetworkArchitecture architecture, float[] values, string suffix)
    {
        for (int l = 0; l < architecture.Layers.Length; l++)
        {
            DenseLayerArchitecture layer = architecture.Layers[l];
            int weights = architecture.WeightOffset(l), bias = architecture.BiasOffset(l);
            tensors.Add(new SafeTensor(layer.Name + WeightSuffix + suffix, [layer.Units, layer.Inputs], values[weights..bias]));
            tensors.Add(new SafeTensor(layer.Name + BiasSuffix + suffix, [layer.Units], values[bias..(bias + layer.Units)]));
        }
    }

    /// <summary>
    /// Reads a file for <paramref name="architecture"/>: a FusedNets file must describe the same architecture;
    /// a file without FusedNets metadata (one saved from PyTorch) must hold a weight and a bias per layer,
    /// matched by layer name or else in name order.
    /// </summary>
    /// <param name="stream">The file's bytes.</param>
    /// <param name="architecture">The network that is to take the file's values.</param>
    /// <param name="path">The file's path, which error messages then start with; null for a stream of no name.</param>
    public static ModelState Read(Stream stream, NetworkArchitecture architecture, string? path = null)
    {
        SafeTensorsContents contents = SafeTensors.Read(stream, path);
        try
        {
            return Map(contents, architecture);
        }
        catch (InvalidDataException e) when (path is not null)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    private static ModelState Map(SafeTensorsContents contents, NetworkArchitecture architecture)
    {
        var tensors = contents.Tensors.ToDictionary(tensor => tensor.Name, StringComparer.Ordinal);
        int? seed = null;
        IReadOnlyList<(SafeTensor Weight, SafeTensor Bias)> layers;
        IReadOnlyList<(SafeTensor Weight, SafeTensor Bias)>? momentum = null;

        if (contents.Metadata.ContainsKey(Keys.FormatVersion))
        {
            CheckArchitecture(contents.Metadata, architecture);
            seed = int.TryParse(contents.Metadata.GetValueOrDefault(Keys.Seed), CultureInfo.InvariantCulture, out int saved) ? saved : null;
            layers = ByName(tensors, architecture, "");
            momentum = architecture.Layers.Any(layer => tensors.ContainsKey(layer.Name + WeightSuffix + MomentumSuffix))
                ? ByName(tensors, architecture, MomentumSuffix)
                : null;
        }
        else if (architecture.Layers.All(layer => tensors.ContainsKey(layer.Name + WeightSuffix)))
        {
            layers = ByName(tensors, architecture, "");
        }
        else
        {
            layers = InNameOrder(contents.Tensors, architecture);
        }

        var used = new HashSet<SafeTensor>(layers.Concat(momentum ?? []).SelectMany(pair => new[] { pair.Weight, pair.Bias }));
        if (contents.Tensors.FirstOrDefault(tensor => !used.Contains(tensor)) is { } extra)
        {
            throw new InvalidDataException($"The file holds tensor '{extra.Name}', which no layer of {architecture.Name} takes.");
        }

        return new ModelState(Flatten(layers, architecture), momentum is null ? null : Flatten(momentum, architecture), seed);
    }

    private static Dictionary<string, string> Metadata(NetworkArchitecture architecture, int seed)
    {
        var metadata = new Dictionary<string, string>
        {
            [Keys.FormatVersion] = Invariant(FormatVersion),
            [Keys.Network] = architecture.Name,
            [Keys.Loss] = architecture.Loss.ToString(),
            [Keys.Input] = architecture.InputName,
            [Keys.InputSize] = Invariant(architecture.InputSize),
            [Keys.Layers] = string.Join(",", architecture.Layers.Select(layer => layer.Name)),
            [Keys.Seed] = Invariant(seed),
        };
        foreach (DenseLayerArchitecture layer in architecture.Layers)
        {
            metadata[Keys.Layer(layer.Name, "units")] = Invariant(layer.Units);
            metadata[Keys.Layer(layer.Name, "inputs")] = Invariant(layer.Inputs);
            metadata[Keys.Layer(layer.Name, "activation")] = layer.Activation.ToString();
            metadata[Keys.Layer(layer.Name, "mask")] = layer.Mask.Description;
        }

        return metadata;
    }

    /// <summary>Throws naming the first difference between the file's architecture and <paramref name="architecture"/>.</summary>
    private static void CheckArchitecture(IReadOnlyDictionary<string, string> metadata, NetworkArchitecture architecture)
    {
        string name = architecture.Name;
        string Get(string key) => metadata.TryGetValue(key, out string? value)
            ? value
            : throw new InvalidDataException($"The model file's metadata lacks '{key}'.");

        string version = Get(Keys.FormatVersion);
        if (version != Invariant(FormatVersion))
        {
            throw new InvalidDataException($"The model file has format version {version}; this FusedNets reads version {FormatVersion}.");
        }

        void Compare(string subject, string inFile, string inNetwork, string unit = "")
        {
            if (inFile != inNetwork)
            {
                throw new InvalidDataException($"The model file does not fit {name}: {subject} {inFile}{unit} in the file but {inNetwork} in {name}.");
            }
        }

        Compare("the loss is", Get(Keys.Loss), architecture.Loss.ToString());
        Compare("the input has", Get(Keys.InputSize), Invariant(architecture.InputSize), " features");
        string[] fileLayers = Get(Keys.Layers).Split(',');
        for (int l = 0; l < Math.Max(fileLayers.Length, architecture.Layers.Length); l++)
        {
            string inFile = l < fileLayers.Length ? $"'{fileLayers[l]}'" : "missing";
            string inNetwork = l < architecture.Layers.Length ? $"'{architecture.Layers[l].Name}'" : "missing";
            Compare($"dense layer {l + 1} is", inFile, inNetwork);
        }

        foreach (DenseLayerArchitecture layer in architecture.Layers)
        {
            Compare($"layer '{layer.Name}' has", Get(Keys.Layer(layer.Name, "units")), Invariant(layer.Units), " units");
            Compare($"layer '{layer.Name}' has", Get(Keys.Layer(layer.Name, "inputs")), Invariant(layer.Inputs), " inputs");
            Compare($"layer '{layer.Name}' has activation", Get(Keys.Layer(layer.Name, "activation")), layer.Activation.ToString());
            Compare($"layer '{layer.Name}' has mask", Get(Keys.Layer(layer.Name, "mask")), layer.Mask.Description);
        }
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static List<(SafeTensor Weight, SafeTensor Bias)> ByName(Dictionary<string, SafeTensor> tensors, NetworkArchitecture architecture, string suffix)
    {
        SafeTensor Find(string tensorName) => tensors.TryGetValue(tensorName, out SafeTensor? tensor)
            ? tensor
            : throw new InvalidDataException($"The model file lacks tensor '{tensorName}' of {architecture.Name}.");

        return [.. architecture.Layers.Select(layer => CheckShapes(
            layer,
            architecture,
            Find(layer.Name + WeightSuffix + suffix),
            Find(layer.Name + BiasSuffix + suffix)))];
    }

    /// <summary>
    /// Pairs "P.weight" with "P.bias" and takes the pairs in the natural order of P ("2" before "10"), as
    /// an nn.Sequential numbers its layers; the i-th pair must have layer i's shapes.
    /// </summary>
    private static List<(SafeTensor Weight, SafeTensor Bias)> InNameOrder(IReadOnlyList<SafeTensor> tensors, NetworkArchitecture architecture)
    {
        var pairs = new List<(string Prefix, SafeTensor? Weight, SafeTensor? Bias)>();
        foreach (SafeTensor tensor in tensors)
        {
            bool isWeight = tensor.Name.EndsWith(WeightSuffix, StringComparison.Ordinal);
            if (!isWeight && !tensor.Name.EndsWith(BiasSuffix, StringComparison.Ordinal))
            {
                throw new InvalidDataException($"The file holds tensor '{tensor.Name}', which is neither a '.weight' nor a '.bias' of a linear layer.");
            }

            string prefix = tensor.Name[..tensor.Name.LastIndexOf('.')];
            int index = pairs.FindIndex(pair => pair.Prefix == prefix);
            if (index < 0)
            {
                pairs.Add((prefix, null, null));
                index = pairs.Count - 1;
            }

            pairs[index] = isWeight ? pairs[index] with { Weight = tensor } : pairs[index] with { Bias = tensor };
        }

        pairs.Sort((a, b) => NaturalCompare(a.Prefix, b.Prefix));
        if (pairs.Count != architecture.Layers.Length)
        {
            throw new InvalidDataException(
                $"The file holds {pairs.Count} linear layers ({string.Join(", ", pairs.Select(pair => pair.Prefix))}) but {architecture.Name} has {architecture.Layers.Length}.");
        }

        var layers = new List<(SafeTensor Weight, SafeTensor Bias)>(pairs.Count);
        for (int l = 0; l < pairs.Count; l++)
        {
            (string prefix, SafeTensor? weight, SafeTensor? bias) = pairs[l];
            if (weight is null || bias is null)
            {
                throw new InvalidDataException($"The file holds '{prefix}{(weight is null ? BiasSuffix : WeightSuffix)}' but not '{prefix}{(weight is null ? WeightSuffix : BiasSuffix)}'.");
            }

            layers.Add(CheckShapes(architecture.Layers[l], architecture, weight, bias));
        }

        return layers;
    }

    private static (SafeTensor Weight, SafeTensor Bias) CheckShapes(DenseLayerArchitecture layer, NetworkArchitecture architecture, SafeTensor weight, SafeTensor bias)
    {
        foreach ((SafeTensor tensor, int[] shape) in new[] { (weight, new[] { layer.Units, layer.Inputs }), (bias, new[] { layer.Units }) })
        {
            if (!tensor.Shape.SequenceEqual(shape))
            {
                throw new InvalidDataException(
                    $"Tensor '{tensor.Name}' has shape {tensor.ShapeText} in the file, but layer '{layer.Name}' of {architecture.Name} needs [{string.Join(", ", shape)}].");
            }
        }

        return (weight, bias);
    }

    private static float[] Flatten(IReadOnlyList<(SafeTensor Weight, SafeTensor Bias)> layers, NetworkArchitecture architecture)
    {
        var values = new float[architecture.ParameterCount];
        for (int l = 0; l < layers.Count; l++)
        {
            layers[l].Weight.Values.CopyTo(values, architecture.WeightOffset(l));
            layers[l].Bias.Values.CopyTo(values, architecture.BiasOffset(l));
        }

        return values;
    }

    /// <summary>Compares runs of digits by value and the rest ordinally, so "layers.2" sorts before "layers.10".</summary>
    internal static int NaturalCompare(string a, string b)
    {
        string[] partsA = DigitRuns().Split(a), partsB = DigitRuns().Split(b);
        for (int i = 0; i < Math.Min(partsA.Length, partsB.Length); i++)
        {
            int order = long.TryParse(partsA[i], out long numberA) && long.TryParse(partsB[i], out long numberB)
                ? numberA.CompareTo(numberB)
                : string.CompareOrdinal(partsA[i], partsB[i]);
            if (order != 0)
            {
                return order;
            }
        }

        return partsA.Length.CompareTo(partsB.Length);
    }

    // Splitting on a captured group keeps the digit runs as their own parts.
    [GeneratedRegex("([0-9]+)")]
    private static partial Regex DigitRuns();
}
