#!/bin/sh
# Run each libFuzzer harness for SECONDS, starting from its committed seed
# corpus (tests/fuzz/corpus/NAME, never written to).  New inputs go to
# OUTDIR/corpus-NAME, crash reproducers to OUTDIR/crash-NAME-*.
# Prints one line per harness and ends with "fuzz: N passed, N failed".
#
#   tests/fuzz/run.sh SECONDS OUTDIR NAME...
cd "$(dirname "$0")/../.." || exit 2
secs=$1 out=$2
shift 2
pass=0 fail=0
for name in "$@"; do
	bin=$out/fuzz_$name
	work=$out/corpus-$name
	log=$out/fuzz-$name.log
	mkdir -p "$work"
	dict=
	[ -f "tests/fuzz/$name.dict" ] && dict="-dict=tests/fuzz/$name.dict"
	# -timeout: an input that takes 10 s is a hang, reported like a crash
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/crash-$name-" $dict "$work" "tests/fuzz/corpus/$name" \
		>"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	units=$(ls "$work" | wc -l)
	if [ "$rc" -eq 0 ]; then
		pass=$((pass + 1))
		echo "PASS fuzz/$name: ${runs:-?} runs in ${secs}s (${rate:-?} exec/s), $units new inputs"
	else
		fail=$((fail + 1))
		what=$(grep -m1 -E '^(SUMMARY|==[0-9]+== ?ERROR): ' "$log" ||
		       grep -m1 -E 'ERROR: libFuzzer|ALARM|runtime error' "$log")
		art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
		echo "FAIL fuzz/$name: ${what:-libFuzzer exited $rc}"
		[ -n "$art" ] && echo "  reproduce: $bin $art"
		# the frames in our code, not libFuzzer's or the sanitizers'
		grep -E '^ *#[0-9]+ 0x.* in .*(src|tests)/' "$log" | head -8 | sed 's/^/  /'
		echo "  full log: $log"
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
