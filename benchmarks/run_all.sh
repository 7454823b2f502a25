#!/usr/bin/env bash
# benchmarks/run_all.sh: run every benchmark of the querier and print their figure lines.
#
#   sudo benchmarks/run_all.sh            all of them (about 3 minutes)
#   sudo benchmarks/run_all.sh idle flood only the named ones (parser, sources, failover, idle, flood)
#
# The benchmarks report their targets (MET/MISSED); they do not assert them. This script exits
# non-zero only when a benchmark itself failed to run (it keeps going and names the failures).
# Python: $PYTHON, else the project's virtualenv (scripts/bootstrap --venv-path) when it exists,
# else python3. parser and sources run without root; failover, idle and flood need root (network namespaces).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
if [[ -z ${PYTHON:-} ]]; then
    VENV=$("$REPO/scripts/bootstrap" --venv-path 2>/dev/null || true)
    if [[ -n $VENV && -x $VENV/bin/python ]]; then PYTHON=$VENV/bin/python; else PYTHON=python3; fi
fi

ALL=(parser sources failover idle flood)
if (($#)); then SELECTED=("$@"); else SELECTED=("${ALL[@]}"); fi

failed=()
figures=$(mktemp)
trap 'rm -f "$figures"' EXIT
for name in "${SELECTED[@]}"; do
    if [[ ! -f $HERE/bench_$name.py ]]; then
        echo "run_all: no benchmark '$name' (have: ${ALL[*]})" >&2
        failed+=("$name")
        continue
    fi
    printf '\n==== bench_%s (%s) ====\n' "$name" "$PYTHON"
    start=$SECONDS
    (cd "$REPO" && "$PYTHON" -m "benchmarks.bench_$name") | tee -a "$figures"
    rc=${PIPESTATUS[0]}
    echo "[bench_$name: exit $rc after $((SECONDS - start)) s]"
    ((rc == 0)) || failed+=("$name")
done

printf '\n==== targets ====\n'
grep -E '\(target ' "$figures" || true
if ((${#failed[@]})); then
    echo "run_all: benchmarks that exited non-zero: ${failed[*]}" >&2
    exit 1
fi
