namespace FusedNets.Tests;

/// <summary>Where the tests find the repository's files from the test binaries' folder.</summary>
internal static class TestPaths
{
    /// <summary>The folder holding Dsl.sln.</summary>
    public static string RepositoryRoot { get; } = FindAbove("Dsl.sln");

    /// <summary>The test project's source folder.</summary>
    public static string TestProject => Path.Combine(RepositoryRoot, "tests", "FusedNets.Tests");

    private static string FindAbove(string fileName)
    {
        string? directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, fileName)))
        {
            directory = Path.GetDirectoryName(directory);
        }

        return directory ?? throw new InvalidOperationException($"{fileName} not found above {AppContext.BaseDirectory}");
    }
}
