#!/usr/bin/env python3
"""make bench: what pyscope costs, measured, never asserted.

For every installed interpreter and workload, runs the workload untraced,
traced by pyscope with each available --via, and traced by two floors at the
same probe points (same addresses, same pid filter) whose BPF programs only
count: psbench's (attached as pyscope attaches) and, where bpftrace 0.17 can
be told to probe those addresses, a bpftrace one-liner.  Runs are paired and
interleaved; every number is a median over rounds.

Per-event cost: each workload runs at two sizes, and
    cost = ((T_traced - T_untraced)_big - (T_traced - T_untraced)_small)
           / (events_big - events_small)
so the interpreter's start-up and shutdown (outside the workload's own timer)
cancel out; events are probe hits, counted by the floor.  Also: pyscope's time
from launch to armed, its detach time and peak RSS; the collector's throughput
and RSS (psbench flood); trace files: size per event and compression ratio of a
recorded demo run, the writer's records/s (psbench tfwrite) and report's replay
time.  Writes docs/BENCHMARKS.md (--no-write: print only).

  tools/bench.py [--runs N] [-k SUBSTRING] [--no-write] [--no-bpftrace] [--record-only]
                 [--rules-only]

And the cost of pyscope check's rules per call record (--rules-only: that alone).
"""
import argparse
import glob
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APPS = os.path.join(ROOT, "tests", "apps")
PYSCOPE = os.path.join(ROOT, "build", "pyscope")
PSBENCH = os.path.join(ROOT, "build", "psbench")
SCRATCH = os.path.join(tempfile.gettempdir(), "pyscope-bench-%d.out" % os.getpid())

DEMO_RATE = 250		# requests/s: under what the slowest traced build serves here
# what a workload's time is: its own elapsed time, or (fixed-rate demo) its CPU time
METRIC = {"demo": "cpu"}
WORKLOADS = [
    # name, argv for a size, small size, big size, patterns file, description
    ("calls", lambda n: ["micro_calls.py", str(n)], 20, 22, "micro_calls.json",
     "fib(N) (fib(22): 57313 calls) + generators, coroutines, exceptions, 4 threads"),
    ("ctor", lambda n: ["micro_ctor.py", str(n)], 25, 50, "micro_ctor.json",
     "N x 1077 constructions of 8 classes"),
    ("demo", lambda n: ["-m", "chatdemo", "--requests", str(n), "--mode", "mixed", "--seed", "1",
                        "--rate", str(DEMO_RATE)],
     200, 400, "chatdemo/patterns.json",
     "chat backend, N requests at a fixed %d/s, threads + asyncio, 14 patterns; measured in "
     "CPU seconds (the rate sets the wall time)" % DEMO_RATE),
]
VIAS = ("eval", "resume")
FIB = ["fib_timed.py", "32"]		# profile --sampled: fib(32), 7M calls, ~0.2-0.4 s
BP_IDLE = ["micro_calls.py", "32"]
IDLE_PAIRS = 11		# paired runs for the 1-2% columns (--sampled, idle breakpoints)	# the idle-breakpoint workload: ~0.2-0.4 s of calls


class ARGS:
    pyscope = PYSCOPE


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


def reported(text, what):
    """The workload's own report of a time: a line "<what>: <seconds>"."""
    m = re.search(r"^%s: ([0-9.]+)$" % what, text, re.M)
    if not m:
        raise RuntimeError("no %s time in output: %s" % (what, text[-400:]))
    return float(m.group(1))


def elapsed_of(text):
    return reported(text, "elapsed")


def run(cmd, **kw):
    r = subprocess.run(cmd, cwd=APPS, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, **kw)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd)[:200], r.returncode,
                                                    r.stderr[-400:]))
    return r


def latency_p99(text):
    m = re.search(r"^latency_ms: p50 [0-9.]+ p99 ([0-9.]+)", text, re.M)
    return float(m.group(1)) if m else None


def run_untraced(py, argv, metric="elapsed"):
    err = run([py] + argv).stderr
    return {"t": reported(err, metric), "p99": latency_p99(err)}


def run_pyscope(py, argv, patterns, via, metric="elapsed"):
    r = run([ARGS.pyscope, "trace", "-v", "--via", via, "-f", os.path.join(APPS, patterns),
             "--force", "-o", SCRATCH, "--", py] + argv)
    out = {"t": reported(r.stderr, metric), "p99": latency_p99(r.stderr)}
    for line in r.stderr.splitlines():
        m = re.search(r"bpf: (\d+) program runs, ([0-9.]+) ns each", line)
        if m:
            out["bpf_ns"] = int(m.group(1)) * float(m.group(2))
        m = re.search(r"([0-9.]+) ms: armed$", line)
        if m:
            out["armed"] = float(m.group(1))
        m = re.search(r"detach: \d+ link\(s\) removed in ([0-9.]+) ms; peak RSS (\d+) KiB", line)
        if m:
            out["detach"] = float(m.group(1))
            out["rss"] = int(m.group(2))
    return out


