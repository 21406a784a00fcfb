#!/bin/sh
# make demo: trace the bundled chat backend and print the report.
set -eu
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3.11}
[ -x "$PY" ] || PY=$(command -v python3)
cd tests/apps
exec ../../build/pyscope trace -f chatdemo/patterns.json -- "$PY" -m chatdemo \
	--requests 400 --legacy-share 0.3 --concurrency 4 --mode mixed --seed 1
