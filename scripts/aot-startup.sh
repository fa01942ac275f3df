#!/usr/bin/env bash
# Measures how long a NativeAOT-published FusedNets app takes from process start to the first prediction of a loaded
# model, beside the same app built for the JIT. It packs FusedNets as a release, builds the packaging tests' consumer
# (tests/FusedNets.Tests/Packaging/AotConsumer/Program.cs) against the package in a temporary folder outside the
# repository, both ways, trains and saves its model once, then runs "Consumer predict <model>" (load the model file,
# predict one sample, exit) RUNS times each way and prints the median and the fastest wall time, process exit included.
# It also prints how long the publish and the JIT build took. Usage: scripts/aot-startup.sh [RUNS, default 20]
set -euo pipefail
cd "$(dirname "$0")/.."
repository=$PWD
runs=${1:-20}
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
version=0.1.0-startup.$(date +%Y%m%d%H%M%S)
rid=$(dotnet --info | sed -n 's/^ *RID: *//p' | head -n 1)

dotnet pack src/FusedNets -c Release -p:Version="$version" --output "$work/feed" --artifacts-path "$work/artifacts" >/dev/null

# Empty props files stop MSBuild's upward search; the feed is added to the machine's sources, which serve the rest.
mkdir -p "$work/consumer/Consumer"
echo '<Project />' >"$work/consumer/Directory.Build.props"
echo '<Project />' >"$work/consumer/Directory.Packages.props"
cat >"$work/consumer/nuget.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="fusednets-startup" value="$work/feed" />
  </packageSources>
</configuration>
EOF
cat >"$work/consumer/Consumer/Consumer.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <PublishAot>true</PublishAot>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="FusedNets" Version="$version" />
  </ItemGroup>
</Project>
EOF
cp tests/FusedNets.Tests/Packaging/AotConsumer/Program.cs "$work/consumer/Consumer/"

cd "$work/consumer/Consumer"
dotnet restore -r "$rid" >/dev/null
seconds() { echo "scale=1; ($(date +%s%N) - $1) / 1000000000" | bc; }
start=$(date +%s%N)
dotnet publish -c Release -r "$rid" --no-restore -o "$work/aot" >/dev/null
echo "publish_aot_s=$(seconds "$start") (dotnet publish -c Release -r $rid, restore done, package restored)"
start=$(date +%s%N)
dotnet build -c Release -o "$work/jit" >/dev/null
echo "build_jit_s=$(seconds "$start") (dotnet build -c Release)"
echo "aot_binary_mb=$(du -m "$work/aot/Consumer" | cut -f1)"

"$work/aot/Consumer" train "$work/model.safetensors" | head -n 1 | sed 's/^/aot_/'
"$work/jit/Consumer" train "$work/jit-model.safetensors" | head -n 1 | sed 's/^/jit_/'

# Wall milliseconds of each run, sorted; the first run of each warms the file cache and is left out.
measure() {
    local app=$1
    "$app" predict "$work/model.safetensors" >/dev/null
    for _ in $(seq "$runs"); do
        local begin end
        begin=$(date +%s%N)
        "$app" predict "$work/model.safetensors" >/dev/null
        end=$(date +%s%N)
        echo "scale=1; ($end - $begin) / 1000000" | bc
    done | sort -n
}
for build in aot jit; do
    times=$(measure "$work/$build/Consumer")
    median=$(echo "$times" | sed -n "$(((runs + 1) / 2))p")
    echo "${build}_start_to_first_prediction_ms median=$median min=$(echo "$times" | head -n 1) runs=$runs"
done
cd "$repository"
