using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;

namespace FusedNets.Persistence;

/// <summary>A network's state as read from a model file, in the flat parameter layout of <see cref="NetworkArchitecture"/>.</summary>
/// <param name="Parameters">Every weight and bias.</param>
/// <param name="Optimizer">The optimizer's state, when the file holds it.</param>
/// <param name="Seed">The seed the saved network was created from, when the file says.</param>
/// <param name="Standardization">The input's statistics, when the network standardizes and they were set.</param>
internal sealed record ModelState(float[] Parameters, SavedOptimizerState? Optimizer, int? Seed, Standardization? Standardization)
{
    /// <summary>Per layer, the mask pruning made (1 kept, 0 fixed at zero) when the file holds one, else null.</summary>
    public float[]?[] PrunedMasks { get; init; } = [];
}

/// <summary>An optimizer's state in the flat parameter layout: SGD's velocity, or Adam's two moments and step count.</summary>
/// <param name="Kind">What it holds; a file writes <see cref="OptimizerStateKind.None"/> (zeros) as SGD momentum.</param>
/// <param name="Moment">SGD's velocity, Adam's exp_avg.</param>
/// <param name="SecondMoment">Adam's exp_avg_sq; null for SGD.</param>
/// <param name="Steps">The steps the state has taken: Adam's t (files save it for Adam only).</param>
internal sealed record SavedOptimizerState(OptimizerStateKind Kind, float[] Moment, float[]? SecondMoment, long Steps);

