#!/usr/bin/env bash
# Chaos on loopback: 3 silo processes and 2 API processes under a steady load (hey, bounded by time), with the
# fake upstream behind the real OpenAI and Anthropic SDKs. Every server binds to 127.0.0.1; every load stops by itself.
#   1. kill -9 one silo under load: success rate and p99 during the 15 s after the kill; a rollback issued 2 s
#      after the kill must reach both API replicas; afterwards the ledger must equal what the answers were charged
#      (plus what it says is unreconciled) and every replica's circuits must match the cluster's.
#   2. rolling restart: each silo in turn replaced by a new one (start the new one, then SIGTERM the old one)
#      under load: the number of failed requests.
# Usage: tools/bench/chaos.sh [rps-per-api=25]
set -euo pipefail
cd "$(dirname "$0")/../.."
source tools/dev/services.sh

RPS=${1:-25}
bench_workspace chaos

prepare_load_bench

start_bench_storage chaos
start_fake_upstream "$WORK/upstream.log"

SILOS=()
for i in 1 2 3; do
  start_silo_process "$WORK/silo-$i.log"
  SILOS+=("${STARTED[-1]}")
done
APIS=()
for name in a b; do
  start_api_process "$WORK/api-$name.log" "$WORK/api-$name" "$FAKE_UPSTREAM" clientRateLimits__enabled=false \
    perUser__requestsPerDay=1000000 perUser__tokensPerDay=1000000000000 experiments__judgeSampleRate=0
  APIS+=("$API_URL")
done
A=${APIS[0]}; B=${APIS[1]}
ADMIN=(-H 'Authorization: Bearer dev-admin-key' -H 'Content-Type: application/json')
FEATURE=career_path_navigator
BODY='{"userId":"chaos-user","userProfile":"Software Engineer, 5 years, Python/Java, interested in AI/ML","jobMarketData":"AI Engineer: $120k-180k, ML Engineer: $130k-200k"}'
MONTH=$(date -u +%Y-%m)

# load NAME SECONDS: both replicas, RPS each, every request to a provider (no-store); per-request CSV rows.
# The hey processes' pids are left in LOAD_PIDS.
load() {
  local name=$1 seconds=$2 url
  LOAD_PIDS=()
  for url in "$A" "$B"; do
    hey -z "${seconds}s" -c 5 -q "$((RPS / 5))" -m POST -T application/json -d "$BODY" -o csv \
      -H 'Authorization: Bearer dev-client-key' -H 'Cache-Control: no-store' "$url/v1/career-paths" >"$WORK/$name-${url##*:}.csv" &
    LOAD_PIDS+=("$!")
  done
}

# summary NAME FROM TO: requests, 200s and p99 (s) of the requests started between FROM and TO seconds.
summary() {
  local rows
  rows=$(cat "$WORK/$1"-*.csv | awk -F, -v from="$2" -v to="$3" '$1 != "response-time" && $8 >= from && $8 < to { print $1, $7 }')
  if [ -z "$rows" ]; then echo "no requests"; return; fi
  local n ok p99 others
  n=$(echo "$rows" | wc -l)
  ok=$(echo "$rows" | awk '$2 == 200' | wc -l)
  p99=$(echo "$rows" | awk '{ print $1 }' | sort -g | awk -v n="$n" 'NR == (int(n * 0.99) > 0 ? int(n * 0.99) : 1) { print; exit }')
  others=$(echo "$rows" | awk '$2 != 200 { print $2 }' | sort | uniq -c | awk '{ printf ", %d x %s", $1, $2 }')
  awk -v n="$n" -v ok="$ok" -v p99="$p99" -v others="$others" 'BEGIN { printf "%d requests, %d answered (%.2f%%), p99 %.3f s%s\n", n, ok, 100 * ok / n, p99, others }'
}

version_of() { # version_of URL: the feature version a fresh request is answered with
  curl -s "$1/v1/career-paths" -H 'Authorization: Bearer dev-client-key' -H 'Content-Type: application/json' -H 'Cache-Control: no-store' \
    -d "$BODY" | grep -o '"featureVersion":"[^"]*"' | cut -d'"' -f4
}

