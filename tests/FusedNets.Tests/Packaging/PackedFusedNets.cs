namespace FusedNets.Tests.Packaging;

/// <summary>
/// FusedNets packed once for the packaging tests, as <c>dotnet pack src/FusedNets -c Release</c> packs a release,
/// into a local folder feed outside the repository. Every run gets a version of its own, so no package cache
/// can answer with an older build of the same version.
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
        DotnetCli.Run(RepositoryRoot,
        [
            "pack", Path.Combine("src", "FusedNets"), "-c", "Release",
            $"-p:Version={Version}",
            "--output", Feed,
            "--artifacts-path", Path.Combine(WorkDirectory, "artifacts"),
        ]);
        PackagePath = Path.Combine(Feed, $"FusedNets.{Version}.nupkg");
    }

    /// <summary>The folder holding Dsl.sln.</summary>
    public string RepositoryRoot { get; }

    /// <summary>A fresh folder under the system's temporary folder; everything the tests write goes in it.</summary>
    public string WorkDirectory { get; }

    /// <summary>The local feed: a folder holding the one .nupkg.</summary>
    public string Feed { get; }

    public string Version { get; }

    public string PackagePath { get; }

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