def run_floor(py, argv, via, metric="elapsed"):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        r = run([PSBENCH, "floor", "--via", via, "-o", f.name, "--", py] + argv)
        rep = json.load(open(f.name))
    return {"t": reported(r.stderr, metric), "events": rep["total_hits"], "armed": rep["armed_ms"],
            "detach": rep["detach_ms"], "bpf_ns": rep.get("bpf_run_ns")}


class bpf_stats:
    """kernel.bpf_stats_enabled = 1 while in the block (the kernel then times every BPF
    program run: two clock reads each, so it is kept out of the timed rounds)."""
    PATH = "/proc/sys/kernel/bpf_stats_enabled"

    def __enter__(self):
        self.old = open(self.PATH).read().strip()
        open(self.PATH, "w").write("1")

    def __exit__(self, *exc):
        open(self.PATH, "w").write(self.old)


def bpf_cost(py, argv, patterns, via):
    """In-kernel time of pyscope's and the floor's BPF programs per event, from the
    kernel's own run statistics (3 runs each, outside the timed rounds)."""
    per_p, per_f = [], []
    with bpf_stats():
        for _ in range(3):
            p = run_pyscope(py, argv, patterns, via)
            f = run_floor(py, argv, via)
            if p.get("bpf_ns") and f.get("bpf_ns") and f["events"]:
                per_p.append(p["bpf_ns"] / f["events"])
                per_f.append(f["bpf_ns"] / f["events"])
    # the least disturbed of 3 runs (a stalled vCPU inflates a program's run time)
    return (min(per_p), min(per_f)) if per_p else (None, None)


def bpftrace_cmd(probes, py, argv):
    specs = [p["bpftrace"] for p in probes["probes"]]
    if not all(specs):
        return None
    prog = "%s /pid == cpid/ { @[probe] = count(); }" % ", ".join(specs)
    return ["bpftrace", "--unsafe", "-e", prog, "-c", " ".join([py] + argv)]


def run_bpftrace(cmd, metric="elapsed"):
    r = run(cmd)
    events = sum(int(m) for m in re.findall(r"^@\[.*\]: (\d+)$", r.stdout, re.M))
    return {"t": reported(r.stderr + r.stdout, metric), "events": events}


def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


def bench_one(label, py, wl, runs, use_bpftrace):
    name, argv_of, small, big, patterns, _ = wl
    metric = METRIC.get(name, "elapsed")
    info = json.loads(run([PYSCOPE, "info", "--format", "json", "--", py, "-c", "pass"]).stdout)
    vias = [v for v in VIAS if info["mechanisms"][v]["available"]]
    rows = []
    for via in vias:
        probes = json.loads(run([PSBENCH, "probes", "--via", via, "--", py] +
                                argv_of(big)).stdout)
        variants = ["untraced", "pyscope", "floor"]
        if use_bpftrace and bpftrace_cmd(probes, py, argv_of(big)):
            variants.append("bpftrace")
        res = {(v, s): [] for v in variants for s in (small, big)}
        run_untraced(py, argv_of(big))  # warm the page cache
        for _ in range(runs):
            for size in (small, big):
                argv = argv_of(size)
                for v in variants:
                    if v == "untraced":
                        r = run_untraced(py, argv, metric)
                    elif v == "pyscope":
                        r = run_pyscope(py, argv, patterns, via, metric)
                    elif v == "floor":
                        r = run_floor(py, argv, via, metric)
                    else:
                        r = run_bpftrace(bpftrace_cmd(probes, py, argv), metric)
                    res[(v, size)].append(r)
        rows.append(summarize(label, name, via, variants, res, small, big, runs))
        rows[-1]["bpf"], rows[-1]["bpf_floor"] = bpf_cost(py, argv_of(big), patterns, via)
        print_row(rows[-1])
    return rows


def summarize(label, name, via, variants, res, small, big, runs):
    def t(v, s, i):
        return res[(v, s)][i]["t"]

    def ev(v, s, i):
        return res[(v, s)][i].get("events")

    row = {"python": label, "workload": name, "via": via, "runs": runs}
    row["untraced"] = med([t("untraced", big, i) for i in range(runs)])
    row["traced"] = med([t("pyscope", big, i) for i in range(runs)])
    row["floor_t"] = med([t("floor", big, i) for i in range(runs)])
    row["ratio"] = med([t("pyscope", big, i) / t("untraced", big, i) for i in range(runs)])
    row["events"] = med([ev("floor", big, i) for i in range(runs)])
    def best(v, s):
        return min(t(v, s, i) for i in range(runs))

    def cost_of(v):
        """ns per event from the fastest run of each (variant, size): interference on this
        shared machine only ever slows a run down, by up to 40% here."""
        src = "floor" if v == "pyscope" else v
        de = med([ev(src, big, i) - ev(src, small, i) for i in range(runs)])
        dt = (best(v, big) - best("untraced", big)) - (best(v, small) - best("untraced", small))
        return dt / de * 1e9 if de and de > 0 else None

    cost = {v: cost_of(v) for v in variants[1:]}
    ratio = (lambda a, b: a / b if a and b else None)
    row["cost"] = cost["pyscope"]
    row["cost_floor"] = cost["floor"]
    row["vs_floor"] = ratio(cost["pyscope"], cost["floor"])
    if "bpftrace" in cost:
        row["cost_bpftrace"] = cost["bpftrace"]
        row["vs_bpftrace"] = ratio(cost["pyscope"], cost["bpftrace"])
        row["events_bpftrace"] = med([ev("bpftrace", big, i) for i in range(runs)])
    row["metric"] = "cpu" if name in METRIC else "elapsed"
    row["p99_untraced"] = med([res[("untraced", big)][i].get("p99") for i in range(runs)])
    row["p99_traced"] = med([res[("pyscope", big)][i].get("p99") for i in range(runs)])
    row["armed"] = med([res[("pyscope", s)][i].get("armed") for s in (small, big)
                        for i in range(runs)])
    row["detach"] = med([res[("pyscope", s)][i].get("detach") for s in (small, big)
                         for i in range(runs)])
    row["detach_max"] = max(res[("pyscope", s)][i].get("detach") or 0 for s in (small, big)
                            for i in range(runs))
    row["rss"] = max(res[("pyscope", s)][i].get("rss") or 0 for s in (small, big)
                     for i in range(runs))
    return row


