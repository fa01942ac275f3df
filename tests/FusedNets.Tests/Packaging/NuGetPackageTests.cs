using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace FusedNets.Tests.Packaging;

/// <summary>
/// PACKAGING TESTS — slow (about a minute, most of it one <c>dotnet pack</c> and one consumer build) and they
/// run the dotnet command line. Leave them out with <c>dotnet test --filter Category!=Packaging</c>.
///
/// They check the package a user gets, not the repository: a generator left out of analyzers/dotnet/cs, a
/// dependency missing from the .nuspec, or a build that works only beside the repository's own props files
/// passes every other test and fails here.
/// </summary>
[Trait("Category", "Packaging")]
public sealed partial class NuGetPackageTests(PackedFusedNets package) : IClassFixture<PackedFusedNets>
{
    [Fact]
    public void The_package_holds_the_runtime_its_xml_docs_the_generator_the_readme_and_the_license()
    {
        HashSet<string> entries = Entries(package.PackagePath);

        Assert.Contains("lib/net10.0/FusedNets.dll", entries);
        Assert.Contains("lib/net10.0/FusedNets.xml", entries);
        Assert.Contains("analyzers/dotnet/cs/FusedNets.Generators.dll", entries);
        Assert.Contains("README.md", entries);
        Assert.Contains("LICENSE", entries);
    }

    [Fact]
    public void The_package_carries_its_build_files_to_direct_and_transitive_consumers()
    {
        HashSet<string> entries = Entries(package.PackagePath);

        // buildTransitive, not build: a project that references only FusedNets.Gpu gets them too.
        Assert.Contains("buildTransitive/FusedNets.props", entries);
        Assert.Contains("buildTransitive/FusedNets.targets", entries);
    }

    [Fact]
    public void The_gpu_package_holds_its_runtime_and_xml_docs_and_takes_the_generator_from_FusedNets()
    {
        HashSet<string> entries = Entries(package.GpuPackagePath);

        Assert.Contains("lib/net10.0/FusedNets.Gpu.dll", entries);
        Assert.Contains("lib/net10.0/FusedNets.Gpu.xml", entries);
        Assert.DoesNotContain(entries, entry => entry.StartsWith("analyzers/", StringComparison.Ordinal));
        Assert.Contains("README.md", entries);
        Assert.Contains("LICENSE", entries);
    }

    [Fact]
    public void The_package_depends_on_protobuf_alone_at_the_repositorys_version_and_on_no_gpu_library()
    {
        XElement metadata = Metadata(package.PackagePath, "FusedNets");
        Dictionary<string, XElement> dependencies = Dependencies(metadata);

        // Grpc.Tools only compiles the ONNX .proto file during the build; a user needs none of it. ILGPU is the GPU package's.
        Assert.Equal(["Google.Protobuf"], dependencies.Keys.Order());
        Assert.Equal(CentralVersion("Google.Protobuf"), (string?)dependencies["Google.Protobuf"].Attribute("version"));
        Assert.Equal("FusedNets", (string?)metadata.Element(metadata.Name.Namespace + "id"));
        Assert.Equal(package.Version, (string?)metadata.Element(metadata.Name.Namespace + "version"));
        Assert.Equal("MIT", (string?)metadata.Element(metadata.Name.Namespace + "license"));
        Assert.Equal("README.md", (string?)metadata.Element(metadata.Name.Namespace + "readme"));
    }

