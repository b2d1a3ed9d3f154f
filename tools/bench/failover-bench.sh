#!/usr/bin/env bash
# Failover under a steady load: the primary provider (OpenAI) answers 500 to everything while
# Anthropic is healthy. Measures the gateway's success rate and latency percentiles with hey at a
# fixed offered rate, next to the same load with both providers healthy and a direct call to the
# fake upstream, all in one run on loopback. Every load is bounded by time (-z) and stops by itself.
# Usage: tools/bench/failover-bench.sh [seconds-per-phase=20] [workers=10] [qps-per-worker=5]
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/dev/services.sh

DURATION=${1:-20}
WORKERS=${2:-10}
QPS=${3:-5}
bench_workspace failover-bench

prepare_load_bench

start_bench_storage failover-bench

start_fake_upstream "$WORK/upstream.log"
UPSTREAM=$FAKE_UPSTREAM

start_silo_process "$WORK/silo.log"
start_api_process "$WORK/api.log" "$WORK/data" "$UPSTREAM" clientRateLimits__default__requestsPerSecond=100000 \
  clientRateLimits__default__burst=100000 perUser__requestsPerDay=1000000 perUser__tokensPerDay=1000000000000
API_PORT=${API_URL##*:}

BODY='{"userId":"bench-user","provider":"openai","userProfile":"Software Engineer, 5 years, Python/Java, interested in AI/ML","jobMarketData":"AI Engineer: $120k-180k, ML Engineer: $130k-200k, Data Scientist: $110k-170k"}'
UPSTREAM_BODY='{"model":"claude-sonnet-4-5","max_tokens":800,"system":"You are a careful career advisor.","messages":[{"role":"user","content":"Software Engineer, 5 years. AI Engineer: $120k-180k, ML Engineer: $130k-200k, Data Scientist: $110k-170k. Recommend exactly 3 career paths."}]}'

# run NAME URL BODY [auth]: one bounded hey run; prints a table row.
run() {
  local name=$1 url=$2 body=$3 auth=${4:-}
  local args=(-z "${DURATION}s" -c "$WORKERS" -q "$QPS" -m POST -T application/json -d "$body")
  # no-store: every gateway request goes to a provider, not to the response cache.
  [ -n "$auth" ] && args+=(-H "Authorization: Bearer $auth" -H "Cache-Control: no-store")
  hey "${args[@]}" "$url" >"$WORK/$name.txt"
  local total ok p50 p99 rps
  total=$(grep -E '^\s+\[[0-9]+\]' "$WORK/$name.txt" | awk '{s+=$2} END {print s+0}')
  ok=$(grep -E '^\s+\[200\]' "$WORK/$name.txt" | awk '{print $2}'); ok=${ok:-0}
  p50=$(grep -E '50% in' "$WORK/$name.txt" | awk '{print $3}')
  p99=$(grep -E '99% in' "$WORK/$name.txt" | awk '{print $3}' || true) # hey prints no p99 for under 100 requests
  rps=$(grep -E 'Requests/sec' "$WORK/$name.txt" | awk '{print $2}')
  printf '| %s | %s | %s | %s | %s | %s s | %s s |\n' "$name" "$((WORKERS * QPS))" "$rps" "$total" \
    "$(awk -v o="$ok" -v t="$total" 'BEGIN { printf "%.2f%%", t ? 100 * o / t : 0 }')" "$p50" "$p99"
}

echo "Failover benchmark: $(nproc) cores, ${DURATION}s per phase, offered $((WORKERS * QPS)) req/s ($WORKERS workers x $QPS req/s)"
echo
echo "| phase | offered req/s | achieved req/s | requests | 200 OK | p50 | p99 |"
echo "|---|---:|---:|---:|---:|---:|---:|"
# Warm-up (not reported): JIT, connection pools, grain activations.
hey -z 3s -c "$WORKERS" -q "$QPS" -m POST -T application/json -d "$BODY" -H "Authorization: Bearer dev-client-key" \
  "http://127.0.0.1:$API_PORT/v1/career-paths" >/dev/null
run "direct-upstream" "$UPSTREAM/v1/messages" "$UPSTREAM_BODY"
run "gateway-healthy" "http://127.0.0.1:$API_PORT/v1/career-paths" "$BODY" dev-client-key
calls_before=$(curl -fsS "$UPSTREAM/_control/openai" | grep -o '"requests":[0-9]*' | cut -d: -f2)
curl -fsS -X PUT "$UPSTREAM/_control/openai" -H 'Content-Type: application/json' -d '{"status":500}' >/dev/null
run "gateway-openai-down" "http://127.0.0.1:$API_PORT/v1/career-paths" "$BODY" dev-client-key
echo
calls_after=$(curl -fsS "$UPSTREAM/_control/openai" | grep -o '"requests":[0-9]*' | cut -d: -f2)
echo "Calls that reached the failing OpenAI during the outage phase: $((calls_after - calls_before)) (the rest skipped its open circuit)"
echo "Circuit after the outage phase:"
curl -fsS "http://127.0.0.1:$API_PORT/admin/providers" -H 'Authorization: Bearer dev-admin-key' | grep -o '"provider":"openai","state":"[a-zA-Z]*"'
