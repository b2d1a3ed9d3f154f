#!/usr/bin/env bash
# Overhead benchmark: the latency and CPU the gateway adds to an LLM call, against a direct call to the
# same mock upstream and against a peer gateway (Portkey's open-source gateway, @portkey-ai/gateway
# 1.15.2, installed from npm into a temporary folder), all in one run on loopback.
# - The mock upstream (tools/bench/overhead/mock-upstream.js) answers POST /v1/chat/completions at once.
# - The gateway runs as ./run.sh would (Azurite, one silo, the API) with every guard on (quota,
#   experiment, budget lease, circuits, validation, telemetry), through its real OpenAI SDK adapter.
#   Target "gateway" is the miss path: it sends Cache-Control: no-store, so every request calls the
#   mock. Target "cached" is the hit path: the same question without it, answered from the
#   replica's response cache (every user id here falls in one of the experiment's two variants, so
#   after two misses every request is a hit).
# - Offered rates of 200, 500 and 1,000 RPS, then a closed-loop maximum (32 connections), all with
#   wrk. At a set rate every connection waits a random exponential time between requests
#   (tools/bench/overhead/post.lua), so arrivals are spread out instead of coming in the synchronized
#   bursts that per-worker rate limiters (hey -q) produce. Each target gets a short warm-up first.
#   The wait starts when the answer arrives, so a target slower than the offered rate gets less than
#   that rate (the "achieved RPS" column shows it) and its p99 understates queueing: compare achieved
#   RPS before reading latencies.
# - Reports p50/p99, achieved RPS, non-2xx, CPU-ms per request summed over the target's processes
#   (gateway: API + silo + Azurite; Portkey: its node process) from /proc, and their RSS.
# Every server binds to 127.0.0.1; every load is bounded by -z/-d and a timeout, and stops by itself.
# Usage: tools/bench/overhead-bench.sh [seconds-per-phase=10] [rates=200,500,1000]
# Results are printed and prepended to tools/bench/results/overhead.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/dev/services.sh