def fmt(v, f="%.0f"):
    return "-" if v is None else f % v


def print_row(r):
    print("%-14s %-6s %-6s untraced %.4fs traced %.4fs (%.1fx)  %s ns/event, floor %s, "
          "bpftrace %s -> %sx floor, %sx bpftrace  BPF ns/event %s, floor %s  armed %s ms  "
          "detach %s ms  rss %s KiB"
          % (r["python"], r["workload"], r["via"], r["untraced"], r["traced"], r["ratio"],
             fmt(r["cost"]), fmt(r["cost_floor"]), fmt(r.get("cost_bpftrace")),
             fmt(r["vs_floor"], "%.2f"), fmt(r.get("vs_bpftrace"), "%.2f"), fmt(r.get("bpf")),
             fmt(r.get("bpf_floor")), fmt(r["armed"]), fmt(r["detach"]), r["rss"]), flush=True)


TRAPCOST = os.path.join(ROOT, "build", "trapcost")
RESULTS = os.path.join(ROOT, "build", "bench-results.json")


def trap_cost(runs, n=100000):
    """What one uprobe hit costs on this machine, by bpftrace counting at a C function
    whose first instruction the kernel emulates (nop) or must single-step (lea)."""
    out = {}
    for kind in ("emulated", "stepped"):
        per = []
        for _ in range(runs):
            u = elapsed_of(run([TRAPCOST, kind, str(n)]).stderr)
            r = run(["bpftrace", "-e", "uprobe:%s:trap_%s { @ = count(); }" % (TRAPCOST, kind),
                     "-c", "%s %s %d" % (TRAPCOST, kind, n)])
            hits = sum(int(m) for m in re.findall(r"^@: (\d+)$", r.stdout, re.M))
            if hits != n:
                raise RuntimeError("bpftrace counted %d of %d hits" % (hits, n))
            per.append((elapsed_of(r.stderr + r.stdout) - u) / n * 1e9)
        out[kind] = med(per)
    print("trap: uprobe hit %.0f ns emulated, %.0f ns single-stepped"
          % (out["emulated"], out["stepped"]), flush=True)
    return out


def collector(runs):
    """psbench flood: records/s per consumer core, loss, RSS at 1M and 10M records."""
    out = []
    for desc, args in (("aggregate records only (736 B)", []),
                       ("1 code record (4.7 KiB) in 16, 4096 distinct code objects",
                        ["--code-every", "16", "--codes", "4096"]),
                       ("1 code record in 4, 16384 distinct code objects (2 per aggregate id)",
                        ["--code-every", "4", "--codes", "16384"])):
        reps = [json.loads(run([PSBENCH, "flood", "-n", "10000000"] + args).stdout)
                for _ in range(runs)]
        r = {k: med([x[k] for x in reps]) for k in reps[0] if isinstance(reps[0][k], (int, float))}
        r["lost"] = max(x["lost"] for x in reps)
        r["desc"] = desc
        print("collector: %-70s %.2fM records/s per core, lost %d, RSS %d / %d KiB at 1M / 10M"
              % (desc, r["events_per_cpu_s"] / 1e6, r["lost"], r["rss_kib_1M"],
                 r["rss_kib_10M"]), flush=True)
        out.append(r)
    return out


def report_calls(path):
    with open(path) as f:
        return sum(p["count"] for p in json.load(f)["patterns"])


