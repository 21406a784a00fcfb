#!/bin/sh
# Run cmocka unit binaries; print "unit: N passed, N failed, N skipped".
pass=0 fail=0 skipped=0
for t in "$@"; do
	out=$("$t" 2>&1)
	rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	s=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | tail -1)
	p=${p:-0} f=${f:-0} s=${s:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1	# crashed before its summary
	fi
	if [ "$f" -ne 0 ]; then
		printf '%s\n' "$out" | grep -E 'ERROR|FAILED|LINE|skip:' | sed "s|^|  $(basename "$t"): |"
		echo "FAIL $(basename "$t"): $f failed"
	else
		echo "PASS $(basename "$t"): $p passed${s:+, $s skipped}"
		printf '%s\n' "$out" | grep '^skip:' | sed "s|^|  $(basename "$t"): |"
	fi
	pass=$((pass + p)) fail=$((fail + f)) skipped=$((skipped + s))
done
echo "unit: $pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
