"""chatdemo workload: python -m chatdemo [--requests N] [--legacy-share F]
[--concurrency C] [--mode threads|asyncio|mixed] [--seed S] [--expect FILE]
[--linger SECONDS] [--fault-drop N] [--fault-swap N] [--fault-never N]
[--fault-reuse N] [--faults FILE] [--rate R]

The request mix is drawn from a seeded generator per request, so the counts of
every pattern are known in advance; --expect writes them as JSON.  The
--fault-* flags break the golden path of N seeded requests each (a dropped
agent_thinking, agent_thinking before agent_started, no agent_completed, an
engine handed on to another user); --faults writes which runs and users, the
violations tests/apps/chatdemo/rules.json must find.

--rate R serves the requests at a fixed rate (an open loop: request i is due
i / R seconds after the start, however slow the server is), for
benchmarks: the time a run takes is then set by the rate, and what tracing
costs shows in the CPU time ("cpu:") and the request latency from when each
request was due ("latency_ms:").
"""
import argparse
import asyncio
import json
import os
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from . import server

LEGACY_KINDS = ("legacy_a", "legacy_b", "legacy_bridge")
MODERN_KINDS = ("modern_pos", "modern_kw", "modern_factory", "consolidated")


def plan(n, legacy_share, seed):
    reqs = []
    for i in range(n):
        rng = random.Random(seed * 1000003 + i)
        if rng.random() < legacy_share:
            kind = rng.choice(LEGACY_KINDS)
        else:
            kind = rng.choice(MODERN_KINDS)
        reqs.append({
            "kind": kind,
            "user": "user%d" % rng.randrange(50),
            "run": "run%d" % i,
            "message": "message %d for %s" % (i, kind),
            "ntools": 1 + i % 3,
        })
    return reqs


FAULTS = ("drop", "swap", "never", "reuse")


def inject(reqs, counts, seed):
    """Give counts[f] distinct seeded requests fault f; returns the ground truth."""
    total = sum(counts.values())
    if total > len(reqs):
        raise SystemExit("chatdemo: more faults than requests")
    picks = random.Random(seed * 7919 + 1).sample(range(len(reqs)), total)
    truth = {"missing": [], "order": [], "incomplete": [], "isolation": []}
    kind_of = {"drop": "missing", "swap": "order", "never": "incomplete"}
    for f in FAULTS:
        for _ in range(counts[f]):
            r = reqs[picks.pop()]
            if f == "reuse":
                r["reuse_user"] = "user%d" % ((int(r["user"][4:]) + 1) % 50)
                truth["isolation"].append([r["user"], r["reuse_user"]])
            else:
                r["fault"] = f
                truth[kind_of[f]].append(r["run"])
    for v in truth.values():
        v.sort()
    return truth


def expected(reqs):
    by = {}
    for r in reqs:
        by[r["kind"]] = by.get(r["kind"], 0) + 1
    g = by.get
    reused = [r for r in reqs if r.get("reuse_user")]
    faults = [r.get("fault") for r in reqs]
    runs = len(reqs) + len(reused)
    tools = sum(r["ntools"] for r in reqs) + sum(r["ntools"] for r in reused)
    return {
        "legacy_construct": g("legacy_a", 0) + g("legacy_b", 0) + g("legacy_bridge", 0),
        "modern_positional": g("modern_pos", 0) + g("modern_factory", 0) + g("consolidated", 0),
        "modern_keyword": g("modern_kw", 0),
        "engine_construct": len(reqs),
        "create_from_legacy": g("legacy_bridge", 0),
        "create_execution_engine": g("modern_factory", 0),
        "consolidated_engine": g("consolidated", 0),
        "execute_agent": runs,
        "emit_agent_started": runs,
        "emit_agent_thinking": runs - faults.count("drop"),
        "emit_tool_executing": tools,
        "emit_tool_completed": tools,
        "emit_agent_completed": runs - faults.count("never"),
        "lookup_tool": tools,
    }


class Pace:
    """--rate: when each request is due, and how late each one finished."""

    def __init__(self, rate):
        self.rate = rate
        self.t0 = time.monotonic()
        self.lat = []
        self.lock = threading.Lock()

    def due(self, req):
        return self.t0 + req["seq"] / self.rate

    def done(self, due):
        with self.lock:
            self.lat.append(time.monotonic() - due)

    def summary(self):
        v = sorted(self.lat)
        q = lambda f: v[min(len(v) - 1, int(f * len(v)))] * 1e3
        return "latency_ms: p50 %.2f p99 %.2f max %.2f" % (q(0.5), q(0.99), v[-1] * 1e3)


