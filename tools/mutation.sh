#!/usr/bin/env bash
# Mutation testing of the guarantee code with dotnet-stryker (pinned in .config/dotnet-tools.json).
# Not part of ./test.sh. Each project is mutated against the unit tests, bounded in time, and the
# score per file, with every surviving mutant, is added to tools/bench/results/mutation.md.
#
#   tools/mutation.sh [label] [minutes per project = 20]
#
# MUTATION_RESULTS=<file> writes the results elsewhere (e.g. when run from another checkout).
# MUTATION_PROJECTS="Api.csproj" mutates only the projects named (space-separated, from the list below);
# the default is all three: Grains.csproj Grains.Interfaces.csproj Api.csproj.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LABEL=${1:-$(git rev-parse --short HEAD)}
MINUTES=${2:-20}
RESULTS=${MUTATION_RESULTS:-$ROOT/tools/bench/results/mutation.md}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/navigator-mutation.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

# project → the files under it that carry a guarantee (globs relative to the project).
declare -A MUTATE=(
  [Grains.csproj]="**/Budget/BudgetLedger.cs **/Providers/CircuitBreaker.cs"
  [Grains.Interfaces.csproj]="**/Budget/LeaseAccount.cs **/Experiments/VariantAssigner.cs **/Experiments/BucketAllocator.cs"
  [Api.csproj]="**/Pipeline/ProviderFailoverChatClient.cs **/Pipeline/BudgetChatClient.cs **/Pipeline/BudgetLeases.cs"
)

PROJECTS=${MUTATION_PROJECTS:-Grains.csproj Grains.Interfaces.csproj Api.csproj}
for project in $PROJECTS; do
  [ -n "${MUTATE[$project]:-}" ] || { echo "Unknown project in MUTATION_PROJECTS: $project (one of: ${!MUTATE[*]})" >&2; exit 2; }
done

dotnet tool restore >/dev/null
cd tests/UnitTests
for project in $PROJECTS; do
  args=()
  for glob in ${MUTATE[$project]}; do args+=(--mutate "$glob"); done
  echo "Mutating ${MUTATE[$project]} in $project (at most $MINUTES min)..."
  timeout "${MINUTES}m" dotnet stryker --project "$project" "${args[@]}" --reporter json --reporter progress \
    --output "$OUT/${project%.csproj}" --concurrency 2 --break-at 0 >"$OUT/${project%.csproj}.log" 2>&1 \
    || { echo "stryker failed or timed out on $project; see below" >&2; tail -20 "$OUT/${project%.csproj}.log" >&2; exit 1; }
  grep -E "final mutation score|Time Elapsed" "$OUT/${project%.csproj}.log" | sed 's/^/  /'
done
cd "$ROOT"

COMMAND="tools/mutation.sh"
[ -n "${MUTATION_PROJECTS:-}" ] && COMMAND="MUTATION_PROJECTS=\"$PROJECTS\" $COMMAND"
python3 - "$OUT" "$RESULTS" "$LABEL" "$(git rev-parse --short HEAD)" "$ROOT" "$COMMAND" <<'PY'
import json, glob, os, sys, collections
out, results, label, commit, root, command = sys.argv[1:]
rows, survivors = [], []
for report in sorted(glob.glob(f"{out}/*/reports/mutation-report.json")):
    data = json.load(open(report))
    for path, f in sorted(data["files"].items()):
        c = collections.Counter(m["status"] for m in f["mutants"])
        detected = c["Killed"] + c["Timeout"]
        valid = detected + c["Survived"] + c["NoCoverage"]
        if valid == 0:
            continue
        # Stryker reports absolute paths: name each file relative to the repository.
        name = os.path.relpath(path, root)
        rows.append(f"| `{name}` | {100 * detected / valid:.1f}% | {c['Killed']} | {c['Timeout']} | {c['Survived']} | {c['NoCoverage']} |")
        lines = f["source"].split("\n")
        for m in f["mutants"]:
            if m["status"] in ("Survived", "NoCoverage"):
                line = m["location"]["start"]["line"]
                survivors.append(f"- `{name}:{line}` {m['status']}, {m['mutatorName']}: `{lines[line - 1].strip()[:100]}` → `{m.get('replacement', '')[:80]}`")
section = [f"### {label} (commit {commit})", "",
           f"Command: `{command}` (dotnet-stryker 5.1.0 against tests/UnitTests; score = killed + timeout over killed + timeout + survived + no coverage)", "",
           "| File | Score | Killed | Timeout | Survived | No coverage |", "|---|---|---|---|---|---|", *rows, "",
           f"Survivors ({len(survivors)}):", "", *(survivors or ["- none"]), ""]
text = open(results).read() if os.path.exists(results) else "# Mutation testing\n\n<!-- runs -->\n"
marker = "<!-- runs -->\n"
text = text.replace(marker, marker + "\n" + "\n".join(section), 1)
open(results, "w").write(text)
print("\n".join(rows))
print(f"{len(survivors)} survivors; written to {results}")
PY
