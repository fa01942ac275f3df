using DiffPlex.DiffBuilder;
using DiffPlex.DiffBuilder.Model;

namespace FusedNets.Tests.Generator;

/// <summary>
/// The emitted source of several networks, compared with checked-in expected files under Generator/Snapshots.
/// On a difference the test fails with a line diff and writes the new text beside the expected file as
/// *.received.cs; set FUSEDNETS_ACCEPT_SNAPSHOTS=1 to overwrite the expected files after reviewing the change.
/// </summary>
public class GeneratorSnapshotTests
{
    public static TheoryData<string> Declarations => new(Directory
        .GetFiles(Path.Combine(AppContext.BaseDirectory, "Generator", "Snapshots"), "*.declaration.cs")
        .Select(path => Path.GetFileName(path).Replace(".declaration.cs", "", StringComparison.Ordinal))
        .Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(Declarations))]
    public void Emitted_source_matches_the_reviewed_snapshot(string name)
    {
        string directory = Path.Combine(AppContext.BaseDirectory, "Generator", "Snapshots");
        GeneratorRun run = GeneratorHarness.Run(File.ReadAllText(Path.Combine(directory, name + ".declaration.cs")));

        Assert.Empty(run.Exceptions);
        Assert.Empty(run.FusedNetsDiagnostics);
        Assert.Empty(run.CompilerErrors);
        string actual = run.GeneratedSource($"Snapshots.{name}.g.cs");
        CompareWithSnapshot(name, actual);
    }

    private static void CompareWithSnapshot(string name, string actual)
    {
        string sourceDirectory = Path.Combine(TestPaths.TestProject, "Generator", "Snapshots");
        string expectedPath = Path.Combine(sourceDirectory, name + ".expected.cs");
        string expected = File.Exists(expectedPath) ? File.ReadAllText(expectedPath) : "";
        if (expected == actual)
        {
            return;
        }

        if (Environment.GetEnvironmentVariable("FUSEDNETS_ACCEPT_SNAPSHOTS") == "1")
        {
            File.WriteAllText(expectedPath, actual);
            return;
        }

        File.WriteAllText(Path.Combine(sourceDirectory, name + ".received.cs"), actual);
        Assert.Fail($"The emitted source of {name} differs from {expectedPath}:\n{Diff(expected, actual)}");
    }

    private static string Diff(string expected, string actual)
    {
        DiffPaneModel diff = InlineDiffBuilder.Diff(expected, actual);
        var lines = new List<string>();
        for (int i = 0; i < diff.Lines.Count; i++)
        {
            DiffPiece line = diff.Lines[i];
            bool nearChange = diff.Lines.Skip(Math.Max(0, i - 2)).Take(5).Any(near => near.Type != ChangeType.Unchanged);
            if (nearChange)
            {
                string mark = line.Type switch { ChangeType.Inserted => "+ ", ChangeType.Deleted => "- ", _ => "  " };
                lines.Add($"{line.Position,5} {mark}{line.Text}");
            }
        }

        return string.Join('\n', lines.Take(80));
    }
}
