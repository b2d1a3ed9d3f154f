#!/usr/bin/env bash
# Soak on loopback: one silo and one API (the fake upstream behind the real SDKs) under a steady load for a set time
# (hey, bounded by time). Every 10 s it samples the API's and the silo's RSS and managed heap (after the last GC, from
# the runtime's metrics on /metrics) and the size of Azurite's data (where the ledger, the stats and every other grain
# state live), then reports each one's slope over the second half of the run, after warm-up: flat means bounded. Also
# the request count and every non-200. The samples are copied to tools/bench/results/soak-samples.csv.
# Usage: tools/bench/soak.sh [minutes=10] [requests-per-second=50]
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/dev/services.sh

MINUTES=${1:-10}
RPS=${2:-50}
bench_workspace soak

prepare_load_bench

start_bench_storage soak
start_fake_upstream "$WORK/upstream.log"
# Each process runs as deploy/k8s sizes it: one CPU (cpu limit "1": the runtime then uses workstation GC) and a GC
# heap limit of 75% of the container's memory limit (what the runtime sets itself inside a container).
DOTNET_PROCESSOR_COUNT=1 DOTNET_GCHeapHardLimit=0x30000000 start_silo_process "$WORK/silo.log" # 768 MiB of 1 GiB
SILO_PID=${STARTED[-1]}
start_api_process "$WORK/api.log" "$WORK/api" "$FAKE_UPSTREAM" clientRateLimits__enabled=false \
  perUser__requestsPerDay=1000000 perUser__tokensPerDay=1000000000000 experiments__judgeSampleRate=0 \
  DOTNET_PROCESSOR_COUNT=1 DOTNET_GCHeapHardLimit=0x18000000 # 384 MiB of 512 MiB

rss() { awk '/^VmRSS/ { print int($2 / 1024) }' "/proc/$1/status"; }
# heap URL: the managed heap after the last GC in MB (every generation, the runtime's System.Runtime meter on /metrics),
# then gen-2 collections so far.
heap() {
  curl -fsS "$1/metrics" | awk '/^dotnet_gc_last_collection_heap_size_bytes/ { h += $NF }
    /^dotnet_gc_collections_total/ && /gen2/ { g = $NF } END { printf "%.1f,%d", h / 1048576, g }'
}
SILO_URL=http://127.0.0.1:$SILO_HTTP_PORT
# live PID NAME: the live managed heap in MB, after the full, compacting GC that dotnet-gcdump induces (garbage
# excluded, unlike the heap after the last GC, which holds what gen 2 has not collected yet).
echo "Installing dotnet-gcdump (a .NET tool from NuGet) into $WORK/tools..."
dotnet tool install --tool-path "$WORK/tools" dotnet-gcdump --version 10.0.750501 >/dev/null
live() {
  "$WORK/tools/dotnet-gcdump" collect -p "$1" -o "$WORK/$2.gcdump" >/dev/null 2>&1
  "$WORK/tools/dotnet-gcdump" report "$WORK/$2.gcdump" | awk '/GC Heap bytes/ { gsub(/,/, "", $1); printf "%.2f", $1 / 1048576 }'
}
echo "Soak: $(nproc) cores, $MINUTES min at $RPS requests/s (every request calls the fake provider)"
echo "seconds,api_rss_mb,silo_rss_mb,azurite_data_kb,api_heap_mb,api_gen2,silo_heap_mb,silo_gen2" >"$WORK/samples.csv"
hey -z "${MINUTES}m" -c 10 -q "$((RPS / 10))" -m POST -T application/json -H 'Authorization: Bearer dev-client-key' -H 'Cache-Control: no-store' \
  -d '{"userId":"soak-user","userProfile":"Software Engineer, 5 years, Python/Java, interested in AI/ML","jobMarketData":"AI Engineer: $120k-180k, ML Engineer: $130k-200k"}' \
  "$API_URL/v1/career-paths" >"$WORK/hey.txt" &
LOAD=$!
START=$SECONDS
HALF=0
while kill -0 "$LOAD" 2>/dev/null; do
  if [ "$HALF" = 0 ] && [ $((SECONDS - START)) -ge $((MINUTES * 30)) ]; then
    HALF=1; API_LIVE_HALF=$(live "$API_PID" api-half); SILO_LIVE_HALF=$(live "$SILO_PID" silo-half)
  fi
  echo "$((SECONDS - START)),$(rss "$API_PID"),$(rss "$SILO_PID"),$(du -sk "$WORK/azurite" | cut -f1),$(heap "$API_URL"),$(heap "$SILO_URL")" >>"$WORK/samples.csv"
  [ $(( (SECONDS - START) % 60 )) -lt 10 ] && echo "  $(tail -1 "$WORK/samples.csv")"
  sleep 10
done
API_LIVE_END=$(live "$API_PID" api-end); SILO_LIVE_END=$(live "$SILO_PID" silo-end)
wait "$LOAD" || true

# slope COLUMN: least-squares slope per minute over the second half of the samples.
slope() {
  awk -F, -v c="$1" 'NR > 1 { x[NR] = $1; y[NR] = $c; n = NR } END {
      h = int(n / 2) + 1; k = 0
      for (i = h; i <= n; i++) { k++; sx += x[i]; sy += y[i]; sxx += x[i] * x[i]; sxy += x[i] * y[i] }
      d = k * sxx - sx * sx; printf "%.2f per minute (from %s to %s)", d ? 60 * (k * sxy - sx * sy) / d : 0, y[h], y[n] }' "$WORK/samples.csv"
}
echo
grep -E 'Requests/sec|Total:' "$WORK/hey.txt" | sed 's/^ */  /'
echo "  status codes: $(grep -E '^\s+\[[0-9]+\]' "$WORK/hey.txt" | tr -s ' ' | tr '\n' ';')"
echo "  API RSS (MB):          $(slope 2)"
echo "  silo RSS (MB):         $(slope 3)"
echo "  Azurite data (KB):     $(slope 4)"
echo "  API managed heap (MB): $(slope 5), gen-2 collections: $(tail -1 "$WORK/samples.csv" | cut -d, -f6)"
echo "  silo managed heap (MB): $(slope 7), gen-2 collections: $(tail -1 "$WORK/samples.csv" | cut -d, -f8)"
echo "  live heap after a full GC, half-time -> end (MB): API $API_LIVE_HALF -> $API_LIVE_END, silo $SILO_LIVE_HALF -> $SILO_LIVE_END"
cp "$WORK/samples.csv" tools/bench/results/soak-samples.csv
echo "  samples: $(($(wc -l <"$WORK/samples.csv") - 1)), every 10 s"
# What the grains actually keep: the blobs' own sizes (Azurite's data folder also holds its append-only extent file,
# which grows with every upload until Azurite's garbage collector compacts it).
echo "  stored blobs at the end: $(node -e '
  const db = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const blobs = db.collections.find(c => c.name === "$BLOBS_COLLECTION$").data;
  console.log(blobs.map(b => `${b.name} ${b.properties.contentLength} B`).join(", "));' "$WORK/azurite/__azurite_db_blob__.json")"
echo "  table database: $(du -k "$WORK/azurite/__azurite_db_table__.json" | cut -f1) KB"
