"""Rule records' cost (tools/bench.py): N calls of one function, its run_id
argument changing every 5 calls.  Prints the process's CPU time for the loop
(user + system: a uprobe's BPF program runs as the process's system time),
which the machine's other load barely changes, unlike the elapsed time."""
import resource
import sys


def emit(x, run_id=None):
    return x


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(n):
    keys = ["run%d" % (i // 5) for i in range(n)]
    t0 = cpu()
    for i in range(n):
        emit(i, run_id=keys[i])
    print("cpu: %.6f" % (cpu() - t0), file=sys.stderr)


main(int(sys.argv[1]))