def run_threads(reqs, concurrency, pace=None):
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        if not pace:
            for _ in pool.map(server.serve_request_thread, reqs):
                pass
            return

        def one(req, due):
            server.serve_request_thread(req)
            pace.done(due)

        futs = []
        for r in reqs:
            due = pace.due(r)
            time.sleep(max(0.0, due - time.monotonic()))
            futs.append(pool.submit(one, r, due))
        for f in futs:
            f.result()


async def run_asyncio(reqs, concurrency, pace=None):
    sem = asyncio.Semaphore(concurrency)

    async def one(req):
        if pace:
            due = pace.due(req)
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        async with sem:
            r = await server.serve_request_async(req)
        if pace:
            pace.done(due)
        return r

    await asyncio.gather(*(one(r) for r in reqs))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="chatdemo")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--legacy-share", type=float, default=0.3)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--mode", choices=("threads", "asyncio", "mixed"), default="mixed")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--expect", help="write the expected pattern counts here (JSON)")
    ap.add_argument("--waited", help="write how long the injected waits took here (JSON)")
    ap.add_argument("--linger", type=float, default=0.0,
                    help="sleep this long before starting (to attach with -p)")
    ap.add_argument("--ready-file", help="create this file once ready to serve")
    ap.add_argument("--wait-file", help="wait until this file exists before serving")
    ap.add_argument("--legacy-cpu-ms", type=float, default=0.0,
                    help="CPU time each legacy construction burns (in _scan_registry)")
    ap.add_argument("--legacy-wait-ms", type=float, default=0.0,
                    help="time each legacy construction blocks (in legacy_bridge_handshake)")
    for f in FAULTS:
        ap.add_argument("--fault-" + f, type=int, default=0, metavar="N",
                        help="inject this fault into N requests")
    ap.add_argument("--faults", help="write the injected faults here (JSON)")
    ap.add_argument("--rate", type=float, default=0.0,
                    help="serve the requests at this many per second (default: at once)")
    args = ap.parse_args(argv)

    from .context import LEGACY_COST
    LEGACY_COST["cpu_ms"] = args.legacy_cpu_ms
    LEGACY_COST["wait_ms"] = args.legacy_wait_ms
    reqs = plan(args.requests, args.legacy_share, args.seed)
    truth = inject(reqs, {f: getattr(args, "fault_" + f) for f in FAULTS}, args.seed)
    if args.faults:
        with open(args.faults, "w") as f:
            json.dump(truth, f, indent=1, sort_keys=True)
    if any(truth.values()):
        print("chatdemo: injected faults: %s" % "; ".join(
            "%s=%d %s" % (k, len(v), " ".join(x if isinstance(x, str) else "/".join(x)
                                             for x in v))
            for k, v in sorted(truth.items()) if v), file=sys.stderr)
    if args.expect:
        with open(args.expect, "w") as f:
            json.dump(expected(reqs), f, indent=1, sort_keys=True)
    if args.ready_file:
        open(args.ready_file, "w").close()
    if args.linger:
        time.sleep(args.linger)
    while args.wait_file and not os.path.exists(args.wait_file):
        time.sleep(0.01)
    for i, r in enumerate(reqs):
        r["seq"] = i
    t0 = time.time()
    c0 = time.process_time()
    pace = Pace(args.rate) if args.rate > 0 else None
    if args.mode == "threads":
        run_threads(reqs, args.concurrency, pace)
    elif args.mode == "asyncio":
        asyncio.run(run_asyncio(reqs, args.concurrency, pace))
    else:
        # at a fixed rate both halves must run side by side: alternate requests
        first, second = (reqs[0::2], reqs[1::2]) if pace else (reqs[:len(reqs) // 2],
                                                               reqs[len(reqs) // 2:])
        t = threading.Thread(target=run_threads, args=(first, args.concurrency, pace))
        t.start()
        asyncio.run(run_asyncio(second, args.concurrency, pace))
        t.join()
    dt = time.time() - t0
    cpu = time.process_time() - c0
    print("chatdemo: served %d requests in %.3fs (%d events sent)\nelapsed: %.6f\ncpu: %.6f"
          % (len(reqs), dt, len(server.BRIDGE.sent), dt, cpu), file=sys.stderr)
    if pace:
        print(pace.summary(), file=sys.stderr)
    if args.waited:
        from .context import WAITED
        with open(args.waited, "w") as f:
            json.dump({"waited_ms": WAITED["ns"] / 1e6}, f)


if __name__ == "__main__":
    main()