def extras(runs, flt):
    """Costs beyond the probe points: call-path capture per pattern hit (--paths),
    profiling at 99 Hz, and breakpoints (a never-called target; a hit)."""
    rows = []
    picks = [(l, py) for l, py in interpreters()
             if l.startswith(("3.8", "3.11 (Debian)", "3.13")) and flt in l]
    for label, py in picks:
        info = json.loads(run([PYSCOPE, "info", "--format", "json", "--", py, "-c", "pass"]).stdout)
        ctor = ["micro_ctor.py", "50"]
        calls = ["micro_calls.py", "22"]
        pat_ctor = os.path.join(APPS, "micro_ctor.json")
        pat_calls = os.path.join(APPS, "micro_calls.json")
        tmp = tempfile.mkdtemp(prefix="bench-")
        out = os.path.join(tmp, "r.json")
        res = {k: [] for k in ("u_ctor", "plain", "paths", "u_calls", "trace", "prof", "n_ctor",
                               "sampled", "u_calls2")}
        for _ in range(runs):
            res["u_ctor"].append(run_untraced(py, ctor)["t"])
            r = run([ARGS.pyscope, "trace", "-f", pat_ctor, "--format", "json", "--force",
                     "-o", out, "--", py] + ctor)
            res["plain"].append(elapsed_of(r.stderr))
            res["n_ctor"].append(report_calls(out))
            r = run([ARGS.pyscope, "trace", "--paths", "-f", pat_ctor, "--format", "json",
                     "--force", "-o", out, "--", py] + ctor)
            res["paths"].append(elapsed_of(r.stderr))
            res["u_calls"].append(run_untraced(py, calls)["t"])
            r = run([ARGS.pyscope, "trace", "-f", pat_calls, "--force", "-o", SCRATCH, "--", py] + calls)
            res["trace"].append(elapsed_of(r.stderr))
            r = run([ARGS.pyscope, "profile", "-F", "99", "-f", pat_calls, "--force", "-o", SCRATCH,
                     "--", py] + calls)
            res["prof"].append(elapsed_of(r.stderr))
            res["u_calls2"].append(run_untraced(py, FIB)["t"])
            r = run([ARGS.pyscope, "profile", "--sampled", "-F", "99", "-e", "fib=__main__:fib",
                     "--force", "-o", SCRATCH, "--", py] + FIB)
            res["sampled"].append(elapsed_of(r.stderr))
        row = {"python": label, "calls": med(res["n_ctor"])}
        row["paths_ns"] = med([(b - a) / n * 1e9 for a, b, n in
                               zip(res["plain"], res["paths"], res["n_ctor"])])
        row["paths_ratio"] = med([b / a for a, b in zip(res["plain"], res["paths"])])
        row["prof_ratio"] = med([b / a for a, b in zip(res["u_calls"], res["prof"])])
        row["prof_vs_trace"] = med([b / a for a, b in zip(res["trace"], res["prof"])])
        for _ in range(IDLE_PAIRS - runs):
            res["u_calls2"].append(run_untraced(py, FIB)["t"])
            r = run([ARGS.pyscope, "profile", "--sampled", "-F", "99", "-e", "fib=__main__:fib",
                     "--force", "-o", SCRATCH, "--", py] + FIB)
            res["sampled"].append(elapsed_of(r.stderr))
        row["sampled_ratio"] = med([b / a for a, b in zip(res["u_calls2"], res["sampled"])])
        row["sampled_best"] = min(res["sampled"]) / min(res["u_calls2"])
        row["sampled_pairs"] = len(res["sampled"])
        bp = info["mechanisms"]["breakpoint"]
        # A never-called target needs no hit: where hits never arrive, its idle cost is
        # still measured, with the self-test skipped (PYSCOPE_HWBP_UNCHECKED=1).
        env = dict(os.environ)
        if not bp["available"]:
            env["PYSCOPE_HWBP_UNCHECKED"] = "1"
            row["bp_why"] = bp["why"]
        idle, hit, idle_u, idle_t = [], [], [], []
        # a 2% effect under this machine's noise (single runs vary by up to 40%) needs
        # more pairs than the other columns
        for k in range(max(runs, IDLE_PAIRS)):
            u = run_untraced(py, BP_IDLE)["t"]
            r = run([ARGS.pyscope, "trace", "--via", "breakpoint", "-e",
                     "never=os:get_exec_path", "--force", "-o", SCRATCH, "--", py] + BP_IDLE,
                    env=env)
            idle.append(elapsed_of(r.stderr) / u)
            idle_u.append(u)
            idle_t.append(elapsed_of(r.stderr))
            if not bp["available"] or k >= runs:
                continue
            u = run_untraced(py, ctor)["t"]
            r = run([ARGS.pyscope, "trace", "--via", "breakpoint", "--count-only", "-f",
                     pat_ctor, "--format", "json", "--force", "-o", out, "--", py] + ctor)
            hit.append((elapsed_of(r.stderr) - u) / report_calls(out) * 1e9)
        row["bp_idle"] = med(idle)
        row["bp_idle_best"] = min(idle_t) / min(idle_u)
        row["idle_pairs"] = len(idle)
        row["bp_hit_ns"] = med(hit)
        print("extras: %-14s paths +%.0f ns/hit (%.2fx)  profile 99 Hz %.2fx untraced, %.2fx "
              "trace, --sampled %.3fx untraced  breakpoint %s"
              % (label, row["paths_ns"], row["paths_ratio"], row["prof_ratio"],
                 row["prof_vs_trace"], row["sampled_ratio"],
                                        "idle %.3fx, %s ns/hit" % (row["bp_idle"],
                                                                   fmt(row["bp_hit_ns"]))),
              flush=True)
        rows.append(row)
    return rows


