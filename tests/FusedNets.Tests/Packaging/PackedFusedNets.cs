namespace FusedNets.Tests.Packaging;

/// <summary>
/// FusedNets and FusedNets.Gpu packed once for the packaging tests, as <c>dotnet pack src/FusedNets -c Release</c> and
/// <c>dotnet pack src/FusedNets.Gpu -c Release</c> pack a release, into a local folder feed outside the repository. Every
/// run gets a version of its own, so no package cache can answer with an older build of the same version.
/// </summary>
public sealed class PackedFusedNets : IDisposable
{
    public PackedFusedNets()
    {
        RepositoryRoot = FindRepositoryRoot();
        WorkDirectory = Path.Combine(Path.GetTempPath(), "fusednets-packaging-" + Guid.NewGuid().ToString("N"));
        Feed = Path.Combine(WorkDirectory, "feed");
        Version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";

        // The build goes to an artifacts folder of its own, so packing leaves the repository's bin and obj
        // folders, which the running tests were built into, as they are.
        foreach (string project in new[] { "FusedNets", "FusedNets.Gpu" })
        {
            DotnetCli.Run(RepositoryRoot,
            [
                "pack", Path.Combine("src", project), "-c", "Release",
                $"-p:Version={Version}",
                "--output", Feed,
                "--artifacts-path", Path.Combine(WorkDirectory, "artifacts"),
            ]);
        }

        PackagePath = PackagePathOf("FusedNets");
        GpuPackagePath = PackagePathOf("FusedNets.Gpu");
    }

    /// <summary>The folder holding Dsl.sln.</summary>
    public string RepositoryRoot { get; }

    /// <summary>A fresh folder under the system's temporary folder; everything the tests write goes in it.</summary>
    public string WorkDirectory { get; }

    /// <summary>The local feed: a folder holding the two .nupkg files.</summary>
    public string Feed { get; }

    public string Version { get; }

    /// <summary>The FusedNets package.</summary>
    public string PackagePath { get; }

    /// <summary>The FusedNets.Gpu package.</summary>
    public string GpuPackagePath { get; }

    private string PackagePathOf(string id) => Path.Combine(Feed, $"{id}.{Version}.nupkg");

    public void Dispose() => Directory.Delete(WorkDirectory, recursive: true);

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Dsl.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Dsl.sln above {AppContext.BaseDirectory}: the packaging tests run from the repository's test output.");
    }
}
