"""fib(N), timed by itself: the call-heavy workload for profile --sampled overhead."""
import sys, time
def fib(n): return n if n < 2 else fib(n-1) + fib(n-2)
t = time.perf_counter(); fib(int(sys.argv[1])); print("elapsed: %.6f" % (time.perf_counter() - t), file=sys.stderr)
