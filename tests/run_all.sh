#!/bin/sh
# make test: unit tests, then end-to-end tests on every interpreter.
# Ends with one line: "N passed, N failed".
cd "$(dirname "$0")/.." || exit 2
OUT=${OUTPUT:-build}
unit_log=$(mktemp) e2e_log=$(mktemp)
trap 'rm -f "$unit_log" "$e2e_log"' EXIT

tests/run_unit.sh "$OUT"/tests/test_* | tee "$unit_log"
python3 tests/e2e/run.py --pyscope "$OUT/pyscope" ${E2E_ARGS:-} | tee "$e2e_log"

sum() {
	sed -n "s/^$1: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p" "$2" | tail -1
}
set -- $(sum unit "$unit_log") $(sum e2e "$e2e_log")
up=${1:-0} uf=${2:-1} ep=${3:-0} ef=${4:-1}
passed=$((up + ep))
failed=$((uf + ef))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