/// <summary>
/// Maps a network to the tensors and metadata of a safetensors model file and back. Layer L's tensors are
/// "L.weight" and "L.bias" in PyTorch's names and layouts (nn.Linear's [units, inputs], nn.Conv2d's
/// [filters, channels, kernel, kernel]). The optimizer's state, when saved, is SGD's "L.weight.momentum" and
/// "L.bias.momentum", or Adam's "L.weight.exp_avg", "L.weight.exp_avg_sq" (and the bias's) in PyTorch's names with the
/// step count in the metadata. A network that standardizes its input saves its statistics as "I.mean" and "I.std"
/// ([channels]), I being the input's name. A mask made by pruning is "L.weight_mask", PyTorch's name for the buffer its
/// pruning keeps. The metadata describes the architecture so that loading can refuse a file saved from a different
/// network.
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
        public const string InputStandardized = "fusednets.input_standardized";
        public const string Layers = "fusednets.layers";
        public const string Seed = "fusednets.seed";
        public const string OptimizerStep = "fusednets.optimizer.step";

        public static string Layer(string layer, string property) => $"fusednets.layer.{layer}.{property}";
    }

    private const string WeightSuffix = ".weight", BiasSuffix = ".bias", MomentumSuffix = ".momentum", PrunedMaskSuffix = ".weight_mask";
    private const string ExpAvgSuffix = ".exp_avg", ExpAvgSqSuffix = ".exp_avg_sq";
    private const string MeanSuffix = ".mean", StandardDeviationSuffix = ".std";

    /// <param name="stream">Where to write.</param>
    /// <param name="architecture">The network's architecture.</param>
    /// <param name="seed">The seed it was created from.</param>
    /// <param name="parameters">Every weight and bias.</param>
    /// <param name="optimizer">The optimizer's state, or null.</param>
    /// <param name="standardization">The input's statistics, or null.</param>
    /// <param name="prunedMasks">Per layer, the mask pruning made, or null (for every layer when null).</param>
    public static void Write(Stream stream, NetworkArchitecture architecture, int seed, float[] parameters, SavedOptimizerState? optimizer, Standardization? standardization, IReadOnlyList<float[]?>? prunedMasks = null)
    {
        var tensors = new List<SafeTensor>();
        Dictionary<string, string> metadata = Metadata(architecture, seed);
        if (standardization is not null)
        {
            tensors.Add(new SafeTensor(architecture.InputName + MeanSuffix, [standardization.Mean.Count], [.. standardization.Mean]));
            tensors.Add(new SafeTensor(architecture.InputName + StandardDeviationSuffix, [standardization.StandardDeviation.Count], [.. standardization.StandardDeviation]));
        }

        AddLayerTensors(tensors, architecture, parameters, suffix: "");
        if (optimizer is { Kind: OptimizerStateKind.AdamMoments, SecondMoment: { } secondMoment })
        {
            AddLayerTensors(tensors, architecture, optimizer.Moment, ExpAvgSuffix);
            AddLayerTensors(tensors, architecture, secondMoment, ExpAvgSqSuffix);
            metadata[Keys.OptimizerStep] = optimizer.Steps.ToString(CultureInfo.InvariantCulture);
        }
        else if (optimizer is not null)
        {
            AddLayerTensors(tensors, architecture, optimizer.Moment, MomentumSuffix);
        }

        for (int l = 0; l < architecture.Layers.Length; l++)
        {
            if (prunedMasks?[l] is { } mask)
            {
                LayerArchitecture layer = architecture.Layers[l];
                tensors.Add(new SafeTensor(layer.Name + PrunedMaskSuffix, [.. layer.Weight!.Shape], mask));
            }
        }

        SafeTensors.Write(stream, metadata, tensors);
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
        Standardization? standardization = null;
        SafeTensor[] statistics = [];
        SafeTensor[][] layers;
        SafeTensor[][][] optimizerTensors = [];
        SavedOptimizerState? optimizer = null;
        var prunedMasks = new SafeTensor?[architecture.Layers.Length];
        LayerArchitecture[] parameterized = [.. architecture.Layers.Where(layer => layer.ParameterCount > 0)];
        bool Holds(string suffix) => parameterized.Any(layer => tensors.ContainsKey(TensorName(layer, layer.Parameters[0]) + suffix));

        if (contents.Metadata.ContainsKey(Keys.FormatVersion))
        {
            CheckArchitecture(contents.Metadata, architecture);
            seed = int.TryParse(contents.Metadata.GetValueOrDefault(Keys.Seed), CultureInfo.InvariantCulture, out int saved) ? saved : null;
            (standardization, statistics) = StandardizationOf(tensors, architecture);
            layers = ByName(tensors, architecture, "");
            bool momentum = Holds(MomentumSuffix), adam = Holds(ExpAvgSuffix) || Holds(ExpAvgSqSuffix);
            if (momentum && adam)
            {
                throw new InvalidDataException("The model file holds both SGD momentum ('.momentum') and Adam moments ('.exp_avg'): a network keeps one optimizer's state.");
            }

            if (momentum)
            {
                optimizerTensors = [ByName(tensors, architecture, MomentumSuffix)];
                optimizer = new SavedOptimizerState(OptimizerStateKind.SgdMomentum, Flatten(optimizerTensors[0], architecture), null, 0);
            }
            else if (adam)
            {
                optimizerTensors = [ByName(tensors, architecture, ExpAvgSuffix), ByName(tensors, architecture, ExpAvgSqSuffix)];
                optimizer = new SavedOptimizerState(
                    OptimizerStateKind.AdamMoments, Flatten(optimizerTensors[0], architecture), Flatten(optimizerTensors[1], architecture), AdamSteps(contents.Metadata));
            }

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

        var used = new HashSet<SafeTensor>(layers.Concat(optimizerTensors.SelectMany(state => state)).SelectMany(layer => layer).Concat(statistics).Concat(prunedMasks.OfType<SafeTensor>()));
        if (contents.Tensors.FirstOrDefault(tensor => !used.Contains(tensor)) is { } extra)
        {
            throw new InvalidDataException($"The file holds tensor '{extra.Name}', which no layer of {architecture.Name} takes.");
        }

        return new ModelState(Flatten(layers, architecture), optimizer, seed, standardization)
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

    /// <summary>The input's statistics, when the file holds both: one mean and standard deviation per channel.</summary>
    private static (Standardization? Statistics, SafeTensor[] Tensors) StandardizationOf(Dictionary<string, SafeTensor> tensors, NetworkArchitecture architecture)
    {
        string meanName = architecture.InputName + MeanSuffix, deviationName = architecture.InputName + StandardDeviationSuffix;
        bool hasMean = tensors.TryGetValue(meanName, out SafeTensor? mean), hasDeviation = tensors.TryGetValue(deviationName, out SafeTensor? deviation);
        if (!hasMean && !hasDeviation)
        {
            return (null, []);
        }

        if (mean is null || deviation is null)
        {
            throw new InvalidDataException($"The model file holds '{(mean ?? deviation)!.Name}' but not '{(mean is null ? meanName : deviationName)}'.");
        }

        int channels = architecture.InputShape.Channels;
        foreach (SafeTensor tensor in new[] { mean, deviation })
        {
            if (tensor.Shape is not [int length] || length != channels)
            {
                throw new InvalidDataException($"Tensor '{tensor.Name}' has shape {tensor.ShapeText} in the file, but {architecture.Name}'s input needs [{channels}].");
            }
        }

        try
        {
            return (new Standardization(mean.Values, deviation.Values), [mean, deviation]);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"The model file's input statistics are not usable: {e.Message}", e);
        }
    }

    /// <summary>Adam's step count t, which a file with Adam moments must give: the bias corrections of the next step depend on it.</summary>
    private static long AdamSteps(IReadOnlyDictionary<string, string> metadata) =>
        metadata.TryGetValue(Keys.OptimizerStep, out string? text)
            ? long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long steps)
                ? steps
                : throw new InvalidDataException($"The model file's '{Keys.OptimizerStep}' is '{text}', not a step count.")
            : throw new InvalidDataException($"The model file holds Adam moments but no '{Keys.OptimizerStep}': Adam's next step depends on its step count.");

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
        if (architecture.StandardizesInput)
        {
            metadata[Keys.InputStandardized] = "true";
        }

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
        static string Standardized(bool standardized) => standardized ? "standardized" : "not standardized";
        Compare("the input is", Standardized(metadata.GetValueOrDefault(Keys.InputStandardized) == "true"), Standardized(architecture.StandardizesInput));
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