def recording(runs):
    """Trace files: pyscope record of the demo (bytes/event, ratio), the writer's work
    per record (psbench tfwrite over that run's records), pyscope report's replay time."""
    py = dict(interpreters()).get("3.12.1") or interpreters()[-1][1]
    reps = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            trace = os.path.join(tmp, "demo%d.pstrace" % i)
            r = run([ARGS.pyscope, "record", "-o", trace, "--paths", "-f",
                     os.path.join(APPS, "chatdemo/patterns.json"), "--", py, "-m", "chatdemo",
                     "--requests", "400", "--mode", "mixed", "--seed", "1"])
            m = re.search(r"recorded (\d+) event\(s\) \(\d+ records\) in (\d+) chunk\(s\), (\d+) bytes "
                          r"\(([\d.]+)x compressed\)", r.stderr)
            if not m:
                print("record failed: %s" % r.stderr[-300:])
                return None
            t0 = time.time()
            rr = run([ARGS.pyscope, "report", trace, "--format", "json"])
            t_report = time.time() - t0
            if rr.returncode:
                print("report failed: %s" % rr.stderr[-300:])
                return None
            w = json.loads(run([PSBENCH, "tfwrite", "-i", trace, "-o", os.path.join(tmp, "w"),
                                "-n", "1000000"]).stdout)
            reps.append({"events": int(m.group(1)), "chunks": int(m.group(2)),
                         "bytes": int(m.group(3)), "ratio": float(m.group(4)),
                         "report_s": t_report, "w_rate": w["records_per_cpu_s"],
                         "w_bpr": w["bytes_per_record"], "w_ratio": w["ratio"]})
    r = {k: med([x[k] for x in reps]) for k in reps[0]}
    r["python"] = os.path.basename(os.path.dirname(os.path.dirname(py)))
    r["bpe"] = r["bytes"] / r["events"]
    print("record: demo 400 requests on %s: %d events, %d chunks, %d bytes (%.1f B/event, "
          "%.1fx compressed); report %.3fs; writer %.0fk records/s per core (%.1f B/record, "
          "%.1fx)" % (r["python"], r["events"], r["chunks"], r["bytes"], r["bpe"], r["ratio"],
                      r["report_s"], r["w_rate"] / 1e3, r["w_bpr"], r["w_ratio"]), flush=True)
    return r


def cpu_of(text):
    return reported(text, "cpu")


