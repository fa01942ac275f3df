using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace FusedNets.Tests.Packaging;

public sealed partial class NuGetPackageTests
{
    /// <summary>
    /// The slowest packaging test (a NativeAOT publish and a trimmed publish, a few minutes on a busy 2-core machine).
    /// A user's CPU-only service, published the ways a deployment is: each build trains the same network from the same
    /// seed and must print the same bits and save the same model file as the JIT build, and the publishes must warn
    /// about nothing (FusedNets and Google.Protobuf are trimmed and compiled ahead of time whole). Like any NativeAOT
    /// publish on Linux it needs the platform's linker (clang, or gcc where clang is missing).
    /// </summary>
    [SkippableFact]
    public void A_cpu_only_project_published_with_NativeAOT_or_trimmed_warns_of_nothing_and_trains_and_predicts_bit_for_bit_as_the_jit_build()
    {
        string consumer = Path.Combine(package.WorkDirectory, "aot-consumer");
        string project = Path.Combine(consumer, "Consumer");
        string program = File.ReadAllText(Path.Combine(package.RepositoryRoot, "tests", "FusedNets.Tests", "Packaging", "AotConsumer", "Program.cs"));
        // PublishAot in the project, as the templates write it, also turns on the trim and AOT analyzers in its build.
        WriteConsumer(consumer, "FusedNets", program, "<PublishAot>true</PublishAot>");
        Dictionary<string, string> environment = ConsumerEnvironment(consumer);
        string runtime = RuntimeInformation.RuntimeIdentifier;

        // The compiler comes as a package (runtime.<rid>.Microsoft.DotNet.ILCompiler) that a machine without access to
        // a feed that has it cannot restore; that is the one reason to skip.
        (int restored, string restore) = DotnetCli.TryRun("dotnet", project, ["restore", "-r", runtime], environment);
        Skip.If(
            restored != 0 && IlCompilerMissing().IsMatch(restore),
            $"The NativeAOT compiler package for {runtime} cannot be restored here:\n{restore}");
        Assert.True(restored == 0, $"'dotnet restore -r {runtime}' failed:\n{restore}");

        string jit = Path.Combine(consumer, "jit");
        string aot = Path.Combine(consumer, "aot");
        string trimmed = Path.Combine(consumer, "trimmed");
        AssertNoWarnings(DotnetCli.Run(project, ["build", "-c", "Release", "-o", jit], environment));
        AssertNoWarnings(DotnetCli.Run(project, ["publish", "-c", "Release", "-r", runtime, "-o", aot], environment));
        AssertNoWarnings(DotnetCli.Run(project, ["publish", "-c", "Release", "-r", runtime, "-o", trimmed, "-p:PublishAot=false", "-p:PublishTrimmed=true", "--self-contained"], environment));

        // The package gives an x64 NativeAOT publish AVX2 (x86-64-v3); the JIT would take AVX-512 where the machine
        // has it, and the weight gradient's bits depend on the vector width, so the JIT builds run with AVX-512 off
        // (.NET 10's switch: DOTNET_EnableAVX512F no longer turns it off).
        bool x64 = RuntimeInformation.ProcessArchitecture == Architecture.X64;
        Dictionary<string, string> sameWidth = x64 ? new() { ["DOTNET_EnableAVX512"] = "0" } : [];
        string Run(string folder, string command, IReadOnlyDictionary<string, string>? settings = null) =>
            DotnetCli.Run(Path.Combine(folder, "Consumer"), consumer, [command, Path.Combine(folder, "model.safetensors")], settings);

        string aotTraining = Run(aot, "train");
        string jitTraining = Run(jit, "train", sameWidth);
        string trimmedTraining = Run(trimmed, "train", sameWidth);

        if (x64)
        {
            Assert.StartsWith("engine CPU (AVX2,", aotTraining, StringComparison.Ordinal);
        }

        Match trained = TrainingOutput().Match(aotTraining.ReplaceLineEndings("\n"));
        Assert.True(trained.Success, $"The NativeAOT consumer printed:\n{aotTraining}");
        Assert.True(Number(trained, "accuracy") > 0.9f, $"Training reached only {trained.Groups["accuracy"].Value} (a third is chance).");
        Assert.Equal(jitTraining, aotTraining);
        Assert.Equal(jitTraining, trimmedTraining);
        byte[] model = File.ReadAllBytes(Path.Combine(jit, "model.safetensors"));
        Assert.Equal(model, File.ReadAllBytes(Path.Combine(aot, "model.safetensors")));
        Assert.Equal(model, File.ReadAllBytes(Path.Combine(trimmed, "model.safetensors")));

        // A deployed service's first request: the forward is the same at every vector width, so no settings here.
        string aotPrediction = Run(aot, "predict");
        Assert.Matches(@"^prediction( [0-9a-f]{8}){3}\s*$", aotPrediction);
        Assert.Equal(Run(jit, "predict"), aotPrediction);
        Assert.Equal(Run(trimmed, "predict"), aotPrediction);
    }

    /// <summary>What the consumer's train command prints: the engine, four epochs' losses, 8 samples' logits, the accuracy.</summary>
    [GeneratedRegex(@"^engine CPU .*\n(epoch [1-4] loss [0-9a-f]{8}\n){4}predictions( [0-9a-f]{8}){24}\naccuracy (?<accuracy>[01]\.[0-9]{4})\n$")]
    private static partial Regex TrainingOutput();

    /// <summary>NuGet's "unable to find package" naming the compiler, or "unable to load the service index" (no feed at all).</summary>
    [GeneratedRegex(@"error NU110[12]: [^\n]*ILCompiler|error NU1301:", RegexOptions.IgnoreCase)]
    private static partial Regex IlCompilerMissing();

    private static void AssertNoWarnings(string output)
    {
        string[] warnings = [.. output.Split('\n').Where(line => line.Contains(": warning ", StringComparison.Ordinal))];
        Assert.True(warnings.Length == 0, $"The build warned:\n{string.Join('\n', warnings)}");
    }
}
