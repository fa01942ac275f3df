#!/usr/bin/env bash
# Run on a machine with an NVIDIA GPU, python3 with torch, and no .NET, after scripts/prepare-gpu-check.sh
# has filled .device/ here. In one run of a few minutes it
#   1. checks every test network's CUDA training against the CPU backend, and
#   2. measures training throughput against PyTorch eager on the same card, printing per configuration:
#      config=784-128-128-10/b64 fusednets_samples_per_s=A pytorch_samples_per_s=B ratio=A/B
# Output also goes to ${OUT:-.}/gpu-check.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-.}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu-check.txt"

mkdir -p /tmp/dotnet-runtime
tar xJf .device/dotnet.tar.xz -C /tmp/dotnet-runtime
export DOTNET_ROOT=/tmp/dotnet-runtime PATH=/tmp/dotnet-runtime:$PATH

fusednets_status=0
dotnet .device/gpucheck/FusedNets.GpuCheck.dll --backend cuda | tee "$out/fusednets.txt" || fusednets_status=$?
python3 scripts/pytorch_baseline.py | tee "$out/pytorch.txt"

# Join the two by configuration.
while read -r _ config value; do
    name=${config#config=}
    ours=${value#fusednets_samples_per_s=}
    theirs=$(grep -F "config=$name " "$out/pytorch.txt" | sed 's/.*pytorch_samples_per_s=//')
    ratio=$(python3 -c "print(f'{$ours / $theirs:.2f}')")
    echo "config=$name fusednets_samples_per_s=$ours pytorch_samples_per_s=$theirs ratio=$ratio"
done < <(grep '^throughput ' "$out/fusednets.txt") | tee -a "$out/gpu-check.txt"
exit $fusednets_status
