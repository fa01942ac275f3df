namespace FusedNets.Generators;

/// <summary>The names of the pipeline's steps, so tests can ask the driver whether each step was cached.</summary>
public static class TrackingNames
{
    public const string Parse = nameof(Parse);
    public const string Model = nameof(Model);
    public const string Placeholder = nameof(Placeholder);
    public const string TypeNames = nameof(TypeNames);
    public const string Diagnostics = nameof(Diagnostics);
    public const string GpuPackage = nameof(GpuPackage);
}