DURATION=${1:-10}
RATES=${2:-200,500,1000}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/navigator-overhead.XXXXXX")
cleanup() {
  stop_started
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ensure_debian_tool wrk wrk
ensure_azurite_installed
echo "Installing the peer gateway (@portkey-ai/gateway@1.15.2) into $WORK/portkey..."
mkdir -p "$WORK/portkey"
(cd "$WORK/portkey" && npm init -y >/dev/null && timeout 300 npm install --no-audit --no-fund --loglevel=error @portkey-ai/gateway@1.15.2 >/dev/null)
echo "Building (Release)..."
dotnet build Navigator.sln -c Release -nologo -v q -clp:ErrorsOnly

MOCK_PORT=$(free_port)
node tools/bench/overhead/mock-upstream.js "$MOCK_PORT" >"$WORK/mock.log" 2>&1 &
STARTED+=("$!")
wait_for_port "$MOCK_PORT" 10 "Mock upstream" "${STARTED[-1]}"
MOCK=http://127.0.0.1:$MOCK_PORT

PORTKEY_PORT=$(free_port)
(cd "$WORK/portkey" && exec node --import "$OLDPWD/tools/bench/overhead/bind-loopback.mjs" \
  node_modules/@portkey-ai/gateway/build/start-server.js --port="$PORTKEY_PORT" --headless) >"$WORK/portkey.log" 2>&1 &
PORTKEY_PID=$!
STARTED+=("$PORTKEY_PID")
wait_for_port "$PORTKEY_PORT" 30 "Portkey" "$PORTKEY_PID"

BLOB_PORT=$(free_port); TABLE_PORT=$(free_port)
start_azurite "$WORK/azurite" "$BLOB_PORT" "$TABLE_PORT" "$WORK/azurite.log"
STARTED+=("$AZURITE_PID")
export ConnectionStrings__AzureStorage Orleans__ClusterId=overhead-bench Orleans__ServiceId="overhead-bench-$RANDOM" Logging__LogLevel__Default=Warning
ConnectionStrings__AzureStorage=$(azurite_connection_string "$BLOB_PORT" "$TABLE_PORT")
start_silo_process "$WORK/silo.log"
SILO_PID=${STARTED[-1]}

start_api_process "$WORK/api.log" "$WORK/data" "$MOCK" clientRateLimits__default__requestsPerSecond=100000 \
  clientRateLimits__default__burst=100000 perUser__requestsPerDay=1000000 perUser__tokensPerDay=1000000000000
API_PORT=${API_URL##*:}
curl -fsS -X PUT "http://127.0.0.1:$API_PORT/admin/budget/$(date -u +%Y-%m)/limit" -H 'Authorization: Bearer dev-admin-key' \
  -H 'Content-Type: application/json' -d '{"limitUsd": 100000000, "dailyPacingFactor": 0}' >/dev/null

GATEWAY_BODY='{"userId":"bench-{n}","userProfile":"Software Engineer, 5 years, Python/Java, interested in AI/ML","jobMarketData":"AI Engineer: $120k-180k, ML Engineer: $130k-200k, Data Scientist: $110k-170k","provider":"openai"}'
OPENAI_BODY='{"model":"gpt-4o","max_tokens":800,"response_format":{"type":"json_object"},"messages":[{"role":"system","content":"You are a career advisor. Answer with JSON."},{"role":"user","content":"Software Engineer, 5 years, Python/Java, interested in AI/ML. AI Engineer: $120k-180k, ML Engineer: $130k-200k"}]}'
declare -A URL BODY HEADERS PIDS
URL[direct]=$MOCK/v1/chat/completions; BODY[direct]=$OPENAI_BODY; HEADERS[direct]="Content-Type: application/json|Authorization: Bearer sk-fake"; PIDS[direct]=""
URL[portkey]=http://127.0.0.1:$PORTKEY_PORT/v1/chat/completions; BODY[portkey]=$OPENAI_BODY
HEADERS[portkey]="Content-Type: application/json|Authorization: Bearer sk-fake|x-portkey-provider: openai|x-portkey-custom-host: $MOCK/v1"; PIDS[portkey]="$PORTKEY_PID"
URL[gateway]=http://127.0.0.1:$API_PORT/v1/career-paths; BODY[gateway]=$GATEWAY_BODY
HEADERS[gateway]="Content-Type: application/json|Authorization: Bearer dev-client-key|Cache-Control: no-store"; PIDS[gateway]="$API_PID $SILO_PID $AZURITE_PID"
URL[cached]=${URL[gateway]}; BODY[cached]=$GATEWAY_BODY
HEADERS[cached]="Content-Type: application/json|Authorization: Bearer dev-client-key"; PIDS[cached]=${PIDS[gateway]}
TARGETS=(direct portkey gateway cached)

# header_args TARGET FLAG: the target's headers as repeated FLAG "Name: value" arguments (in HDR).
header_args() {
  HDR=()
  local h
  IFS='|' read -r -a hs <<<"${HEADERS[$1]}"
  for h in "${hs[@]}"; do HDR+=("$2" "$h"); done
}

for target in "${TARGETS[@]}"; do
  header_args "$target" -H
  status=$(curl -s -o "$WORK/check.json" -w '%{http_code}' -X POST "${HDR[@]}" --data "${BODY[$target]//\{n\}/0}" "${URL[$target]}" || true)
  if [ "$status" != 200 ]; then
    echo "A request to $target answered $status, not 200:" >&2
    cat "$WORK/check.json" >&2
    exit 1
  fi
done
echo "All targets answer 200."

# cpu_ticks PID...: utime + stime of the processes (all their threads), in clock ticks.
cpu_ticks() {
  local total=0 pid
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}
# rss_mb PID...: resident memory of the processes, in MB.
rss_mb() {
  local total=0 pid
  for pid in "$@"; do
    [ -r "/proc/$pid/status" ] || continue
    total=$((total + $(awk '/VmRSS/ {print $2}' "/proc/$pid/status")))
  done
  echo $((total / 1024))
}
TICKS=$(getconf CLK_TCK)

# run_wrk TARGET SECONDS OUT [RPS]: closed loop on 32 connections, or about RPS requests per second
# spread over RPS/10 connections (at least 16), each waiting a random exponential time between requests.
run_wrk() {
  local target=$1 seconds=$2 out=$3 rps=${4:-} conns=32
  if [ -n "$rps" ]; then conns=$(( rps / 10 )); [ "$conns" -lt 16 ] && conns=16; fi
  BODY=${BODY[$target]} HEADERS=${HEADERS[$target]} RATE=$rps CONNS=$conns timeout --foreground $((seconds + 30)) \
    wrk -t2 -c"$conns" -d"${seconds}s" --latency -s tools/bench/overhead/post.lua "${URL[$target]}" >"$out" 2>&1 || true
}

# Parsed results: P50[phase,target] P99 RPS ERR CPU RSS (milliseconds, requests/s, count, CPU-ms/request, MB).
declare -A P50 P99 RPS ERR CPU RSS
measure() {
  local phase=$1 target=$2 out="$WORK/$1-$2.txt" before after requests
  before=$(cpu_ticks ${PIDS[$target]})
  if [ "$phase" = max ]; then run_wrk "$target" "$DURATION" "$out"; else run_wrk "$target" "$DURATION" "$out" "$phase"; fi
  after=$(cpu_ticks ${PIDS[$target]})
  P50[$phase,$target]=$(awk '$1=="50%" {print $2}' "$out" | to_ms)
  P99[$phase,$target]=$(awk '$1=="99%" {print $2}' "$out" | to_ms)
  RPS[$phase,$target]=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$out")
  requests=$(awk '/requests in/ {print $1}' "$out")
  # Non-2xx responses plus socket errors (connect, read, write, timeout), as one count.
  ERR[$phase,$target]=$(awk '/Non-2xx or 3xx responses/ {n += $5} /Socket errors/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$out")
  if [ -n "${PIDS[$target]}" ] && [ "${requests:-0}" -gt 0 ]; then
    CPU[$phase,$target]=$(awk -v t=$((after - before)) -v hz="$TICKS" -v n="$requests" 'BEGIN {printf "%.2f", t * 1000 / hz / n}')
    RSS[$phase,$target]=$(rss_mb ${PIDS[$target]})
  else
    CPU[$phase,$target]="-"; RSS[$phase,$target]="-"
  fi
  printf '  %-8s %-8s p50 %8s ms  p99 %8s ms  %6s req/s  non-2xx %s  cpu %s ms/req  rss %s MB\n' "$phase" "$target" \
    "${P50[$phase,$target]}" "${P99[$phase,$target]}" "${RPS[$phase,$target]}" "${ERR[$phase,$target]}" "${CPU[$phase,$target]}" "${RSS[$phase,$target]}"
}
# to_ms: wrk's "1.23ms" / "456.00us" / "1.02s" to milliseconds.
to_ms() {
  awk '{v = $1; if (v ~ /us$/) {sub(/us$/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v *= 1000}; printf "%.2f", v}'
}

echo "Warming up each target..."
for target in "${TARGETS[@]}"; do run_wrk "$target" 3 "$WORK/warmup-$target.txt" 100; done

# single_p50 OUT: the gateway's p50 for one request at a time (one connection, 3 s).
single_p50() {
  BODY=${BODY[gateway]} HEADERS=${HEADERS[gateway]} timeout 60 \
    wrk -t1 -c1 -d3s --latency -s tools/bench/overhead/post.lua "${URL[gateway]}" >"$1" 2>&1 || true
  awk '$1=="50%" {print $2}' "$1" | to_ms
}
SINGLE_BEFORE=$(single_p50 "$WORK/single-before.txt")

IFS=',' read -r -a PHASES <<<"$RATES"
PHASES+=(max)
echo "Measuring ${DURATION}s per phase: ${PHASES[*]} (offered RPS, then closed loop with 32 connections)"
for phase in "${PHASES[@]}"; do
  for target in "${TARGETS[@]}"; do measure "$phase" "$target"; done
done

SERVED=$(curl -fsS "http://127.0.0.1:$API_PORT/metrics" | awk '/^navigator_requests_total\{/ && /outcome="success"/ {n += $2} END {printf "%.0f", n}')
SINGLE_AFTER=$(single_p50 "$WORK/single-after.txt")

# The report: added latency is against the direct call in the same phase.
COMMIT=$(git rev-parse --short HEAD)
[ -n "$(git status --porcelain -- Api Grains Grains.Interfaces Silo)" ] && COMMIT="$COMMIT+dirty"
REPORT=$WORK/report.md
{
  echo "## $(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT"
  echo
  echo "Command: \`tools/bench/overhead-bench.sh $DURATION $RATES\`. Machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(free -g | awk '/Mem:/ {print $2}') GiB."
  echo
  echo "| phase | target | p50 ms | p99 ms | added p50 ms | added p99 ms | achieved RPS | non-2xx | CPU ms/request | RSS MB |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for phase in "${PHASES[@]}"; do
    for target in "${TARGETS[@]}"; do
      added50=-; added99=-
      if [ "$target" != direct ]; then
        added50=$(awk -v a="${P50[$phase,$target]}" -v b="${P50[$phase,direct]}" 'BEGIN {printf "%+.2f", a - b}')
        added99=$(awk -v a="${P99[$phase,$target]}" -v b="${P99[$phase,direct]}" 'BEGIN {printf "%+.2f", a - b}')
      fi
      label=$phase; [ "$phase" != max ] && label="$phase RPS"; [ "$phase" = max ] && label="closed loop, 32 conn."
      echo "| $label | $target | ${P50[$phase,$target]} | ${P99[$phase,$target]} | $added50 | $added99 | ${RPS[$phase,$target]} | ${ERR[$phase,$target]} | ${CPU[$phase,$target]} | ${RSS[$phase,$target]} |"
    done
  done
  echo
  echo "gateway = the miss path (Cache-Control: no-store, every request calls the mock); cached = the hit path (the same question, answered by the response cache)."
  echo "CPU and RSS are summed over the target's processes: gateway and cached = API + silo + Azurite; portkey = its node process; the mock's own CPU is not counted for any target."
  echo
  echo "One gateway request on its own (1 connection, p50): $SINGLE_BEFORE ms before the phases, $SINGLE_AFTER ms after them, with $SERVED requests served in between."
  echo
} >"$REPORT"
cat "$REPORT"

RESULTS=tools/bench/results/overhead.md
if grep -q '^<!-- runs -->$' "$RESULTS" 2>/dev/null; then
  { sed -n '1,/^<!-- runs -->$/p' "$RESULTS"; echo; cat "$REPORT"; sed -n '/^<!-- runs -->$/,$p' "$RESULTS" | tail -n +2; } >"$WORK/results.md"
  mv "$WORK/results.md" "$RESULTS"
  echo "Prepended to $RESULTS"
else
  echo "$RESULTS has no '<!-- runs -->' line: the report above was not recorded." >&2
fi
