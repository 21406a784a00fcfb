#!/bin/sh
# make test: unit tests, then end-to-end tests on every interpreter.
# Ends with one line: "N passed, N failed".
cd "$(dirname "$0")/.." || exit 2
OUT=${OUTPUT:-build}
unit_log=$(mktemp) e2e_log=$(mktemp) arch_log=$(mktemp)
trap 'rm -f "$unit_log" "$e2e_log" "$arch_log"' EXIT

# the layering rules of docs/DEVELOPING.md: one test
if python3 tools/archcheck.py >"$arch_log" 2>&1; then
	echo "PASS archcheck"; echo "arch: 1 passed, 0 failed" >>"$arch_log"
else
	cat "$arch_log"; echo "FAIL archcheck"; echo "arch: 0 passed, 1 failed" >>"$arch_log"
fi

# the unit binaries of today's sources (a renamed test leaves a stale binary behind)
set --
for src in tests/unit/test_*.c; do
	set -- "$@" "$OUT/tests/$(basename "$src" .c)"
done
tests/run_unit.sh "$@" | tee "$unit_log"
python3 tests/e2e/run.py --pyscope "$OUT/pyscope" ${E2E_ARGS:-} | tee "$e2e_log"

sum() {
	sed -n "s/^$1: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p" "$2" | tail -1
}
set -- $(sum unit "$unit_log") $(sum e2e "$e2e_log") $(sum arch "$arch_log")
up=${1:-0} uf=${2:-1} ep=${3:-0} ef=${4:-1} ap=${5:-0} af=${6:-1}
passed=$((up + ep + ap))
failed=$((uf + ef + af))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
