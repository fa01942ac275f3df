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
        using ZipArchive nupkg = ZipFile.OpenRead(package.PackagePath);
        var entries = nupkg.Entries.Select(entry => entry.FullName).ToHashSet();

        Assert.Contains("lib/net10.0/FusedNets.dll", entries);
        Assert.Contains("lib/net10.0/FusedNets.xml", entries);
        Assert.Contains("analyzers/dotnet/cs/FusedNets.Generators.dll", entries);
        Assert.Contains("README.md", entries);
        Assert.Contains("LICENSE", entries);
    }

    [Fact]
    public void The_package_depends_on_ilgpu_and_protobuf_at_the_repositorys_versions_and_on_nothing_build_only()
    {
        XElement metadata = ReadNuspec().Root!.Element(Nuspec("metadata"))!;
        var dependencies = metadata.Descendants(Nuspec("dependency"))
            .ToDictionary(dependency => (string)dependency.Attribute("id")!, dependency => (string)dependency.Attribute("version")!);

        // Grpc.Tools only compiles the ONNX .proto file during the build; a user needs none of it.
        Assert.Equal(["Google.Protobuf", "ILGPU", "ILGPU.Algorithms"], dependencies.Keys.Order());
        foreach ((string id, string version) in dependencies)
        {
            Assert.Equal(CentralVersion(id), version);
        }

        Assert.Equal("FusedNets", (string?)metadata.Element(Nuspec("id")));
        Assert.Equal(package.Version, (string?)metadata.Element(Nuspec("version")));
        Assert.Equal("MIT", (string?)metadata.Element(Nuspec("license")));
        Assert.Equal("README.md", (string?)metadata.Element(Nuspec("readme")));
    }

    [Fact]
    public void A_project_outside_the_repository_declares_trains_saves_and_exports_a_network_from_the_package_alone()
    {
        string consumer = Path.Combine(package.WorkDirectory, "consumer");
        Assert.False(
            consumer.StartsWith(package.RepositoryRoot, StringComparison.Ordinal),
            $"The consumer must live outside the repository, so that nothing of the repository's build reaches it; {consumer} does not.");
        WriteConsumer(consumer);

        // Packages restored for the consumer go to a folder of its own, so that the package under test never
        // lands in the machine's cache; packages that are already there (ILGPU, Protobuf) are read from it.
        string output = DotnetCli.Run(
            Path.Combine(consumer, "Consumer"),
            ["run", "-c", "Release"],
            new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(consumer, "packages") });

        // One line per backend: Cpu runs the SIMD CPU engine, IlgpuCpu the generated ILGPU kernels.
        foreach (string backend in new[] { "Cpu", "IlgpuCpu" })
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
    }

    /// <summary>What the consumer prints for each backend.</summary>
    [GeneratedRegex(@"^(?<backend>\w+): loss (?<before>[0-9.]+) -> (?<after>[0-9.]+), accuracy (?<accuracy>[0-9.]+), reloaded loss (?<reloaded>[0-9.]+), ONNX (?<onnx>[0-9]+) bytes$", RegexOptions.Multiline)]
    private static partial Regex ConsumerLine();

    private static float Number(Match line, string group) => float.Parse(line.Groups[group].Value, CultureInfo.InvariantCulture);

    /// <summary>
    /// A user's console project: a nuget.config that adds the test's folder feed to the machine's sources,
    /// a project that references FusedNets by version, and a program that declares XOR's network.
    /// </summary>
    private void WriteConsumer(string consumer)
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
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="FusedNets" Version="{package.Version}" />
              </ItemGroup>
            </Project>
            """);

        File.WriteAllText(Path.Combine(consumer, "Consumer", "Program.cs"), """
            using System.Globalization;
            using FusedNets;
            using FusedNets.Data;

            CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

            // XOR: no straight line separates the two classes; one hidden layer does.
            Dataset xor = Dataset.ForClassification([0, 0, 0, 1, 1, 0, 1, 1], [0, 1, 1, 0], featureCount: 2);

            foreach (Backend backend in new[] { Backend.Cpu, Backend.IlgpuCpu })
            {
                using var network = new Xor(seed: 1, backend);
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

            [Network(Loss = Loss.SoftmaxCrossEntropy)]
            public partial class Xor
            {
                [Input(2)] public partial Layer Point { get; }
                [Dense(8, Activation.Tanh)] public partial Layer Hidden { get; }
                [Dense(2)] public partial Layer Logits { get; }
            }
            """);
    }

    /// <summary>The machine's NuGet package folder, where the repository's own restore put ILGPU and the others.</summary>
    private static string MachinePackageCache() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES")
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private XDocument ReadNuspec()
    {
        using ZipArchive nupkg = ZipFile.OpenRead(package.PackagePath);
        ZipArchiveEntry nuspec = nupkg.GetEntry("FusedNets.nuspec") ?? throw new InvalidDataException("The package has no FusedNets.nuspec.");
        using Stream stream = nuspec.Open();
        return XDocument.Load(stream);
    }

    /// <summary>A name in the .nuspec's XML namespace, whichever schema version that is.</summary>
    private XName Nuspec(string localName) => ReadNuspec().Root!.Name.Namespace + localName;

    /// <summary>The version Directory.Packages.props pins for <paramref name="id"/>.</summary>
    private string CentralVersion(string id) =>
        XDocument.Load(Path.Combine(package.RepositoryRoot, "Directory.Packages.props"))
            .Descendants("PackageVersion")
            .Single(version => (string?)version.Attribute("Include") == id)
            .Attribute("Version")!.Value;
}
