using System.Collections.Generic;
using System.Linq;
using FusedNets.Generators.Diagnostics;
using FusedNets.Generators.Model;
using Microsoft.CodeAnalysis;

namespace FusedNets.Generators;

// A physics-informed network's terms: its [Residual] method and its [Condition] methods, each checked for a form the
// runtime can call (FN028), for SecondDerivativesOf (FN033), for one residual (FN029, FN030); and its layers, which must
// be dense with one output (FN031, FN032).
internal static partial class Parser
{
    private const string ResidualAttribute = "FusedNets.ResidualAttribute";
    private const string ConditionAttribute = "FusedNets.ConditionAttribute";
    private const string PdeNumber = "FusedNets.IPdeNumber<TSelf>";
    private const string ReadOnlySpan = "System.ReadOnlySpan<T>";

    /// <summary>How FN028 shows a method as declared: <c>static float Residual(float x)</c>.</summary>
    private static readonly SymbolDisplayFormat s_signature = new(
        typeQualificationStyle: SymbolDisplayTypeQualificationStyle.NameOnly,
        genericsOptions: SymbolDisplayGenericsOptions.IncludeTypeParameters | SymbolDisplayGenericsOptions.IncludeTypeConstraints,
        memberOptions: SymbolDisplayMemberOptions.IncludeModifiers | SymbolDisplayMemberOptions.IncludeType | SymbolDisplayMemberOptions.IncludeParameters | SymbolDisplayMemberOptions.IncludeRef,
        parameterOptions: SymbolDisplayParameterOptions.IncludeType | SymbolDisplayParameterOptions.IncludeName | SymbolDisplayParameterOptions.IncludeParamsRefOut,
        miscellaneousOptions: SymbolDisplayMiscellaneousOptions.UseSpecialTypes);

    /// <summary>Whether the class marks any method [Residual]: its u is then a regression output, and MeanSquaredError its default loss.</summary>
    private static bool DeclaresResidual(INamedTypeSymbol type) =>
        type.GetMembers().OfType<IMethodSymbol>().Any(method => PdeAttributes(method).Any(attribute => attribute.IsResidual));

    /// <summary>The residual, then the conditions in declaration order; empty for a class without a residual. Reports what is wrong.</summary>
    private static EquatableArray<PdeTermModel> ParsePdeTerms(INamedTypeSymbol type, int inputs, Location classLocation, List<DiagnosticInfo> diagnostics)
    {
        PdeTermModel? residual = null;
        string? residualName = null;
        var conditions = new List<PdeTermModel>();
        var conditionLocations = new List<(string Name, Location Location)>();
        bool valid = true;
        foreach (IMethodSymbol method in type.GetMembers().OfType<IMethodSymbol>())
        {
            foreach ((AttributeData attribute, bool isResidual) in PdeAttributes(method))
            {
                Location location = AttributeLocation(attribute, FirstLocation(method, classLocation));
                if (isResidual && residualName is not null)
                {
                    Report(diagnostics, DiagnosticDescriptors.SeveralResiduals, location, method.Name, type.Name, residualName);
                    valid = false;
                    continue;
                }

                PdeTermModel? term = ParsePdeMethod(type, method, attribute, isResidual, inputs, location, diagnostics);
                valid &= term is not null;
                if (isResidual)
                {
                    residualName = method.Name;
                    residual = term;
                }
                else if (term is { } condition)
                {
                    conditions.Add(condition);
                    conditionLocations.Add((method.Name, location));
                }
            }
        }

        if (residualName is null)
        {
            foreach ((string conditionName, Location location) in conditionLocations)
            {
                Report(diagnostics, DiagnosticDescriptors.ConditionWithoutResidual, location, conditionName, type.Name);
            }

            return EquatableArray<PdeTermModel>.Empty;
        }

        return valid && residual is { } equation
            ? new EquatableArray<PdeTermModel>(new[] { equation }.Concat(conditions).ToArray())
            : EquatableArray<PdeTermModel>.Empty;
    }

    /// <summary>FN031 for every layer that is not dense, FN032 for an output of other than one unit.</summary>
    private static void CheckPhysicsInformedLayers(string network, List<LayerModel> layers, List<Location> locations, List<DiagnosticInfo> diagnostics)
    {
        for (int l = 0; l < layers.Count; l++)
        {
            if (layers[l] is not Kinds.DenseModel)
            {
                Report(diagnostics, DiagnosticDescriptors.PdeLayerNotDense, locations[l], layers[l].Name, layers[l].Kind, network);
            }
        }

        LayerModel output = layers[layers.Count - 1];
        if (output.Units != 1)
        {
            Report(diagnostics, DiagnosticDescriptors.PdeOutputNotScalar, locations[layers.Count - 1], output.Name, Text(output.Units), network);
        }
    }

    private static IEnumerable<(AttributeData Attribute, bool IsResidual)> PdeAttributes(IMethodSymbol method) =>
        method.GetAttributes()
            .Where(attribute => attribute.AttributeClass?.ToDisplayString() is ResidualAttribute or ConditionAttribute)
            .Select(attribute => (attribute, attribute.AttributeClass!.ToDisplayString() == ResidualAttribute));

