#!/bin/sh
# make memcheck: valgrind memcheck over pyscope (info, a real trace, record, report of
# the sample trace file, whole and cut) and
# every unit-test binary.  Any error or leak fails.  Ends with
# "memcheck: N passed, N failed".
#
#   tests/memcheck.sh OUTPUT_DIR
cd "$(dirname "$0")/.." || exit 2
out=${1:-build}
py=/root/.pyenv/versions/3.12.1/bin/python3
[ -x "$py" ] || py=/usr/bin/python3.11
vg="valgrind -q --leak-check=full --error-exitcode=1 --suppressions=tests/memcheck.supp"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
pass=0 fail=0

check() {	# name command...
	name=$1
	shift
	if $vg "$@" >"$log" 2>&1; then
		pass=$((pass + 1))
		echo "PASS memcheck/$name"
	else
		fail=$((fail + 1))
		echo "FAIL memcheck/$name"
		grep -E '^==[0-9]+==' "$log" | head -40 | sed 's/^/  /'
	fi
}

check info "$out/pyscope" info --format json -- "$py" -c pass
check trace "$out/pyscope" trace --format json -e fib=__main__:fib -- "$py" -c \
	'def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)
fib(12)'
# the reader of trace files, on the committed sample and on a cut copy of it
check report "$out/pyscope" report tests/data/sample-v1.pstrace --format json --paths --migration
cut=$(mktemp)
head -c 70000 tests/data/sample-v1.pstrace >"$cut"
check report-cut "$out/pyscope" report "$cut"
rm -f "$cut"
rec=$(mktemp -u)
check record "$out/pyscope" record -o "$rec" -e fib=__main__:fib -- "$py" -c \
	'def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)
fib(12)'
rm -f "$rec"
# several processes: a child followed (tracer loaded ahead by a thread), two -p
check follow-forks "$out/pyscope" trace --format json --follow-forks -e fib=__main__:fib -- \
	"$py" -c 'import os, time
def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)
fib(10)
time.sleep(3)
pid = os.fork()
if pid == 0:
    time.sleep(1)
    fib(12)
    os._exit(0)
os.waitpid(pid, 0)'
for t in "$out"/tests/test_*; do
	check "$(basename "$t")" "$t"
done
echo "memcheck: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
