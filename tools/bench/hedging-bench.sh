#!/usr/bin/env bash
# Hedging's benefit and price, side by side in one run: OpenAI answers in 100 ms except for a slow tail (TAIL of its
# calls take 2 s more); Anthropic answers in 150 ms. The same bounded load goes to a replica with hedging off and to
# one with the default hedging, then straight to the fake upstream. Reported per phase: latency percentiles (hey), and
# from the replica's own telemetry lines provider calls and cost per request and the share of requests hedged.
# Every load is bounded by time (-z) and stops by itself; all on loopback.
# Usage: tools/bench/hedging-bench.sh [seconds-per-phase=30] [workers=10] [qps-per-worker=4] [tail-share=0.04]
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/dev/services.sh

DURATION=${1:-30}
WORKERS=${2:-10}
QPS=${3:-4}
TAIL=${4:-0.04}
bench_workspace hedging-bench

prepare_load_bench

start_bench_storage hedging-bench
start_fake_upstream "$WORK/upstream.log"
UPSTREAM=$FAKE_UPSTREAM
start_silo_process "$WORK/silo.log"

LIMITS=(clientRateLimits__default__requestsPerSecond=100000 clientRateLimits__default__burst=100000
  perUser__requestsPerDay=1000000 perUser__tokensPerDay=1000000000000)
start_api_process "$WORK/api-off.log" "$WORK/off" "$UPSTREAM" "${LIMITS[@]}" providers__hedging__enabled=false
OFF_URL=$API_URL
start_api_process "$WORK/api-on.log" "$WORK/on" "$UPSTREAM" "${LIMITS[@]}"
ON_URL=$API_URL

curl -fsS -X PUT "$UPSTREAM/_control/openai" -H 'Content-Type: application/json' \
  -d "{\"latencyMs\":100,\"tailRate\":$TAIL,\"tailLatencyMs\":2000}" >/dev/null
curl -fsS -X PUT "$UPSTREAM/_control/anthropic" -H 'Content-Type: application/json' -d '{"latencyMs":150}' >/dev/null

BODY='{"userId":"bench-user","provider":"openai","userProfile":"Software Engineer, 5 years, Python/Java, interested in AI/ML","jobMarketData":"AI Engineer: $120k-180k, ML Engineer: $130k-200k, Data Scientist: $110k-170k"}'
UPSTREAM_BODY='{"model":"gpt-4o","max_tokens":800,"messages":[{"role":"system","content":"You are a careful career advisor."},{"role":"user","content":"Software Engineer, 5 years. AI Engineer: $120k-180k, ML Engineer: $130k-200k, Data Scientist: $110k-170k. Recommend exactly 3 career paths."}]}'
HEY=(-z "${DURATION}s" -c "$WORKERS" -q "$QPS" -m POST -T application/json)
GATEWAY=(-H "Authorization: Bearer dev-client-key" -H "Cache-Control: no-store")

pct() { grep -E "$1% in" "$2" | awk '{print $3}'; }

# telemetry DATA-DIR [SKIP]: a replica's telemetry lines after the first SKIP, as JSON, one per line (node is there for Azurite).
telemetry() {
  node -e '
    const fs = require("fs"), path = require("path");
    const dir = path.join(process.argv[1], "telemetry");
    fs.readdirSync(dir).filter(f => f.endsWith(".jsonl")).sort()
      .flatMap(f => fs.readFileSync(path.join(dir, f), "utf8").split("\n").filter(Boolean))
      .slice(Number(process.argv[2] || 0)).forEach(l => console.log(l));
  ' "$@"
}

# from_telemetry DATA-DIR SKIP: provider calls (attempts made) and cost per request, share hedged and share answered
# by Anthropic, over the answered requests.
from_telemetry() {
  telemetry "$1" "$2" | node -e '
    const lines = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean).map(JSON.parse)
      .filter(l => l.outcome === "success");
    const cost = lines.reduce((s, l) => s + l.costUsd, 0);
    const calls = lines.reduce((s, l) => s + (l.attempts || []).filter(a => a.outcome !== "circuit_open").length, 0);
    const hedged = lines.filter(l => (l.attempts || []).some(a => a.outcome === "superseded")).length;
    const other = lines.filter(l => l.provider === "anthropic").length;
    const n = lines.length || 1;
    console.log(`${(calls / n).toFixed(3)} | ${(1e6 * cost / n).toFixed(0)} | ${(100 * hedged / n).toFixed(1)}% | ${(100 * other / n).toFixed(1)}%`);
  '
}

# phase NAME URL DATA-DIR: one bounded hey run against a replica; prints a table row.
phase() {
  local name=$1 url=$2 data=$3 total ok skip
  # Warm-up (not reported): JIT, connections, the lease, and 32+ answers for the replica's recent p95.
  hey -z 3s -c "$WORKERS" -q "$QPS" -m POST -T application/json -d "$BODY" "${GATEWAY[@]}" "$url/v1/career-paths" >/dev/null
  sleep 1.5 # telemetry lines are written in the background
  skip=$(telemetry "$data" | wc -l)
  hey "${HEY[@]}" -d "$BODY" "${GATEWAY[@]}" "$url/v1/career-paths" >"$WORK/$name.txt"
  sleep 1.5 # telemetry lines are written in the background
  total=$(grep -E '^\s+\[[0-9]+\]' "$WORK/$name.txt" | awk '{s+=$2} END {print s+0}')
  ok=$(grep -E '^\s+\[200\]' "$WORK/$name.txt" | awk '{print $2}'); ok=${ok:-0}
  printf '| %s | %s | %s | %s s | %s s | %s s | %s |\n' "$name" "$total" "$ok" "$(pct 50 "$WORK/$name.txt")" \
    "$(pct 95 "$WORK/$name.txt")" "$(pct 99 "$WORK/$name.txt")" "$(from_telemetry "$data" "$skip")"
}

echo "Hedging benchmark: $(nproc) cores, ${DURATION}s per phase, offered $((WORKERS * QPS)) req/s; OpenAI 100 ms with ${TAIL} of calls 2 s slower, Anthropic 150 ms"
echo
echo "| phase | requests | 200 OK | p50 | p95 | p99 | provider calls / request | cost / request (µ\$) | hedged | answered by Anthropic |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
phase "hedging off" "$OFF_URL" "$WORK/off"
phase "hedging on (defaults)" "$ON_URL" "$WORK/on"
hey "${HEY[@]}" -d "$UPSTREAM_BODY" "$UPSTREAM/v1/chat/completions" >"$WORK/direct.txt"
printf '| direct to the fake OpenAI | %s | %s | %s s | %s s | %s s | 1 | | | |\n' \
  "$(grep -E '^\s+\[[0-9]+\]' "$WORK/direct.txt" | awk '{s+=$2} END {print s+0}')" \
  "$(grep -E '^\s+\[200\]' "$WORK/direct.txt" | awk '{print $2}')" \
  "$(pct 50 "$WORK/direct.txt")" "$(pct 95 "$WORK/direct.txt")" "$(pct 99 "$WORK/direct.txt")"