    private static PdeTermModel? ParsePdeMethod(INamedTypeSymbol type, IMethodSymbol method, AttributeData attribute, bool isResidual, int inputs, Location location, List<DiagnosticInfo> diagnostics)
    {
        string attributeName = isResidual ? "Residual" : "Condition";
        if (SignatureForm(method) is not { } form)
        {
            Report(diagnostics, DiagnosticDescriptors.PdeMethodSignature, location, method.Name, attributeName, method.ToDisplayString(s_signature));
            return null;
        }

        int[]? chosen = null;
        foreach (KeyValuePair<string, TypedConstant> argument in attribute.NamedArguments)
        {
            if (argument.Key == "SecondDerivativesOf" && argument.Value.Kind == TypedConstantKind.Array && !argument.Value.IsNull)
            {
                chosen = argument.Value.Values.Select(value => value.Value is int input ? input : -1).ToArray();
            }
        }

        bool readsSecond = form is PdeForm.Laplacian or PdeForm.SecondDerivatives;
        if (chosen is null)
        {
            int[] every = readsSecond ? Enumerable.Range(0, inputs).ToArray() : [];
            return new PdeTermModel(method.Name, isResidual, form, new EquatableArray<int>(every));
        }

        string given = "[" + string.Join(", ", chosen.Select(Text)) + "]";
        string? problem = SecondDerivativeProblem(type.Name, readsSecond, chosen, inputs);
        if (problem is not null)
        {
            Report(diagnostics, DiagnosticDescriptors.BadSecondDerivativeInputs, location, method.Name, given, problem);
            return null;
        }

        return new PdeTermModel(method.Name, isResidual, form, new EquatableArray<int>(chosen));
    }

    /// <summary>
    /// The form of <c>static T M&lt;T&gt;(ReadOnlySpan&lt;float&gt; x, T u[, ReadOnlySpan&lt;T&gt; du[, T laplacian |
    /// ReadOnlySpan&lt;T&gt; d2u]]) where T : IPdeNumber&lt;T&gt;</c> (T may also be constrained to struct), or null.
    /// </summary>
    private static PdeForm? SignatureForm(IMethodSymbol method)
    {
        if (!method.IsStatic || method.IsAsync || method.ReturnsByRef || method.ReturnsByRefReadonly || method.TypeParameters.Length != 1)
        {
            return null;
        }

        ITypeParameterSymbol t = method.TypeParameters[0];
        bool constrained = t.ConstraintTypes.Length == 1
            && t.ConstraintTypes[0] is INamedTypeSymbol constraint
            && constraint.OriginalDefinition.ToDisplayString() == PdeNumber
            && SymbolEqualityComparer.Default.Equals(constraint.TypeArguments[0], t);
        if (!constrained || t.HasReferenceTypeConstraint || t.HasConstructorConstraint || t.HasUnmanagedTypeConstraint || t.HasNotNullConstraint
            || !SymbolEqualityComparer.Default.Equals(method.ReturnType, t))
        {
            return null;
        }

        var parameters = method.Parameters;
        if (parameters.Length < 2 || parameters.Length > 4 || parameters.Any(parameter => parameter.RefKind != RefKind.None || parameter.IsParams)
            || !IsSpanOf(parameters[0].Type, element => element.SpecialType == SpecialType.System_Single)
            || !SymbolEqualityComparer.Default.Equals(parameters[1].Type, t))
        {
            return null;
        }

        bool IsSpanOfT(ITypeSymbol type) => IsSpanOf(type, element => SymbolEqualityComparer.Default.Equals(element, t));
        return parameters.Length switch
        {
            2 => PdeForm.Value,
            3 when IsSpanOfT(parameters[2].Type) => PdeForm.FirstDerivatives,
            4 when IsSpanOfT(parameters[2].Type) && SymbolEqualityComparer.Default.Equals(parameters[3].Type, t) => PdeForm.Laplacian,
            4 when IsSpanOfT(parameters[2].Type) && IsSpanOfT(parameters[3].Type) => PdeForm.SecondDerivatives,
            _ => null,
        };
    }

    private static bool IsSpanOf(ITypeSymbol type, System.Func<ITypeSymbol, bool> element) =>
        type is INamedTypeSymbol named && named.OriginalDefinition.ToDisplayString() == ReadOnlySpan && element(named.TypeArguments[0]);

    /// <summary>What is wrong with SecondDerivativesOf = <paramref name="chosen"/>, for FN033, or null.</summary>
    private static string? SecondDerivativeProblem(string network, bool readsSecond, int[] chosen, int inputs)
    {
        if (!readsSecond)
        {
            return "the method reads no second derivatives: add a 'T laplacian' or 'ReadOnlySpan<T> d2u' parameter, or remove SecondDerivativesOf";
        }

        if (chosen.Length == 0)
        {
            return "it names no input: leave it unset for every input";
        }

        foreach (int input in chosen)
        {
            if (input < 0 || input >= inputs)
            {
                return $"input {Text(input)} is not an input of network '{network}', whose inputs are 0 to {Text(inputs - 1)}";
            }
        }

        int? twice = chosen.GroupBy(input => input).Where(group => group.Count() > 1).Select(group => (int?)group.Key).FirstOrDefault();
        return twice is { } repeated ? $"input {Text(repeated)} is named twice" : null;
    }
}
