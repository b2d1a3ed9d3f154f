# Shared helpers for run.sh and test.sh: install and start Azurite, wait for ports, stop children.
# shellcheck shell=bash

AZURITE_ACCOUNT_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

# azurite_connection_string BLOB_PORT TABLE_PORT
azurite_connection_string() {
  echo "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:$1/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$(( $1 + 1 ))/devstoreaccount1;TableEndpoint=http://127.0.0.1:$2/devstoreaccount1;"
}

ensure_azurite_installed() {
  if [ ! -x node_modules/.bin/azurite ]; then
    echo "Installing Azurite from package.json (npm ci)..."
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
  fi
}

# wait_for_port PORT SECONDS NAME [PID]: fails early if PID exits first.
wait_for_port() {
  local port=$1 seconds=$2 name=$3 pid=${4:-} i
  for ((i = 0; i < seconds * 10; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited before it started listening on 127.0.0.1:$port" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "$name did not start listening on 127.0.0.1:$port within ${seconds}s" >&2
  return 1
}

# start_azurite DATA_DIR BLOB_PORT TABLE_PORT LOG_FILE  (sets AZURITE_PID)
start_azurite() {
  local dir=$1 blob=$2 table=$3 log=$4
  mkdir -p "$dir"
  node_modules/.bin/azurite --silent --skipApiVersionCheck --loose --disableTelemetry --location "$dir" \
    --blobHost 127.0.0.1 --blobPort "$blob" --queueHost 127.0.0.1 --queuePort $(( blob + 1 )) \
    --tableHost 127.0.0.1 --tablePort "$table" >"$log" 2>&1 &
  AZURITE_PID=$!
  wait_for_port "$blob" 30 "Azurite (blob)" "$AZURITE_PID" && wait_for_port "$table" 30 "Azurite (table)" "$AZURITE_PID"
}

# stop_pids PID...: stops them one after another in the given order (SIGTERM, then wait), so a
# service can finish with the ones after it still up; whatever is left after 12 s in all gets SIGKILL.
stop_pids() {
  local pid deadline=$((SECONDS + 12))
  for pid in "$@"; do
    kill -TERM "$pid" 2>/dev/null || continue
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  done
  for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

# Background services a script started; stop_started stops them last-started-first.
STARTED=()
stop_started() {
  local reversed=() i
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do reversed+=("${STARTED[i]}"); done
  if [ ${#reversed[@]} -gt 0 ]; then stop_pids "${reversed[@]}"; fi
}

# start_silo_process LOG: a Release silo on free loopback ports, without the dashboard, for
# scripts that need a throwaway cluster (its gateway port is left in SILO_GATEWAY_PORT).
start_silo_process() {
  local log=$1 bin=$PWD/Silo/bin/Release/net10.0
  SILO_GATEWAY_PORT=$(free_port)
  SILO_HTTP_PORT=$(free_port) # its /health and /metrics
  Orleans__SiloPort=$(free_port) Orleans__GatewayPort=$SILO_GATEWAY_PORT Orleans__Dashboard=false Silo__HttpPort=$SILO_HTTP_PORT \
    dotnet "$bin/Navigator.Silo.dll" --contentRoot "$bin" >"$log" 2>&1 &
  STARTED+=("$!")
  wait_for_port "$SILO_GATEWAY_PORT" 60 "Silo gateway" "$!"
}

# bench_workspace NAME: a temporary folder in WORK for a script's data and logs; on exit every service the
# script started is stopped and the folder removed (kept when KEEP_WORK is set, for a look afterwards).
bench_workspace() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/navigator-$1.XXXXXX")
  trap 'stop_started; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
}

# ensure_debian_tool COMMAND PACKAGE: installs a Debian package (the load generators hey and wrk) when its command is missing.
ensure_debian_tool() {
  command -v "$1" >/dev/null && return 0
  echo "Installing $1 (Debian package $2)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "$2" >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq "$2" >/dev/null; }
}

# prepare_load_bench: what every hey-driven script needs first: hey (Debian), Azurite (npm) and a Release build.
prepare_load_bench() {
  ensure_debian_tool hey hey
  ensure_azurite_installed
  echo "Building (Release)..."
  dotnet build Navigator.sln -c Release -nologo -v q -clp:ErrorsOnly
}

# start_bench_storage NAME: Azurite on free loopback ports with its data in $WORK, and the connection string and a fresh
# cluster identity exported for the silos and API replicas started after it (their logs at Warning).
start_bench_storage() {
  local blob table
  blob=$(free_port); table=$(free_port)
  start_azurite "$WORK/azurite" "$blob" "$table" "$WORK/azurite.log"
  STARTED+=("$AZURITE_PID")
  export ConnectionStrings__AzureStorage Orleans__ClusterId="$1" Orleans__ServiceId="$1-$RANDOM" Logging__LogLevel__Default=Warning
  ConnectionStrings__AzureStorage=$(azurite_connection_string "$blob" "$table")
}

# start_fake_upstream LOG: tools/FakeUpstream (the OpenAI and Anthropic wire formats, with faults set
# through /_control) on a free loopback port; its base URL is left in FAKE_UPSTREAM.
start_fake_upstream() {
  local log=$1 port
  port=$(free_port)
  dotnet tools/FakeUpstream/bin/Release/net10.0/Navigator.FakeUpstream.dll "$port" >"$log" 2>&1 &
  STARTED+=("$!")
  wait_for_port "$port" 30 "Fake upstream" "$!"
  FAKE_UPSTREAM=http://127.0.0.1:$port
}

# start_api_process LOG DATA_DIR UPSTREAM [NAME=value...]: a Release API replica with the Development keys on
# a free loopback port, in the cluster that the environment names, with the real OpenAI and Anthropic
# SDKs pointed at UPSTREAM. Extra settings come as NAME=value. Waits until it is ready; its URL is left in
# API_URL and its pid in API_PID.
start_api_process() {
  local log=$1 data=$2 upstream=$3 port i bin=$PWD/Api/bin/Release/net10.0
  shift 3
  port=$(free_port)
  env ASPNETCORE_ENVIRONMENT=Development NAVIGATOR_API_PORT="$port" NAVIGATOR_DATA_DIR="$data" \
    OPENAI_API_KEY=sk-fake OPENAI_BASE_URL="$upstream/v1" ANTHROPIC_API_KEY=sk-ant-fake ANTHROPIC_BASE_URL="$upstream" "$@" \
    dotnet "$bin/Navigator.Api.dll" --contentRoot "$bin" >"$log" 2>&1 &
  API_PID=$!
  STARTED+=("$API_PID")
  API_URL=http://127.0.0.1:$port
  for ((i = 0; i < 600; i++)); do
    curl -fsS "$API_URL/health/ready" >/dev/null 2>&1 && return 0
    kill -0 "$API_PID" 2>/dev/null || { echo "The API exited during start-up:" >&2; tail -20 "$log" >&2; return 1; }
    sleep 0.1
  done
  echo "The API was not ready within 60 s; see $log" >&2
  return 1
}

# free_port: a free loopback port below Linux's ephemeral range (32768 and up), so that no outgoing
# connection can take it between this check and the server that binds it.
free_port() {
  node -e "
    const net = require('net');
    const tryPort = (n) => {
      const port = 20000 + Math.floor(Math.random() * 12000);
      const s = net.createServer();
      s.once('error', () => { if (n > 0) tryPort(n - 1); else process.exit(1); });
      s.listen(port, '127.0.0.1', () => { console.log(port); s.close(); });
    };
    tryPort(100);"
}
