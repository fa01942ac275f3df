namespace FusedNets.Tests.Generator;

// The physics-informed network's diagnostics: the residual's and conditions' forms, one residual, dense layers, one
// output, SecondDerivativesOf.
public partial class DiagnosticTests
{
    private const string PdeLayers = """
            [Input(2)] public partial Layer X { get; }
            [Dense(5, Activation.Tanh)] public partial Layer Hidden { get; }
            [Dense(1)] public partial Layer U { get; }
        """;

    [Theory]
    [InlineData("static float Equation(float x) => x;", "static float Equation(float x)")]
    [InlineData("T Equation<T>(ReadOnlySpan<float> x, T u) where T : IPdeNumber<T> => u;", "T Equation<T>(ReadOnlySpan<float> x, T u)")]
    [InlineData("static T Equation<T>(ReadOnlySpan<float> x, T u, T du) where T : IPdeNumber<T> => u;", "T du")]
    [InlineData("static T Equation<T>(ReadOnlySpan<double> x, T u) where T : IPdeNumber<T> => u;", "ReadOnlySpan<double> x")]
    [InlineData("static T Equation<T>(ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du, T laplacian, T extra) where T : IPdeNumber<T> => u;", "T extra")]
    [InlineData("static T Equation<T>(ReadOnlySpan<float> x, in T u) where T : IPdeNumber<T> => u;", "in T u")]
    [InlineData("static T Equation<T>(ReadOnlySpan<float> x, T u) where T : unmanaged, IPdeNumber<T> => u;", "unmanaged")]
    [InlineData("static T Equation<T>(ReadOnlySpan<float> x, T u) where T : struct => u;", "where T : struct")]
    [InlineData("static double Equation<T>(ReadOnlySpan<float> x, T u) where T : IPdeNumber<T> => u.Value;", "static double Equation<T>")]
    public void FN028_residual_with_the_wrong_signature(string method, string shown) => AssertSingle("FN028", $$"""
        using System;

        [Network]
        public partial class Net
        {
        {{PdeLayers}}
            [[|Residual|]]
            {{method}}
        }
        """, "'Equation'", "[Residual]", shown);

    [Fact]
    public void FN028_condition_with_the_wrong_signature() => AssertSingle("FN028", $$"""
        using System;

        [Network]
        public partial class Net
        {
        {{PdeLayers}}
            [Residual] static T Equation<T>(ReadOnlySpan<float> x, T u) where T : IPdeNumber<T> => u;
            [[|Condition|]] static T Boundary<T, U>(ReadOnlySpan<float> x, T u) where T : IPdeNumber<T> => u;
        }
        """, "'Boundary'", "[Condition]");

    [Fact]
    public void FN029_second_residual() => AssertSingle("FN029", $$"""
        using System;

        [Network]
        public partial class Net
        {
        {{PdeLayers}}
            [Residual] static T Equation<T>(ReadOnlySpan<float> x, T u) where T : IPdeNumber<T> => u;
            [[|Residual|]] static T Other<T>(ReadOnlySpan<float> x, T u) where T : IPdeNumber<T> => u;
        }
        """, "'Other'", "'Net'", "'Equation'");

    [Fact]
    public void FN030_condition_without_residual() => AssertSingle("FN030", $$"""
        using System;

        [Network(Loss = Loss.MeanSquaredError)]
        public partial class Net
        {
        {{PdeLayers}}
            [[|Condition|]] static T Boundary<T>(ReadOnlySpan<float> x, T u) where T : IPdeNumber<T> => u;
        }
        """, "'Boundary'", "'Net'");

    [Theory]
    [InlineData("Conv2D(2, 3)", "Conv2D")]
    [InlineData("MaxPool2D(2)", "MaxPool2D")]
    [InlineData("AvgPool2D(2)", "AvgPool2D")]
    public void FN031_spatial_layer_in_a_physics_informed_network(string attribute, string kind) => AssertSingle("FN031", $$"""
        using System;

        [Network]
        public partial class Net
        {
            [Input(1, 4, 4)] public partial Layer Field { get; }
            [[|{{attribute}}|]] public partial Layer Spatial { get; }
            [Dense(1)] public partial Layer U { get; }
            [Residual] static T Equation<T>(ReadOnlySpan<float> x, T u) where T : IPdeNumber<T> => u;
        }
        """, "'Spatial'", kind, "'Net'");

    [Fact]
    public void FN032_more_than_one_output() => AssertSingle("FN032", """
        using System;

        [Network]
        public partial class Net
        {
            [Input(2)] public partial Layer X { get; }
            [[|Dense(2)|]] public partial Layer U { get; }
            [Residual] static T Equation<T>(ReadOnlySpan<float> x, T u) where T : IPdeNumber<T> => u;
        }
        """, "'U'", "2 units");

    [Theory]
    [InlineData("[Residual(SecondDerivativesOf = [2])]", "T laplacian", "[2]", "input 2 is not an input of network 'Net', whose inputs are 0 to 1")]
    [InlineData("[Residual(SecondDerivativesOf = [1, 0, 1])]", "ReadOnlySpan<T> d2u", "[1, 0, 1]", "input 1 is named twice")]
    [InlineData("[Residual(SecondDerivativesOf = [])]", "T laplacian", "[]", "names no input")]
    [InlineData("[Residual(SecondDerivativesOf = [0])]", "ReadOnlySpan<T> unused", "[0]", "reads no second derivatives")]
    public void FN033_second_derivative_inputs_that_do_not_fit(string attribute, string last, string shown, string why)
    {
        // The last case has three parameters: du and nothing after it.
        string parameters = last == "ReadOnlySpan<T> unused" ? "ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du" : $"ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du, {last}";
        AssertSingle("FN033", $$"""
            using System;

            [Network]
            public partial class Net
            {
            {{PdeLayers}}
                [{{"[|"}}{{attribute[1..^1]}}{{"|]"}}]
                static T Equation<T>({{parameters}}) where T : IPdeNumber<T> => u;
            }
            """, "'Equation'", shown, why);
    }

    [Fact]
    public void A_physics_informed_network_of_every_form_compiles_without_diagnostics() => AssertClean($$"""
        using System;

        [Network]
        public partial class Net
        {
        {{PdeLayers}}
            [Residual(SecondDerivativesOf = [1])]
            static T Equation<T>(ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du, ReadOnlySpan<T> d2u) where T : IPdeNumber<T> => du[0] + u * du[1] - 0.01f * d2u[0];
            [Condition] static T Value<T>(ReadOnlySpan<float> x, T u) where T : struct, IPdeNumber<T> => u;
            [Condition] static T Flux<T>(ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du) where T : IPdeNumber<T> => du[1];
            [Condition] static T Curvature<T>(ReadOnlySpan<float> x, T u, ReadOnlySpan<T> du, T laplacian) where T : IPdeNumber<T> => laplacian;
            // Named like the generated override that calls it: the call goes through the class's name.
            [Condition] private static T Evaluate<T>(ReadOnlySpan<float> x, T u) where T : IPdeNumber<T> => u - x[0];
        }
        """);

    [Fact]
    public void FN022_member_named_like_the_program_generated_in_a_physics_informed_network() => AssertSingle("FN022", $$"""
        using System;

        [Network]
        public partial class Net
        {
        {{PdeLayers}}
            [Residual] static T Equation<T>(ReadOnlySpan<float> x, T u) where T : IPdeNumber<T> => u;
            private sealed class [|PdeProgram|] { }
        }
        """, "'PdeProgram'", "every physics-informed network");
}
