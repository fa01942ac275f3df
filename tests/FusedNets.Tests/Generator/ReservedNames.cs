using System.Reflection;
using Microsoft.CodeAnalysis;

namespace FusedNets.Tests.Generator;

/// <summary>
/// The names a network's layers, members and class cannot take, found where a user meets them: in a class the
/// generator emitted, and in FusedNets.Network. Read from there rather than from the generator's own list, so that
/// a member added to either without being reserved fails the tests that use these.
/// </summary>
internal static class ReservedNames
{
    /// <summary>Every member of an emitted network class but its constructor and layers, and whether it is a method.</summary>
    public static IReadOnlyList<(string Name, bool IsMethod)> Generated { get; } = ReadGenerated();

    /// <summary>Every member of FusedNets.Network and its bases that a network class can name.</summary>
    public static IReadOnlyList<string> Inherited { get; } = ReadInherited();

    public static IEnumerable<string> All => Generated.Select(member => member.Name).Concat(Inherited).Distinct();

    private static List<(string, bool)> ReadGenerated()
    {
        GeneratorRun run = GeneratorHarness.Run("""
            using FusedNets;
            namespace Reference;

            [Network]
            public partial class Net
            {
                [Input(4)] public partial Layer In { get; }
                [Dense(3, Mask = nameof(Diagonal))] public partial Layer Hidden { get; }
                [Dense(2, Density = 0.5)] public partial Layer Out { get; }
                private static bool Diagonal(int output, int input) => output == input;
            }
            """);
        Assert.Empty(run.CompilerErrors);
        INamedTypeSymbol network = run.Output.GetTypeByMetadataName("Reference.Net")!;
        return [.. network.GetMembers()
            .Where(member => member.CanBeReferencedByName
                && member.Locations.All(location => !location.GetLineSpan().Path.StartsWith("Source", StringComparison.Ordinal)))
            .Select(member => (member.Name, member is IMethodSymbol))
            .Distinct()];
    }

    private static List<string> ReadInherited() => [.. typeof(Network)
        .GetMembers(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.FlattenHierarchy)
        .Where(member => member.MemberType != MemberTypes.Constructor && IsVisibleToSubclasses(member) && !IsAccessor(member))
        .Select(member => member.Name)
        .Distinct()
        .Order(StringComparer.Ordinal)];

    private static bool IsVisibleToSubclasses(MemberInfo member) => member switch
    {
        MethodBase method => method.IsPublic || method.IsFamily || method.IsFamilyOrAssembly,
        PropertyInfo property => property.GetAccessors(nonPublic: true).Any(IsVisibleToSubclasses),
        FieldInfo field => field.IsPublic || field.IsFamily || field.IsFamilyOrAssembly,
        EventInfo @event => @event.AddMethod is { } add && IsVisibleToSubclasses(add),
        Type type => type.IsNestedPublic || type.IsNestedFamily || type.IsNestedFamORAssem,
        _ => false,
    };

    /// <summary>Property getters and setters, event adders and removers: named through their property or event.</summary>
    private static bool IsAccessor(MemberInfo member) => member is MethodInfo { IsSpecialName: true };
}
