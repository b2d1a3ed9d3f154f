#!/usr/bin/env bash
# Runs the Ruby client's minitest suite (clients/ruby/test) against a throwaway gateway on free loopback
# ports: tools/FakeUpstream, one silo and one API replica in an Orleans cluster of their own, on the Azurite
# that NAVIGATOR_TEST_STORAGE names (./test.sh's), or on an Azurite of its own when it is unset. Needs the
# Release build. Stops everything it started, and prints minitest's output, which ends with
# "N runs, N assertions, N failures, N errors, N skips"; exits non-zero when a test failed or nothing ran.
# Arguments go to minitest: clients/ruby/test/run-live.sh -v -n /retry/ --seed 1234
set -euo pipefail
cd "$(dirname "$0")/../../.."
source tools/dev/services.sh

RUBY_PACKAGES="ruby ruby-faraday ruby-minitest"
if ! command -v ruby >/dev/null || ! ruby -e 'require "faraday"; require "minitest"' >/dev/null 2>&1; then
  echo "The Ruby client's tests need Debian's $RUBY_PACKAGES (apt-get install -y $RUBY_PACKAGES)." >&2
  exit 1
fi
for dll in Api/bin/Release/net10.0/Navigator.Api.dll Silo/bin/Release/net10.0/Navigator.Silo.dll \
  tools/FakeUpstream/bin/Release/net10.0/Navigator.FakeUpstream.dll; do
  [ -f "$dll" ] || { echo "$dll is missing: dotnet build Navigator.sln -c Release first." >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/navigator-ruby.XXXXXX")
cleanup() {
  stop_started
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "${NAVIGATOR_TEST_STORAGE:-}" ]; then
  ensure_azurite_installed
  BLOB_PORT=$(free_port)
  TABLE_PORT=$(free_port)
  start_azurite "$WORK/azurite" "$BLOB_PORT" "$TABLE_PORT" "$WORK/azurite.log"
  STARTED+=("$AZURITE_PID")
  NAVIGATOR_TEST_STORAGE=$(azurite_connection_string "$BLOB_PORT" "$TABLE_PORT")
fi

# A cluster and a service id of its own: its own membership rows and grain state (a fresh budget, feature
# and circuits) beside whatever else uses the same Azurite.
run_id="ruby-client-$(date +%s)-$RANDOM"
export ConnectionStrings__AzureStorage="$NAVIGATOR_TEST_STORAGE" Orleans__ClusterId="$run_id" Orleans__ServiceId="$run_id"
export Logging__LogLevel__Default=Warning

random_key() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
client_key="client-$(random_key)"
admin_key="admin-$(random_key)"
limited_key="limited-$(random_key)"

echo "Starting a gateway for the Ruby client's tests (fake upstream, silo, API)..."
start_fake_upstream "$WORK/upstream.log"
start_silo_process "$WORK/silo.log"
# Caching off (every request reaches a provider, and no stale answer stands in for a 503), the LLM judge
# off (no background provider calls while the tests inject faults), 3 requests per user per day (the quota
# test), and a second client key limited to 1 request/s (the rate-limit and retry tests).
start_api_process "$WORK/api.log" "$WORK/data" "$FAKE_UPSTREAM" \
  NAVIGATOR_CLIENT_KEY="$client_key" NAVIGATOR_ADMIN_KEY="$admin_key" \
  Auth__ClientKeys__rubylimited="$limited_key" \
  clientRateLimits__clients__rubylimited__requestsPerSecond=1 clientRateLimits__clients__rubylimited__burst=1 \
  cache__enabled=false experiments__judgeSampleRate=0 perUser__requestsPerDay=3

status=0
(
  cd clients/ruby
  NAVIGATOR_URL=$API_URL NAVIGATOR_CLIENT_KEY=$client_key NAVIGATOR_ADMIN_KEY=$admin_key \
    NAVIGATOR_TEST_RATE_LIMITED_KEY=$limited_key NAVIGATOR_TEST_FAKE_UPSTREAM=$FAKE_UPSTREAM \
    ruby -Ilib -Itest -e 'Dir["test/*_test.rb"].sort.each { |file| require File.expand_path(file) }' -- "$@"
) || status=$?

if [ "$status" -ne 0 ]; then
  echo "The Ruby suite exited with $status; the end of the API's log ($WORK/api.log):" >&2
  tail -n 20 "$WORK/api.log" >&2 || true
fi
exit "$status"