    [Fact]
    public void The_gpu_package_depends_on_ilgpu_and_on_FusedNets_of_its_own_version_generator_included()
    {
        XElement metadata = Metadata(package.GpuPackagePath, "FusedNets.Gpu");
        Dictionary<string, XElement> dependencies = Dependencies(metadata);

        Assert.Equal(["FusedNets", "ILGPU", "ILGPU.Algorithms"], dependencies.Keys.Order());
        Assert.Equal(CentralVersion("ILGPU"), (string?)dependencies["ILGPU"].Attribute("version"));
        Assert.Equal(CentralVersion("ILGPU.Algorithms"), (string?)dependencies["ILGPU.Algorithms"].Attribute("version"));
        Assert.Equal(package.Version, (string?)dependencies["FusedNets"].Attribute("version"));

        // NuGet leaves a dependency's analyzers out unless told otherwise: a project that references only FusedNets.Gpu
        // would get no generator, and its networks would not compile.
        string excluded = (string?)dependencies["FusedNets"].Attribute("exclude") ?? "";
        Assert.DoesNotContain("Analyzers", excluded, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("FusedNets.Gpu", (string?)metadata.Element(metadata.Name.Namespace + "id"));
        Assert.Equal(package.Version, (string?)metadata.Element(metadata.Name.Namespace + "version"));
    }

    [Fact]
    public void A_project_that_references_FusedNets_alone_trains_on_the_cpu_is_told_where_the_gpu_backends_are_and_carries_no_ilgpu()
    {
        string output = BuildAndRunConsumer("cpu-consumer", "FusedNets", out string binaries);

        AssertTrained(output, "Cpu");
        Match refused = NotSupportedLine().Match(output);
        Assert.True(refused.Success, $"The consumer printed no refusal for IlgpuCpu:\n{output}");
        Assert.Contains("FusedNets.Gpu", refused.Groups["message"].Value, StringComparison.Ordinal);
        Assert.Contains("Auto: Cpu", output, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(binaries, "ILGPU*.dll", SearchOption.AllDirectories));
    }

    [Fact]
    public void A_project_that_references_FusedNets_Gpu_alone_declares_trains_saves_and_exports_the_same_network_on_the_cpu_and_on_ilgpu()
    {
        string output = BuildAndRunConsumer("gpu-consumer", "FusedNets.Gpu", out _);

        // One line per backend: Cpu runs the SIMD CPU engine, IlgpuCpu the GPU package's kernels.
        AssertTrained(output, "Cpu");
        AssertTrained(output, "IlgpuCpu");
    }

    /// <summary>What the consumer prints for each backend it trains on.</summary>
    [GeneratedRegex(@"^(?<backend>\w+): loss (?<before>[0-9.]+) -> (?<after>[0-9.]+), accuracy (?<accuracy>[0-9.]+), reloaded loss (?<reloaded>[0-9.]+), ONNX (?<onnx>[0-9]+) bytes$", RegexOptions.Multiline)]
    private static partial Regex ConsumerLine();

    /// <summary>What the consumer prints for a backend it may not use.</summary>
    [GeneratedRegex(@"^IlgpuCpu: not supported: (?<message>.+)$", RegexOptions.Multiline)]
    private static partial Regex NotSupportedLine();

    private static void AssertTrained(string output, string backend)
    {
        Match line = ConsumerLine().Match(output);
        while (line.Success && line.Groups["backend"].Value != backend)
        {
            line = line.NextMatch();
        }

        Assert.True(line.Success, $"The consumer printed no line for {backend}:\n{output}");
        float before = Number(line, "before");
        float after = Number(line, "after");
        Assert.True(after < before / 10, $"{backend}: the loss went from {before} to only {after}.");
        Assert.Equal("1.00", line.Groups["accuracy"].Value);
        Assert.Equal(line.Groups["after"].Value, line.Groups["reloaded"].Value);
        Assert.True(int.Parse(line.Groups["onnx"].Value, CultureInfo.InvariantCulture) > 0);
    }

    private static float Number(Match line, string group) => float.Parse(line.Groups[group].Value, CultureInfo.InvariantCulture);

    /// <summary>
    /// Writes a consumer that references <paramref name="packageId"/> by version into its own folder outside the
    /// repository, runs it, and returns what it printed; <paramref name="binaries"/> is its build output.
    /// </summary>
    private string BuildAndRunConsumer(string name, string packageId, out string binaries)
    {
        string consumer = Path.Combine(package.WorkDirectory, name);
        Assert.False(
            consumer.StartsWith(package.RepositoryRoot, StringComparison.Ordinal),
            $"The consumer must live outside the repository, so that nothing of the repository's build reaches it; {consumer} does not.");
        WriteConsumer(consumer, packageId, XorProgram);

        binaries = Path.Combine(consumer, "Consumer", "bin");
        return DotnetCli.Run(Path.Combine(consumer, "Consumer"), ["run", "-c", "Release"], ConsumerEnvironment(consumer));
    }

    /// <summary>
    /// Packages restored for a consumer go to a folder of its own, so that the packages under test never land in the
    /// machine's cache; packages that are already there (ILGPU, Protobuf) are read from it.
    /// </summary>
    private static Dictionary<string, string> ConsumerEnvironment(string consumer) =>
        new() { ["NUGET_PACKAGES"] = Path.Combine(consumer, "packages") };

    /// <summary>
    /// A user's console project: a nuget.config that adds the test's folder feed to the machine's sources, a project
    /// that references <paramref name="packageId"/> by version, with <paramref name="properties"/> added to its
    /// properties, and <paramref name="program"/> as its Program.cs.
    /// </summary>
    private void WriteConsumer(string consumer, string packageId, string program, string properties = "")
    {
        Directory.CreateDirectory(Path.Combine(consumer, "Consumer"));

        // Empty files stop MSBuild's upward search for these two, whatever the temporary folder's parents hold.
        File.WriteAllText(Path.Combine(consumer, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(consumer, "Directory.Packages.props"), "<Project />\n");

        // No <clear />: the feed is added to the machine's configured sources, which serve the dependencies.
        File.WriteAllText(Path.Combine(consumer, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="fusednets-under-test" value="{package.Feed}" />
              </packageSources>
              <fallbackPackageFolders>
                <add key="machine-cache" value="{MachinePackageCache()}" />
              </fallbackPackageFolders>
            </configuration>
            """);

        // Warnings are errors, as in many users' projects: the generated code must compile cleanly there too.
        File.WriteAllText(Path.Combine(consumer, "Consumer", "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                {properties}
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="{packageId}" Version="{package.Version}" />
              </ItemGroup>
            </Project>
            """);

        File.WriteAllText(Path.Combine(consumer, "Consumer", "Program.cs"), program);
    }

    /// <summary>
    /// Declares XOR's network and trains it on every backend it may use. The program is the same whichever package
    /// the project references.
    /// </summary>
    private const string XorProgram = """
            using System.Globalization;
            using FusedNets;
            using FusedNets.Data;

            CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

            // XOR: no straight line separates the two classes; one hidden layer does.
            Dataset xor = Dataset.ForClassification([0, 0, 0, 1, 1, 0, 1, 1], [0, 1, 1, 0], featureCount: 2);

            using (var auto = new Xor(seed: 1))
            {
                Console.WriteLine($"Auto: {auto.Backend}");
            }

            foreach (Backend backend in new[] { Backend.Cpu, Backend.IlgpuCpu })
            {
                Xor network;
                try
                {
                    network = new Xor(seed: 1, backend);
                }
                catch (NotSupportedException e)
                {
                    Console.WriteLine($"{backend}: not supported: {e.Message}");
                    continue;
                }

                using (network)
                {
                    float before = network.Evaluate(xor).Loss;
                    network.Fit(xor, new Sgd(learningRate: 0.5f, momentum: 0.9f), epochs: 50, batchSize: 4);
                    Evaluation after = network.Evaluate(xor);

                    using var saved = new MemoryStream();
                    network.Save(saved);
                    saved.Position = 0;
                    using Xor reloaded = Xor.Load(saved, backend);

                    using var onnx = new MemoryStream();
                    network.ExportOnnx(onnx);

                    Console.WriteLine($"{backend}: loss {before:F4} -> {after.Loss:F4}, accuracy {after.Accuracy:F2}, " +
                        $"reloaded loss {reloaded.Evaluate(xor).Loss:F4}, ONNX {onnx.Length} bytes");
                }
            }

            [Network(Loss = Loss.SoftmaxCrossEntropy)]
            public partial class Xor
            {
                [Input(2)] public partial Layer Point { get; }
                [Dense(8, Activation.Tanh)] public partial Layer Hidden { get; }
                [Dense(2)] public partial Layer Logits { get; }
            }
            """;

    /// <summary>The machine's NuGet package folder, where the repository's own restore put ILGPU and the others.</summary>
    private static string MachinePackageCache() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES")
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private static HashSet<string> Entries(string nupkgPath)
    {
        using ZipArchive nupkg = ZipFile.OpenRead(nupkgPath);
        return [.. nupkg.Entries.Select(entry => entry.FullName)];
    }

    /// <summary>The .nuspec's metadata element, whichever schema version (XML namespace) the .nuspec uses.</summary>
    private static XElement Metadata(string nupkgPath, string id)
    {
        using ZipArchive nupkg = ZipFile.OpenRead(nupkgPath);
        ZipArchiveEntry nuspec = nupkg.GetEntry(id + ".nuspec") ?? throw new InvalidDataException($"The package has no {id}.nuspec.");
        using Stream stream = nuspec.Open();
        XElement root = XDocument.Load(stream).Root!;
        return root.Element(root.Name.Namespace + "metadata")!;
    }

    private static Dictionary<string, XElement> Dependencies(XElement metadata) =>
        metadata.Descendants(metadata.Name.Namespace + "dependency").ToDictionary(dependency => (string)dependency.Attribute("id")!);

    /// <summary>The version Directory.Packages.props pins for <paramref name="id"/>.</summary>
    private string CentralVersion(string id) =>
        XDocument.Load(Path.Combine(package.RepositoryRoot, "Directory.Packages.props"))
            .Descendants("PackageVersion")
            .Single(version => (string?)version.Attribute("Include") == id)
            .Attribute("Version")!.Value;
}