def rules_cost(runs):
    """The cost of one rule record: micro_rules.py under pyscope check with its rule
    and with the same pattern and no rule, the target's CPU time at two sizes (the
    BPF programs run as its system time); and the rule engine alone (unit test)."""
    its = interpreters()
    label, py = ([x for x in its if "Debian" in x[0]] or its)[0]
    rules_file = os.path.join(APPS, "micro_rules.json")
    with open(rules_file) as f:
        doc = json.load(f)
    del doc["rules"]
    doc["patterns"].append({"name": "never", "function": "__main__:never_called",
                            "forbid": True})
    tmp = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(doc, tmp)
    tmp.close()
    small, big = 50000, 250000
    res = {(v, n): [] for v in ("plain", "rules") for n in (small, big)}

    def one(pats, n):
        r = subprocess.run([ARGS.pyscope, "check", "-f", pats, "--", py, "micro_rules.py",
                            str(n)], cwd=APPS, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
        if r.returncode != 0:
            raise RuntimeError("check failed (%d): %s" % (r.returncode, r.stderr[-400:]))
        return cpu_of(r.stderr)
    try:
        for _ in range(runs):
            for n in (small, big):
                res[("plain", n)].append(one(tmp.name, n))
                res[("rules", n)].append(one(rules_file, n))
    finally:
        os.unlink(tmp.name)
    per = {v: (med(res[(v, big)]) - med(res[(v, small)])) / (big - small) * 1e9
           for v in ("plain", "rules")}
    out = {"python": label, "small": small, "big": big, "call_plain": per["plain"],
           "call_rules": per["rules"], "ns_record": per["rules"] - per["plain"]}
    unit = os.path.join(ROOT, "build", "tests", "test_rules")
    if os.access(unit, os.X_OK):
        m = re.search(r"rules: ([0-9.]+) ns per call", subprocess.run(
            [unit], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            universal_newlines=True).stdout)
        out["engine_ns"] = float(m.group(1)) if m else None
    print("rules: %s: a traced call costs the target %.0f ns of CPU without a rule, %.0f ns "
          "with one (+%.0f ns per record); the rule engine alone %s ns per call (pyscope's CPU)"
          % (label, out["call_plain"], out["call_rules"], out["ns_record"],
             fmt(out.get("engine_ns"), "%.1f")), flush=True)
    return out


def span(vals, f):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "not measured"
    return (f % min(vals)) + ("" if min(vals) == max(vals) else "-" + (f % max(vals)))


def targets(rows, coll, ext):
    """The issue's targets against what this run achieved."""
    vs_bt = [r.get("vs_bpftrace") for r in rows]
    vs_fl = [r["vs_floor"] for r in rows]
    return ["", "## Targets", "",
            "| target | achieved in this run |", "|---|---|",
            "| per-event cost <= 1.3x the bpftrace floor | %s bpftrace where it can attach; %s "
            "the psbench floor (every row) |" % (span(vs_bt, "%.2fx"), span(vs_fl, "%.2fx")),
            "| breakpoint mode, never-hit target: within 2%% of untraced (call-heavy) | %s "
            "untraced (median of %d pairs per interpreter); best of each side %s |"
            % (span([e.get("bp_idle") for e in ext], "%.3fx"), IDLE_PAIRS,
               span([e.get("bp_idle_best") for e in ext], "%.3fx")),
            "| collector >= 2M events/s per core, no loss | %s records/s per core, %s lost |"
            % (span([c["events_per_cpu_s"] / 1e6 for c in coll], "%.1fM"),
               span([c["lost"] for c in coll], "%d")),
            "| RSS < 64 MiB at 10M events | %s |"
            % span([c["rss_kib_10M"] / 1024.0 for c in coll], "%.1f MiB"),
            "| attach < 300 ms | %s (median per row) |" % span([r["armed"] for r in rows], "%.0f ms"),
            "| detach < 100 ms | %s (median per row), worst single run %s |"
            % (span([r["detach"] for r in rows], "%.0f ms"),
               span([max(r["detach_max"] for r in rows)] if rows else [], "%.0f ms"))]


def write_doc(rows, coll, args, ext, rec=None, rc=None, trap=None, date=None, kernel=None):
    kernel = kernel or os.uname().release
    L = [
        "# Benchmarks",
        "",
        "Produced by `make bench` (`%s`) on %s, kernel %s, %d CPUs (a virtual machine)."
        % ("tools/bench.py --runs %d" % args.runs, date or time.strftime("%Y-%m-%d"), kernel,
           os.cpu_count()),
        "Load average when it started: %.2f (the machine is shared; other work adds noise)."
        % args.load,
        "Every number is a median over %d rounds; each round runs every variant at both sizes,"
        % args.runs,
        "back to back (paired, interleaved).  Times are the workload's own elapsed time.",
        "",
    ]
    if trap:
        L += ["**The probe-cost floor of this machine.**  One uprobe hit (trap, BPF program, "
              "return) cost %.1f us here when the kernel emulates the probed instruction and "
              "%.1f us when it must single-step it (`build/trapcost`: bpftrace counting "
              "100000 calls of a C function that starts with `nop` or with `lea`; median of "
              "3).  That is several times what ../shared/design/probe-points.md measured on "
              "an earlier kernel of this VM (0.75 / 9.6 us), so every traced/untraced ratio "
              "below is dominated by the trap itself; what pyscope adds on top is the "
              "*ns/event* minus the *floor*, and the *BPF ns/event* columns."
              % (trap["emulated"] / 1000, trap["stepped"] / 1000), ""]
    L += [
        "- *traced/untraced*: slowdown of the big size under pyscope (median of the rounds'",
        "  ratios).",
        "- *ns/event*: marginal cost of one probe hit, from the two sizes:",
        "  ((T_traced - T_untraced)_big - (..)_small) / (events_big - events_small),",
        "  events = probe hits counted by the floor at the same probe points, each T the",
        "  fastest of the rounds for that variant and size (interference on this shared",
        "  machine only slows runs down, single runs by up to 40%, and a median of 5",
        "  differences of noisy times still moved a row by 30%).",
        "- *floor*: `psbench floor`, a BPF program that only counts (`/pid == N/ { @[probe] =",
        "  count(); }`), at pyscope's probe points, attached as pyscope attaches.",
        "- *bpftrace*: the same one-liner run by bpftrace 0.17, where it can attach at those",
        "  addresses: this build (no bfd) refuses any address inside a symbol but its start,",
        "  so it cannot probe the RESUME handlers of the shared libpython builds; on the",
        "  non-PIE Debian binary it takes them as file offsets.  `-`: not possible.",
        "- *vs floor*, *vs bpftrace*: pyscope's ns/event over theirs, the issue's target (<= 1.3x).",
        "- *BPF ns/event*: the time the BPF programs themselves ran, per event, from the",
        "  kernel's own statistics (`kernel.bpf_stats_enabled=1`, the lowest of 3 extra runs of",
        "  the big size outside the timed rounds): pyscope's programs (every one, frame ends and",
        "  deallocations too) and the floor's.  Noise-free, and it isolates what pyscope's",
        "  programs cost from the trap; the statistics add two clock reads per run to both.",
        "- *armed*: launch to probes attached (interpreter model, BPF load, attach);",
        "  *detach*: removing every probe (median, max); *RSS*: pyscope's peak.",
        "",
        "Workloads (small / big size):",
        "",
    ]
    for name, argv_of, small, big, pats, desc in WORKLOADS:
        L.append("- `%s`: %s (`%s`, N = %d / %d; patterns `%s`)"
                 % (name, desc, " ".join(argv_of("N")), small, big, pats))
    L += ["",
          "| python | workload | via | untraced | traced | traced/untraced | events | ns/event "
          "| floor ns/event | bpftrace ns/event | vs floor | vs bpftrace | BPF ns/event "
          "(pyscope / floor) | armed | detach (max) | RSS |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        unit = "s cpu" if r.get("metric") == "cpu" else "s"
        L.append("| %s | %s | %s | %.4f%s | %.4f%s | %.2fx | %s | %s | %s | %s | %s | %s | %s / %s "
                 "| %s ms | %s (%s) ms | %.1f MiB |"
                 % (r["python"], r["workload"], r["via"], r["untraced"], unit, r["traced"], unit,
                    r["ratio"],
                    fmt(r["events"]), fmt(r["cost"]), fmt(r["cost_floor"]),
                    fmt(r.get("cost_bpftrace")), fmt(r["vs_floor"], "%.2fx"),
                    fmt(r.get("vs_bpftrace"), "%.2fx"), fmt(r.get("bpf")),
                    fmt(r.get("bpf_floor")), fmt(r["armed"]), fmt(r["detach"]),
                    fmt(r["detach_max"]), r["rss"] / 1024.0))
    lat = [r for r in rows if r.get("p99_untraced") is not None]
    if lat:
        L += ["", "The fixed-rate demo's request latency (from when each request was due to its "
              "end), p99 of the big size, untraced -> traced: " +
              "; ".join("%s %.1f -> %.1f ms" % (r["python"], r["p99_untraced"], r["p99_traced"])
                        for r in lat) + "."]
    L += ["", "## Collector", "",
          "`psbench flood -n 10000000`: a BPF program fills a ring buffer like pyscope's (8 MiB)",
          "as fast as it can (retrying when it is full, so nothing is dropped) from one CPU;",
          "the other CPU consumes it with pyscope's collector loop (poll, `ring_buffer__consume`,",
          "`model__add_record`).  Records/s are per second of the consumer thread's CPU time.",
          "",
          "| records | records/s per core | records/s (wall) | lost | RSS at 1M | RSS at 10M |",
          "|---|---|---|---|---|---|"]
    for c in coll:
        L.append("| %s | %.2fM | %.2fM | %d | %.1f MiB | %.1f MiB |"
                 % (c["desc"], c["events_per_cpu_s"] / 1e6, c["events_per_wall_s"] / 1e6,
                    c["lost"], c["rss_kib_1M"] / 1024.0, c["rss_kib_10M"] / 1024.0))
    L += ["", "## Call paths, profiling, breakpoints", "",
          "Median of %d paired runs each.  *paths*: `trace --paths` vs `trace` on `ctor` (big),"
          % args.runs,
          "extra ns per pattern hit = (T_paths - T_plain) / pattern calls.  *profile*:",
          "`profile -F 99` on `calls` (big), against untraced and against `trace` with the same",
          "patterns: a sample needs the pattern's call window, so profile pays the frame",
          "start/return probes of `trace` plus the samples.  *--sampled*: `profile --sampled",
          "-F 99`, where each sample finds its pattern call on the stack: no call probes, so",
          "only the samples cost; measured on `%s` (fib(32), 7 million calls, long enough"
          % " ".join(FIB),
          "to show 1-2%), paired with its own untraced runs.  *breakpoint*: `--via breakpoint`",
          "on a never-called target (`os:get_exec_path`) on `%s` (call-heavy, long"
          % " ".join(BP_IDLE),
          "enough for a 2% difference to show), and the cost per hit on `ctor` with",
          "`--count-only`.  Single runs here vary by up to 40% (the machine is shared), so the",
          "--sampled and idle-breakpoint columns are medians of the ratios of %d pairs, and"
          % IDLE_PAIRS,
          "*best* is the fastest traced run over the fastest untraced one (interference only",
          "ever slows a run down).",
          "",
          "| python | pattern calls | paths ns/hit | paths/plain | profile/untraced | "
          "profile/trace | profile --sampled/untraced | breakpoint idle | breakpoint ns/hit |",
          "|---|---|---|---|---|---|---|---|---|"]
    for e in ext:
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |"
                 % (e["python"], fmt(e["calls"]), fmt(e["paths_ns"]),
                    fmt(e["paths_ratio"], "%.2fx"), fmt(e["prof_ratio"], "%.2fx"),
                    fmt(e["prof_vs_trace"], "%.2fx"),
                    "%s (best %s)" % (fmt(e["sampled_ratio"], "%.3fx"),
                                      fmt(e.get("sampled_best"), "%.3fx")),
                    "%s (best %s)" % (fmt(e.get("bp_idle"), "%.3fx"),
                                      fmt(e.get("bp_idle_best"), "%.3fx")),
                    fmt(e.get("bp_hit_ns")) if e.get("bp_hit_ns") else "n/a"))
    whys = sorted({e["bp_why"] for e in ext if "bp_why" in e})
    for w in whys:
        L += ["", "Breakpoint hits not measured here: %s.  The idle column needs no hit (the "
              "target is never called), so it was measured with the self-test skipped "
              "(`PYSCOPE_HWBP_UNCHECKED=1`): the debug registers are programmed as usual, "
              "and the frame-end probe waits for a first hit that never comes." % w]
    if ext:
        L += ["", "In breakpoint mode on a never-called target no pyscope probe fires while the "
              "workload runs: only the code and type deallocation probes are attached (e2e "
              "bp-idle checks it), and on Debian 3.11 they ran 4283 times in the whole run, at "
              "start-up and exit, outside the timed window.  What is left of the idle column "
              "is this machine's noise: single pairs ranged from 0.86x to 1.39x, and the same "
              "11-pair measurement run on its own (`tools/bench.py --extras-only`) gave medians "
              "of 1.001x-1.011x."]
    if rec:
        L += ["", "## Trace files", "",
              "`pyscope record --paths -f chatdemo/patterns.json` of the demo (400 requests) on "
              "%s, then `pyscope report --format json` of the file, and `psbench tfwrite`: the "
              "writer thread's work (64 KiB chunks, zlib level 6, CRC-32, write) on 1M records "
              "taken in turn from that file, on one core." % rec["python"],
              "",
              "| events | chunks | file | bytes/event | compression | report (replay) | "
              "writer records/s per core | writer bytes/record |",
              "|---|---|---|---|---|---|---|---|",
              "| %d | %d | %.1f KiB | %.1f | %.1fx | %.3fs | %.0fk | %.1f |"
              % (rec["events"], rec["chunks"], rec["bytes"] / 1024.0, rec["bpe"], rec["ratio"],
                 rec["report_s"], rec["w_rate"] / 1e3, rec["w_bpr"])]
    if rc:
        L += ["", "## Rules (pyscope check)", "",
              "`tests/apps/micro_rules.py N` (N calls of a function whose `run_id` argument",
              "changes every 5 calls) under `pyscope check` with `micro_rules.json` (a sequence",
              "rule keyed by `run_id`: one record per call) and with the same pattern and no",
              "rule, N = %d / %d, %s.  Costs are the target's CPU time per call (user +"
              % (rc["small"], rc["big"], rc["python"]),
              "system: the BPF programs run as its system time), from the two sizes; the",
              "rule engine's cost is pyscope's, on synthetic calls (`build/tests/test_rules`).",
              "",
              "| python | ns/call, no rule | ns/call, with rule | ns/record | engine ns/call |",
              "|---|---|---|---|---|",
              "| %s | %.0f | %.0f | %.0f | %s |"
              % (rc["python"], rc["call_plain"], rc["call_rules"], rc["ns_record"],
                 fmt(rc.get("engine_ns"), "%.1f"))]
    L += targets(rows, coll, ext)
    with open(os.path.join(ROOT, "docs", "BENCHMARKS.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    print("wrote docs/BENCHMARKS.md")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("-k", dest="filter", default="")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--no-bpftrace", action="store_true")
    ap.add_argument("--no-collector", action="store_true")
    ap.add_argument("--no-extras", action="store_true")
    ap.add_argument("--record-only", action="store_true",
                    help="only the trace-file measurements, printed")
    ap.add_argument("--no-rules", action="store_true")
    ap.add_argument("--rules-only", action="store_true",
                    help="only the rules row, printed (not written)")
    ap.add_argument("--extras-only", action="store_true",
                    help="run the extras again, into the results file of the last run")
    ap.add_argument("--doc-from", metavar="FILE",
                    help="write docs/BENCHMARKS.md from a results file of an earlier run")
    ap.add_argument("--pyscope", default=PYSCOPE,
                    help="the pyscope to measure (e.g. an older build, with --no-write)")
    args = ap.parse_args()
    ARGS.pyscope = args.pyscope
    args.load = os.getloadavg()[0]
    if not os.path.isdir("/sys/kernel/tracing/events"):
        # bpftrace needs tracefs, which a fresh machine does not mount
        subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"])
    if args.record_only:
        return 0 if recording(args.runs) else 1
    if args.rules_only:
        rules_cost(args.runs)
        return 0
    if args.doc_from:
        with open(args.doc_from) as f:
            saved = json.load(f)
        args.runs, args.load = saved["runs"], saved["load"]
        write_doc(saved["rows"], saved["coll"], args, saved["ext"], saved["rec"], saved["rc"],
                  saved["trap"], saved["date"], saved["kernel"])
        return 0
    if args.extras_only:
        with open(RESULTS) as f:
            saved = json.load(f)
        saved["ext"] = extras(args.runs, args.filter)
        with open(RESULTS, "w") as f:
            json.dump(saved, f, indent=1)
        print("results: %s (extras replaced)" % RESULTS)
        return 0
    trap = None if args.no_bpftrace else trap_cost(3)
    rows = []
    for label, py in interpreters():
        for wl in WORKLOADS:
            if args.filter not in "%s/%s" % (label, wl[0]):
                continue
            rows += bench_one(label, py, wl, args.runs, not args.no_bpftrace)
    coll = [] if args.no_collector else collector(max(1, args.runs // 2))
    ext = [] if args.no_extras else extras(args.runs, args.filter)
    rec = recording(max(1, args.runs // 2))
    rc = None if args.no_rules or args.filter else rules_cost(args.runs)
    saved = {"runs": args.runs, "load": args.load, "rows": rows, "coll": coll, "ext": ext,
             "rec": rec, "rc": rc, "trap": trap, "date": time.strftime("%Y-%m-%d"),
             "kernel": os.uname().release}
    with open(RESULTS, "w") as f:
        json.dump(saved, f, indent=1)
    print("results: %s" % RESULTS)
    if args.no_write or args.filter:
        return 0
    write_doc(rows, coll, args, ext, rec, rc, trap, saved["date"], saved["kernel"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
