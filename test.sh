#!/usr/bin/env bash
# Runs the whole test suite: installs and starts Azurite on free loopback ports, builds, runs
# every test project and the Ruby client's suite (clients/ruby), stops Azurite, and ends with one
# line: "N passed, N failed[, N skipped]".
set -euo pipefail
cd "$(dirname "$0")"
source tools/dev/services.sh

RESULTS_DIR=$PWD/TestResults
WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/navigator-tests.XXXXXX")
AZURITE_PID=
cleanup() {
  [ -n "$AZURITE_PID" ] && stop_pids "$AZURITE_PID"
  rm -rf "$WORK_DIR"
}
trap cleanup EXIT

ensure_azurite_installed
# The deployment validators need promtool (Debian's prometheus package); node and the npm packages came above.
if ! command -v promtool >/dev/null; then
  echo "Installing promtool for the alert-rule checks..."
  bash tools/validate/promtool.sh >/dev/null
fi
# The Ruby client's suite needs Debian's Ruby with Faraday and minitest; CI runs as root and installs them.
RUBY_PACKAGES="ruby ruby-faraday ruby-minitest"
if ! command -v ruby >/dev/null || ! ruby -e 'require "faraday"; require "minitest"' >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "The Ruby client's tests need Debian's $RUBY_PACKAGES: apt-get install -y $RUBY_PACKAGES (as root)." >&2
    exit 1
  fi
  echo "Installing $RUBY_PACKAGES for the Ruby client's tests..."
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  apt-get install -y -qq $RUBY_PACKAGES >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq $RUBY_PACKAGES >/dev/null; }
fi
echo "Building (Release)..."
dotnet build Navigator.sln -c Release -nologo -v q -clp:ErrorsOnly

BLOB_PORT=$(free_port)
TABLE_PORT=$(free_port)
echo "Starting Azurite on 127.0.0.1:$BLOB_PORT (blob) and :$TABLE_PORT (table)..."
start_azurite "$WORK_DIR/azurite" "$BLOB_PORT" "$TABLE_PORT" "$WORK_DIR/azurite.log"
NAVIGATOR_TEST_STORAGE=$(azurite_connection_string "$BLOB_PORT" "$TABLE_PORT")
export NAVIGATOR_TEST_STORAGE

rm -rf "$RESULTS_DIR"
status=0
# -m:1 runs the test projects one after another: the cluster and load tests measure time, and
# sharing two cores with another project's silos would only make them noisy.
# A test hung for 5 minutes fails with a dump in TestResults/ instead of stalling CI until its limit.
dotnet test Navigator.sln -c Release --no-build --nologo -m:1 --logger "trx" --logger "console;verbosity=minimal" \
  --blame-hang-timeout 5m --blame-hang-dump-type mini --results-directory "$RESULTS_DIR" || status=$?

# The Ruby client's suite against a gateway of its own (fake upstream, silo, API) on the same Azurite.
echo "Running the Ruby client's tests (clients/ruby)..."
ruby_status=0
clients/ruby/test/run-live.sh 2>&1 | tee "$WORK_DIR/ruby.log" || ruby_status=$?

passed=0 failed=0 skipped=0 files=0
for trx in "$RESULTS_DIR"/*.trx; do
  [ -f "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted)))
done

# Minitest ends with "N runs, N assertions, N failures, N errors, N skips"; no such line is a crash.
ruby_summary=$(grep -E '^[0-9]+ runs, [0-9]+ assertions, [0-9]+ failures, [0-9]+ errors, [0-9]+ skips$' "$WORK_DIR/ruby.log" | tail -n 1 || true)
if [ -n "$ruby_summary" ]; then
  read -r runs _ _ _ failures _ errors _ skips _ <<<"$ruby_summary"
  passed=$((passed + runs - failures - errors - skips))
  failed=$((failed + failures + errors))
  skipped=$((skipped + skips))
  if [ "$ruby_status" -ne 0 ] && [ $((failures + errors)) -eq 0 ]; then
    echo "The Ruby client's suite exited with $ruby_status after a summary without failures: counted as one failure." >&2
    failed=$((failed + 1))
  fi
else
  echo "The Ruby client's suite ended without a minitest summary (exit $ruby_status): counted as one failure." >&2
  failed=$((failed + 1))
  [ "$ruby_status" -ne 0 ] || ruby_status=1
fi

if [ "$files" -eq 0 ] || [ $((passed + failed)) -eq 0 ]; then
  echo "No test results were produced." >&2
  status=1
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "dotnet test failed (exit $status) without a failed test in the results: a test host crashed or a project did not run." >&2
fi

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ] && [ "$ruby_status" -eq 0 ]