echo
echo "Chaos on loopback: $(nproc) cores, 3 silos, 2 API replicas, $RPS requests/s to each replica"
# The rollback target: 1.2.2 active, then 1.2.3 again, so a rollback goes back to 1.2.2.
for v in 1.2.2 1.2.3; do
  curl -fsS -X POST "$A/admin/features/$FEATURE/activate" "${ADMIN[@]}" -d "{\"version\":\"$v\",\"reason\":\"chaos set-up\"}" >/dev/null
done
sleep 2

echo
echo "## 1. kill -9 of one silo under load"
load kill 25
sleep 5
kill -9 "${SILOS[0]}"
KILLED_AT=5
echo "silo 1 killed at ${KILLED_AT} s"
sleep 2
ROLLBACK_START=$(date +%s%N)
curl -s -o "$WORK/rollback.json" -w '%{http_code}' -X POST "$A/admin/features/$FEATURE/rollback" "${ADMIN[@]}" -d '{"reason":"chaos: rollback during recovery"}' >"$WORK/rollback.status" || true
for url in "$A" "$B"; do
  reached=""
  for _ in $(seq 1 200); do
    if [ "$(version_of "$url")" = "1.2.2" ]; then reached=$(( ($(date +%s%N) - ROLLBACK_START) / 1000000 )); break; fi
    sleep 0.1
  done
  echo "rollback (answered $(cat "$WORK/rollback.status")) reached replica ${url##*:} after: ${reached:-NOT within 20 s} ms"
done
wait "${LOAD_PIDS[@]}"
echo "before the kill:            $(summary kill 0 $KILLED_AT)"
echo "15 s after the kill:        $(summary kill $KILLED_AT $((KILLED_AT + 15)))"
echo "after that:                 $(summary kill $((KILLED_AT + 15)) 1000)"

# The ledger against the telemetry of both replicas, once every replica has reported.
sleep 3
CHARGED=$(cat "$WORK"/api-*/telemetry/*.jsonl | node -e '
  let s = 0; require("readline").createInterface({ input: process.stdin }).on("line", l => { s += JSON.parse(l).costUsd; })
    .on("close", () => console.log(s.toFixed(6)));')
LEDGER=$(curl -fsS "$A/admin/budget/$MONTH" "${ADMIN[@]}" | node -e '
  let t = ""; process.stdin.on("data", d => t += d).on("end", () => { const b = JSON.parse(t);
    console.log(`${b.spentUsd.toFixed(6)} ${b.unreconciledUsd.toFixed(6)} ${(b.spentUsd - b.unreconciledUsd).toFixed(6)} ${b.inFlightUsd}`); });')
read -r SPENT UNRECONCILED KNOWN INFLIGHT <<<"$LEDGER"
echo "ledger: spent \$$SPENT (unreconciled \$$UNRECONCILED, in flight \$$INFLIGHT); the answers were charged \$$CHARGED; spent - unreconciled = \$$KNOWN"
for url in "$A" "$B"; do
  echo "circuits on replica ${url##*:}: $(curl -fsS "$url/admin/providers" "${ADMIN[@]}" | node -e '
    let t = ""; process.stdin.on("data", d => t += d).on("end", () => console.log(JSON.parse(t)
      .map(p => `${p.provider} ${p.state}/${p.replicaState}${p.state === p.replicaState ? "" : " (DIFFERENT)"}`).join(", ")));')"
done

echo
echo "## 2. rolling restart of the 3 silos under load"
load rolling 40
sleep 3
for i in 1 2 3; do
  old=${SILOS[$i - 1]}
  start_silo_process "$WORK/silo-$i-new.log"
  SILOS[$i - 1]=${STARTED[-1]}
  sleep 3
  if kill -0 "$old" 2>/dev/null; then
    kill -TERM "$old"
    for _ in $(seq 1 150); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
  fi
  echo "silo $i replaced at $(date +%T)"
  sleep 4
done
wait "${LOAD_PIDS[@]}"
echo "during the rolling restart: $(summary rolling 0 1000)"
