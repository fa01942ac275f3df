namespace FusedNets.Generators.Model;

/// <summary>
/// What the generator emits for a declaration it cannot generate (one with FN errors, or with arguments that do
/// not bind): the implementations it owes of the declared partial properties and, where the class can derive
/// from <c>FusedNets.Network</c>, a network's typed API with every member throwing. The rest of the user's code
/// keeps compiling against the members it used before the mistake, so the FN errors are the only errors.
/// </summary>
/// <param name="TypeName">The class's full metadata name (<c>Ns.Outer.Net`1</c>), unique among the networks of a compilation.</param>
/// <param name="Namespace">The containing namespace, or empty for the global namespace.</param>
/// <param name="ContainingTypes">The types the class is nested in, outermost first; all partial, or there would be no placeholder.</param>
/// <param name="ClassName">The class's name.</param>
/// <param name="TypeParameters">The names of the class's type parameters, in order.</param>
/// <param name="IsNetwork">
/// Whether the placeholder derives from <c>FusedNets.Network</c> and has the typed API: not for a static class,
/// nor for one that names a base class of its own.
/// </param>
/// <param name="Loss">The declared loss, which decides the type of <c>TrainBatch</c>'s targets.</param>
/// <param name="InputSize">The declared input width, or 0 where it is not a size.</param>
/// <param name="OutputSize">The declared width of the last dense layer, or 0 where it is not a size.</param>
/// <param name="Properties">The partial properties the generator owes an implementation.</param>
/// <param name="TakenNames">Names of typed-API members that the declaration uses for members of its own: those are left out.</param>
internal readonly record struct PlaceholderModel(
    string TypeName,
    string Namespace,
    EquatableArray<ContainingType> ContainingTypes,
    string ClassName,
    EquatableArray<string> TypeParameters,
    bool IsNetwork,
    LossKind Loss,
    int InputSize,
    int OutputSize,
    EquatableArray<PropertyStub> Properties,
    EquatableArray<string> TakenNames);

/// <summary>A type that a placeholder is nested in.</summary>
/// <param name="Keyword">How its declaration starts: <c>class</c>, <c>struct</c>, <c>interface</c>, <c>record</c> or <c>record struct</c>.</param>
/// <param name="Name">Its name.</param>
/// <param name="TypeParameters">The names of its type parameters, in order.</param>
internal readonly record struct ContainingType(string Keyword, string Name, EquatableArray<string> TypeParameters);

/// <summary>A declared partial property or indexer without an implementation part, to be implemented as one that throws.</summary>
/// <param name="Name">The property's name; <c>this</c> for an indexer.</param>
/// <param name="Parameters">An indexer's parameter list as C# writes it (<c>[int i]</c>); empty for a property.</param>
/// <param name="Modifiers">Its modifiers as written, but <c>partial</c>: the implementation repeats them.</param>
/// <param name="Type">Its type, in full (<c>global::FusedNets.Layer</c>), after <c>ref</c> or <c>ref readonly</c> for a ref property.</param>
/// <param name="Accessors">Its accessors as written, without a body: <c>get</c>, <c>private set</c>, <c>init</c>.</param>
internal readonly record struct PropertyStub(string Name, string Parameters, string Modifiers, string Type, EquatableArray<string> Accessors);
