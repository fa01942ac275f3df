using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;

namespace FusedNets.Persistence;

/// <summary>A network's state as read from a model file, in the flat parameter layout of <see cref="NetworkArchitecture"/>.</summary>
/// <param name="Parameters">Every weight and bias.</param>
/// <param name="Momentum">The SGD momentum buffers, when the file holds them.</param>
/// <param name="Seed">The seed the saved network was created from, when the file says.</param>
internal sealed record ModelState(float[] Parameters, float[]? Momentum, int? Seed)
{
    /// <summary>Per layer, the mask pruning made (1 kept, 0 fixed at zero) when the file holds one, else null.</summary>
    public float[]?[] PrunedMasks { get; init; } = [];
}

/// <summary>
/// Maps a network to the tensors and metadata of a safetensors model file and back. Layer L's tensors are
/// "L.weight" and "L.bias" in PyTorch's names and layouts (nn.Linear's [units, inputs], nn.Conv2d's
/// [filters, channels, kernel, kernel]); the momentum buffers, when saved, are "L.weight.momentum" and "L.bias.momentum";
/// a mask made by pruning is "L.weight_mask", PyTorch's name for the buffer its pruning keeps. The metadata describes the
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
        public const string InputShape = "fusednets.input_shape";
        public const string Layers = "fusednets.layers";
        public const string Seed = "fusednets.seed";

        public static string Layer(string layer, string property) => $"fusednets.layer.{layer}.{property}";
    }

    private const string WeightSuffix = ".weight", BiasSuffix = ".bias", MomentumSuffix = ".momentum", PrunedMaskSuffix = ".weight_mask";

    /// <param name="stream">Where to write.</param>
    /// <param name="architecture">The network's architecture.</param>
    /// <param name="seed">The seed it was created from.</param>
    /// <param name="parameters">Every weight and bias.</param>
    /// <param name="momentum">The SGD momentum, or null.</param>
    /// <param name="prunedMasks">Per layer, the mask pruning made, or null (for every layer when null).</param>
    public static void Write(Stream stream, NetworkArchitecture architecture, int seed, float[] parameters, float[]? momentum, IReadOnlyList<float[]?>? prunedMasks = null)
    {
        var tensors = new List<SafeTensor>();
        AddLayerTensors(tensors, architecture, parameters, suffix: "");
        if (momentum is not null)
        {
            AddLayerTensors(tensors, architecture, momentum, MomentumSuffix);
        }

        for (int l = 0; l < architecture.Layers.Length; l++)
        {
            if (prunedMasks?[l] is { } mask)
            {
                LayerArchitecture layer = architecture.Layers[l];
                tensors.Add(new SafeTensor(layer.Name + PrunedMaskSuffix, [.. layer.Weight!.Shape], mask));
            }
        }

        SafeTensors.Write(stream, Metadata(architecture, seed), tensors);
    }

    private static void AddLayerTensors(List<SafeTensor> tensors, NetworkArchitecture architecture, float[] values, string suffix)
    {
        for (int l = 0; l < architecture.Layers.Length; l++)
        {
            LayerArchitecture layer = architecture.Layers[l];
            int offset = architecture.ParameterOffset(l);
            foreach (ParameterTensor tensor in layer.Parameters)
            {
                tensors.Add(new SafeTensor(layer.Name + "." + tensor.Name + suffix, [.. tensor.Shape], values[offset..(offset + tensor.Size)]));
                offset += tensor.Size;
            }
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
        SafeTensor[][] layers;
        SafeTensor[][]? momentum = null;
        var prunedMasks = new SafeTensor?[architecture.Layers.Length];
        LayerArchitecture[] parameterized = [.. architecture.Layers.Where(layer => layer.ParameterCount > 0)];

        if (contents.Metadata.ContainsKey(Keys.FormatVersion))
        {
            CheckArchitecture(contents.Metadata, architecture);
            seed = int.TryParse(contents.Metadata.GetValueOrDefault(Keys.Seed), CultureInfo.InvariantCulture, out int saved) ? saved : null;
            layers = ByName(tensors, architecture, "");
            momentum = parameterized.Any(layer => tensors.ContainsKey(TensorName(layer, layer.Parameters[0]) + MomentumSuffix))
                ? ByName(tensors, architecture, MomentumSuffix)
                : null;
            for (int l = 0; l < architecture.Layers.Length; l++)
            {
                prunedMasks[l] = PrunedMask(tensors, architecture, l);
            }
        }
        else if (parameterized.All(layer => layer.Parameters.All(tensor => tensors.ContainsKey(TensorName(layer, tensor)))))
        {
            layers = ByName(tensors, architecture, "");
        }
        else
        {
            layers = InNameOrder(contents.Tensors, architecture);
        }

        var used = new HashSet<SafeTensor>(layers.Concat(momentum ?? []).SelectMany(layer => layer).Concat(prunedMasks.OfType<SafeTensor>()));
        if (contents.Tensors.FirstOrDefault(tensor => !used.Contains(tensor)) is { } extra)
        {
            throw new InvalidDataException($"The file holds tensor '{extra.Name}', which no layer of {architecture.Name} takes.");
        }

        return new ModelState(Flatten(layers, architecture), momentum is null ? null : Flatten(momentum, architecture), seed)
        {
            PrunedMasks = [.. prunedMasks.Select(mask => mask?.Values)],
        };
    }

    /// <summary>Layer <paramref name="l"/>'s "L.weight_mask", checked to be the weight's shape and 0s and 1s; null when the file has none.</summary>
    private static SafeTensor? PrunedMask(Dictionary<string, SafeTensor> tensors, NetworkArchitecture architecture, int l)
    {
        LayerArchitecture layer = architecture.Layers[l];
        if (layer.Weight is not { } weight || !tensors.TryGetValue(layer.Name + PrunedMaskSuffix, out SafeTensor? mask))
        {
            return null;
        }

        if (!mask.Shape.SequenceEqual(weight.Shape))
        {
            throw new InvalidDataException(
                $"Tensor '{mask.Name}' has shape {mask.ShapeText} in the file, but layer '{layer.Name}' of {architecture.Name} needs [{string.Join(", ", weight.Shape)}].");
        }

        int other = Array.FindIndex(mask.Values, value => value is not (0f or 1f));
        if (other >= 0)
        {
            throw new InvalidDataException(
                FormattableString.Invariant($"Tensor '{mask.Name}' holds {mask.Values[other]} at index {other}: a mask holds only 0 (pruned) and 1 (kept)."));
        }

        return mask;
    }

    private static string TensorName(LayerArchitecture layer, ParameterTensor tensor) => layer.Name + "." + tensor.Name;

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
        if (!Shapes.IsVector(architecture.InputShape))
        {
            metadata[Keys.InputShape] = ShapeText(architecture.InputShape);
        }

        foreach (LayerArchitecture layer in architecture.Layers)
        {
            foreach (FileProperty property in layer.FileProperties())
            {
                metadata[Keys.Layer(layer.Name, property.Key)] = property.Value;
            }
        }

        return metadata;
    }

    /// <summary>"1,28,28": a shape as the metadata holds it.</summary>
    private static string ShapeText((int Channels, int Height, int Width) shape) =>
        string.Join(",", Invariant(shape.Channels), Invariant(shape.Height), Invariant(shape.Width));

    /// <summary>"(1, 28, 28)" for the metadata's "1,28,28", "(784)" for "784,1,1": a shape as messages write it; other text as it is.</summary>
    private static string ReadableShape(string text)
    {
        int[] dimensions = [.. text.Split(',').Select(part => int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int value) ? value : 0)];
        return dimensions is [> 0 and int channels, > 0 and int height, > 0 and int width] ? Shapes.Text((channels, height, width)) : text;
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
        string fileShape = metadata.GetValueOrDefault(Keys.InputShape) ?? ShapeText(Shapes.Vector(architecture.InputSize));
        Compare("the input has shape", ReadableShape(fileShape), Shapes.Text(architecture.InputShape));
        string[] fileLayers = Get(Keys.Layers).Split(',');
        for (int l = 0; l < Math.Max(fileLayers.Length, architecture.Layers.Length); l++)
        {
            string inFile = l < fileLayers.Length ? $"'{fileLayers[l]}'" : "missing";
            string inNetwork = l < architecture.Layers.Length ? $"'{architecture.Layers[l].Name}'" : "missing";
            Compare($"layer {l + 1} is", inFile, inNetwork);
        }

        foreach (LayerArchitecture layer in architecture.Layers)
        {
            foreach (FileProperty property in layer.FileProperties())
            {
                // Files of the first release hold dense layers only and do not say so.
                string key = Keys.Layer(layer.Name, property.Key);
                string inFile = property.Key == "kind" && !metadata.ContainsKey(key) ? "Dense" : Get(key);
                Compare($"layer '{layer.Name}' {property.Subject}", inFile, property.Value, property.Unit);
            }
        }
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Each layer's tensors (none for a layer without parameters), found by their FusedNets names plus <paramref name="suffix"/>.</summary>
    private static SafeTensor[][] ByName(Dictionary<string, SafeTensor> tensors, NetworkArchitecture architecture, string suffix)
    {
        SafeTensor Find(string tensorName) => tensors.TryGetValue(tensorName, out SafeTensor? tensor)
            ? tensor
            : throw new InvalidDataException($"The model file lacks tensor '{tensorName}' of {architecture.Name}.");

        return [.. architecture.Layers.Select(layer => CheckShapes(
            layer,
            architecture,
            [.. layer.Parameters.Select(parameter => Find(TensorName(layer, parameter) + suffix))]))];
    }

    /// <summary>
    /// Groups "P.weight" with "P.bias" and takes the groups in the natural order of P ("2" before "10"), as an
    /// nn.Sequential numbers its modules; the i-th group must have the shapes of the i-th layer that has
    /// parameters (pooling layers have none, as PyTorch's pooling modules have none).
    /// </summary>
    private static SafeTensor[][] InNameOrder(IReadOnlyList<SafeTensor> tensors, NetworkArchitecture architecture)
    {
        var pairs = new List<(string Prefix, SafeTensor? Weight, SafeTensor? Bias)>();
        foreach (SafeTensor tensor in tensors)
        {
            bool isWeight = tensor.Name.EndsWith(WeightSuffix, StringComparison.Ordinal);
            if (!isWeight && !tensor.Name.EndsWith(BiasSuffix, StringComparison.Ordinal))
            {
                throw new InvalidDataException($"The file holds tensor '{tensor.Name}', which is neither a '.weight' nor a '.bias' of a layer.");
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
        int[] parameterized = [.. Enumerable.Range(0, architecture.Layers.Length).Where(l => architecture.Layers[l].ParameterCount > 0)];
        if (pairs.Count != parameterized.Length)
        {
            throw new InvalidDataException(
                $"The file holds {pairs.Count} layers with parameters ({string.Join(", ", pairs.Select(pair => pair.Prefix))}) but {architecture.Name} has {parameterized.Length}.");
        }

        var layers = new SafeTensor[architecture.Layers.Length][];
        Array.Fill(layers, []);
        for (int i = 0; i < pairs.Count; i++)
        {
            (string prefix, SafeTensor? weight, SafeTensor? bias) = pairs[i];
            if (weight is null || bias is null)
            {
                throw new InvalidDataException($"The file holds '{prefix}{(weight is null ? BiasSuffix : WeightSuffix)}' but not '{prefix}{(weight is null ? WeightSuffix : BiasSuffix)}'.");
            }

            int l = parameterized[i];
            layers[l] = CheckShapes(architecture.Layers[l], architecture, [weight, bias]);
        }

        return layers;
    }

    private static SafeTensor[] CheckShapes(LayerArchitecture layer, NetworkArchitecture architecture, SafeTensor[] tensors)
    {
        for (int t = 0; t < tensors.Length; t++)
        {
            ImmutableArray<int> shape = layer.Parameters[t].Shape;
            if (!tensors[t].Shape.SequenceEqual(shape))
            {
                throw new InvalidDataException(
                    $"Tensor '{tensors[t].Name}' has shape {tensors[t].ShapeText} in the file, but layer '{layer.Name}' of {architecture.Name} needs [{string.Join(", ", shape)}].");
            }
        }

        return tensors;
    }

    private static float[] Flatten(SafeTensor[][] layers, NetworkArchitecture architecture)
    {
        var values = new float[architecture.ParameterCount];
        for (int l = 0; l < layers.Length; l++)
        {
            int offset = architecture.ParameterOffset(l);
            foreach (SafeTensor tensor in layers[l])
            {
                tensor.Values.CopyTo(values, offset);
                offset += tensor.Values.Length;
            }
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
