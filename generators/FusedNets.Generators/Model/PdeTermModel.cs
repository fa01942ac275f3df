namespace FusedNets.Generators.Model;

/// <summary>
/// One term of a physics-informed network's loss: a <c>[Residual]</c> or <c>[Condition]</c> method, checked, and the
/// derivatives its parameters read.
/// </summary>
/// <param name="Method">The method's name.</param>
/// <param name="IsResidual">The equation itself, rather than a condition.</param>
/// <param name="Form">Which derivatives it reads; named like <c>FusedNets.PdeDerivatives</c>.</param>
/// <param name="SecondDerivativeInputs">The inputs whose second derivatives it reads (every input unless it chose), empty for a form without.</param>
internal readonly record struct PdeTermModel(string Method, bool IsResidual, PdeForm Form, EquatableArray<int> SecondDerivativeInputs)
{
    /// <summary>The arguments of the generated call of the method, from the names the generated Evaluate gives them.</summary>
    public string CallArguments => Form switch
    {
        PdeForm.Value => "x, u",
        PdeForm.FirstDerivatives => "x, u, du",
        PdeForm.Laplacian => "x, u, du, second[0]",
        _ => "x, u, du, second",
    };
}

/// <summary>A residual's parameters after x and u: none, du, du and the Laplacian, du and the second derivatives one by one.</summary>
internal enum PdeForm
{
    Value,
    FirstDerivatives,
    Laplacian,
    SecondDerivatives,
}
