#!/usr/bin/env bash
# Run here (no GPU needed): packs what scripts/gpu-check.sh needs on a GPU machine that has no .NET:
#   .device/dotnet.tar.xz  the .NET runtime (about 27 MB),
#   .device/gpucheck/      a framework-dependent build of bench/FusedNets.GpuCheck, which references the
#                          FusedNets.Gpu package (its kernels, ILGPU and ILGPU.Algorithms come along).
# .device/ is ignored by git; carry it to the GPU machine next to a copy of the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .device
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
tar cf - -C "$dotnet_root" dotnet host shared/Microsoft.NETCore.App | xz -T2 -6 > .device/dotnet.tar.xz
dotnet publish bench/FusedNets.GpuCheck -c Release --self-contained false -o .device/gpucheck
ls -la .device
