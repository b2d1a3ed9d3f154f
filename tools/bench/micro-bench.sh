#!/usr/bin/env bash
# In-process micro-benchmarks (BenchmarkDotNet, tools/MicroBench): what the failover layer, Polly's hedging strategy
# included, costs per request against calling the same instant provider directly, with hedging off and on.
# No servers and no network. Results are printed and BenchmarkDotNet's tables are left in $WORK.
# Runs in process (BenchmarkDotNet's InProcess toolchain: no generated project to build), so compare rows of one run.
# Usage: tools/bench/micro-bench.sh [BenchmarkDotNet arguments, default: --filter '*' --job short]
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build tools/MicroBench/MicroBench.csproj -c Release -nologo -v q -clp:ErrorsOnly
WORK=$(mktemp -d "${TMPDIR:-/tmp}/navigator-micro.XXXXXX")
[ $# -gt 0 ] || set -- --filter '*' --job short
timeout 1200 dotnet tools/MicroBench/bin/Release/net10.0/Navigator.MicroBench.dll --inProcess --artifacts "$WORK/BenchmarkDotNet.Artifacts" "$@"
echo "BenchmarkDotNet's reports: $WORK/BenchmarkDotNet.Artifacts/results"
