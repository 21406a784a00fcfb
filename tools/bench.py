#!/usr/bin/env python3
"""make bench: wall-time overhead of pyscope, measured, never asserted.

For every installed interpreter and workload, runs the workload untraced and
traced by pyscope, paired and interleaved, and reports the median ratio
traced/untraced.  Writes docs/BENCHMARKS.md (use --no-write to only print).

  tools/bench.py [--runs N] [-k SUBSTRING] [--no-write]
"""
import argparse
import glob
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APPS = os.path.join(ROOT, "tests", "apps")
PYSCOPE = os.path.join(ROOT, "build", "pyscope")

WORKLOADS = [
    # name, argv after the interpreter, patterns file, description
    ("calls", ["micro_calls.py", "22"], "micro_calls.json",
     "fib(22) (57313 calls) + generators, coroutines, exceptions, 4 threads"),
    ("ctor", ["micro_ctor.py", "50"], "micro_ctor.json", "50 x 1077 constructions of 8 classes"),
    ("demo", ["-m", "chatdemo", "--requests", "400", "--mode", "mixed", "--seed", "1"],
     "chatdemo/patterns.json", "chat backend, 400 requests, threads + asyncio, 14 patterns"),
]


def interpreters():
    out = []
    for d in sorted(glob.glob("/root/.pyenv/versions/3.*")):
        minor = os.path.basename(d).split(".")[1]
        if minor.isdigit() and int(minor) >= 8 and os.access(d + "/bin/python3", os.X_OK):
            out.append((os.path.basename(d), d + "/bin/python3"))
    if os.access("/usr/bin/python3.11", os.X_OK):
        out.append(("3.11 (Debian)", "/usr/bin/python3.11"))
    out.sort(key=lambda x: [int(p) if p.isdigit() else 0 for p in x[0].split()[0].split(".")])
    return out


def run_once(cmd):
    """The workload's own elapsed time (it prints "elapsed: S"), and pyscope's
    start-up and detach times when it is pyscope running it (-v output)."""
    r = subprocess.run(cmd, cwd=APPS, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd), r.stderr[-300:]))
    elapsed = armed = detach = None
    stopping = None
    for line in r.stderr.splitlines():
        if line.startswith("elapsed: "):
            elapsed = float(line.split()[1])
        elif line.endswith("ms: armed"):
            armed = float(line.split()[-3])
        elif line.endswith("ms: stopping"):
            stopping = float(line.split()[-3])
        elif line.endswith("ms: detached") and stopping is not None:
            detach = float(line.split()[-3]) - stopping
    if elapsed is None:
        raise RuntimeError("%s printed no elapsed time" % " ".join(cmd))
    return elapsed, armed, detach


def measure(py, argv, patterns, runs, via=None):
    base = [py] + argv
    traced = [PYSCOPE, "trace", "-v", "-f", os.path.join(APPS, patterns), "-o", "/dev/null"]
    if via:
        traced += ["--via", via]
    traced += ["--"] + base
    run_once(base)  # warm caches
    u, t, arm, det = [], [], [], []
    for _ in range(runs):
        u.append(run_once(base)[0])
        e, a, d = run_once(traced)
        t.append(e)
        arm.append(a)
        det.append(d)
    ratios = [b / a for a, b in zip(u, t)]
    return (statistics.median(u), statistics.median(t), statistics.median(ratios),
            statistics.median(arm), statistics.median(det))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("-k", dest="filter", default="")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    rows = []
    for label, py in interpreters():
        for name, argv, pats, _ in WORKLOADS:
            key = "%s/%s" % (label, name)
            if args.filter not in key:
                continue
            u, t, r, arm, det = measure(py, argv, pats, args.runs)
            rows.append((label, name, u, t, r, arm, det))
            print("%-16s %-6s untraced %8.4fs  traced %8.4fs  ratio %6.2fx  armed %5.0fms  "
                  "detach %5.0fms" % (label, name, u, t, r, arm, det), flush=True)
    if args.no_write or args.filter:
        return 0
    kernel = os.uname().release
    lines = [
        "# Benchmarks",
        "",
        "Produced by `make bench` (`tools/bench.py --runs %d`) on %s, kernel %s, %d CPUs."
        % (args.runs, time.strftime("%Y-%m-%d"), kernel, os.cpu_count()),
        "Each cell is the median of %d paired, interleaved runs (untraced, then traced)."
        % args.runs,
        "Times are the workload's own elapsed time (it measures itself), so the ratio is",
        "the slowdown of the traced program's work.  pyscope's fixed costs are reported",
        "apart: *armed* is the time from launch to probes attached (interpreter model and",
        "BPF load included), *detach* the time to remove the probes after the report.",
        "",
        "Workloads:",
        "",
    ]
    for name, argv, pats, desc in WORKLOADS:
        lines.append("- `%s`: %s (`%s`, patterns `%s`)" % (name, desc, " ".join(argv), pats))
    lines += ["", "| python | workload | untraced | traced | traced/untraced | armed | detach |",
              "|---|---|---|---|---|---|---|"]
    for label, name, u, t, r, arm, det in rows:
        lines.append("| %s | %s | %.4fs | %.4fs | %.2fx | %.0f ms | %.0f ms |"
                     % (label, name, u, t, r, arm, det))
    with open(os.path.join(ROOT, "docs", "BENCHMARKS.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote docs/BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
