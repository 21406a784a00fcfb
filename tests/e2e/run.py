#!/usr/bin/env python3
"""End-to-end tests: pyscope under real BPF against real interpreters.

Every count pyscope reports is compared with the in-process oracle
(tests/apps/oracle.py) running the same workload, and, for the demo, with the
counts the app itself expects.  Usage:

    tests/e2e/run.py [-k SUBSTRING] [--pyscope PATH] [--jobs N]

Prints one line per test (PASS/FAIL/SKIP) and ends with
"e2e: N passed, N failed, N skipped".
"""
import argparse
import concurrent.futures
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APPS = os.path.join(ROOT, "tests", "apps")
DEMO_PATTERNS = os.path.join(APPS, "chatdemo", "patterns.json")
ORACLE = os.path.join(APPS, "oracle.py")


class Skip(Exception):
    pass


class Fail(Exception):
    pass


def interpreters():
    """Every interpreter the project supports on this machine: (label, path)."""
    found = []
    for d in sorted(glob.glob("/root/.pyenv/versions/3.*")):
        ver = os.path.basename(d)
        parts = ver.split(".")
        if len(parts) < 2 or not parts[1].isdigit() or int(parts[1]) < 8:
            continue
        py = os.path.join(d, "bin", "python3")
        if os.access(py, os.X_OK):
            found.append(("py" + ver, py))
    if os.access("/usr/bin/python3.11", os.X_OK):
        found.append(("debian3.11", "/usr/bin/python3.11"))
    found.sort(key=lambda x: [int(p) if p.isdigit() else 0 for p in x[0][2:].split(".")])
    return found


def wait_armed(proc, timeout=60):
    """Read pyscope's stderr until it says it is tracing; kill it and fail if it
    exits or takes too long.  Returns the lines read (warnings included)."""
    import select
    lines = []
    deadline = time.time() + timeout
    while True:
        left = deadline - time.time()
        if left <= 0:
            proc.kill()
            raise Fail("pyscope did not arm in %ds: %s" % (timeout, "".join(lines)[-500:]))
        ready, _, _ = select.select([proc.stderr], [], [], left)
        if not ready:
            continue
        line = proc.stderr.readline()
        if not line:
            proc.wait()
            raise Fail("pyscope exited %s before arming: %s" % (proc.returncode, "".join(lines)[-500:]))
        lines.append(line)
        if "tracing pid" in line:
            return "".join(lines)


def run(cmd, timeout=180, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                          universal_newlines=True, **kw)


def oracle(py, patterns, target, cwd, tmp, name, extra=()):
    out = os.path.join(tmp, name + ".oracle.json")
    r = run([py, ORACLE, "--patterns", patterns, "--out", out] + list(extra) + ["--"] + target,
            cwd=cwd)
    if r.returncode != 0:
        raise Fail("oracle failed (%d): %s" % (r.returncode, r.stderr[-800:]))
    with open(out) as f:
        return json.load(f)


def pyscope_trace(ctx, args, cwd, tmp, name, timeout=300):
    out = os.path.join(tmp, name + ".pyscope.json")
    cmd = [ctx.pyscope, "trace", "--format", "json", "-o", out] + args
    r = run(cmd, cwd=cwd, timeout=timeout)
    if not os.path.exists(out) or os.path.getsize(out) == 0:
        raise Fail("pyscope wrote no report (exit %d): %s" % (r.returncode, r.stderr[-800:]))
    with open(out) as f:
        rep = json.load(f)
    return r, rep


def counts_of(rep):
    return {p["name"]: p["count"] for p in rep["patterns"]}


def sites_of(rep):
    return {p["name"]: {s["site"]: s["count"] for s in p["call_sites"]} for p in rep["patterns"]}


def merge_sites(sites):
    """pyscope may split one file:line into several call offsets; the oracle cannot."""
    return {k: dict(v) for k, v in sites.items()}


def compare(rep, orc, expect=None, check_sites=True):
    if not rep.get("exact"):
        raise Fail("pyscope says the counts are not exact: %s" % rep.get("exact_reason"))
    got, want = counts_of(rep), orc["counts"]
    diff = {k: (got.get(k), want[k]) for k in want if got.get(k) != want[k]}
    if diff:
        raise Fail("pyscope != oracle (pyscope, oracle): %s" % diff)
    if expect:
        diff = {k: (want[k], expect[k]) for k in expect if want.get(k) != expect[k]}
        if diff:
            raise Fail("oracle != app's expected counts: %s" % diff)
    if check_sites:
        gs = sites_of(rep)
        for name, want_sites in orc["sites"].items():
            if gs.get(name, {}) != want_sites:
                raise Fail("call sites of %s differ:\n  pyscope %s\n  oracle  %s"
                           % (name, sorted(gs.get(name, {}).items()), sorted(want_sites.items())))
    nonzero = [k for k, v in want.items() if v]
    if not nonzero:
        raise Fail("the workload hit no pattern: the test proves nothing")


# -- tests --------------------------------------------------------------------

def t_info(ctx, py, tmp):
    r = run([ctx.pyscope, "info", "--format", "json", "--", py, "-c", "pass"])
    if r.returncode != 0:
        raise Fail("info failed: %s" % r.stderr)
    info = json.loads(r.stdout)
    real = run([py, "-c", "import platform; print(platform.python_version())"]).stdout.strip()
    if info["python_version"] != real:
        raise Fail("version %s, interpreter says %s" % (info["python_version"], real))
    mechs = info["mechanisms"]
    if not any(m["available"] for m in mechs.values()):
        raise Fail("no mechanism available: %s" % mechs)
    minor = int(real.split(".")[1])
    want = "eval" if minor <= 10 else "resume"
    if not mechs[want]["available"]:
        raise Fail("%s should be available on %s: %s" % (want, real, mechs[want]["why"]))


def demo_args(seed, mode="mixed", requests=300):
    return ["-m", "chatdemo", "--requests", str(requests), "--legacy-share", "0.35",
            "--concurrency", "4", "--mode", mode, "--seed", str(seed)]


def t_demo(ctx, py, tmp, mode="mixed", seed=7):
    expect_file = os.path.join(tmp, "expect.json")
    args = demo_args(seed, mode) + ["--expect", expect_file]
    _, rep = pyscope_trace(ctx, ["-f", DEMO_PATTERNS, "--", py] + args, APPS, tmp, "demo")
    with open(expect_file) as f:
        expect = json.load(f)
    orc = oracle(py, DEMO_PATTERNS, args, APPS, tmp, "demo")
    compare(rep, orc, expect)
    legacy = {p["name"]: p for p in rep["patterns"]}["legacy_construct"]
    if len(legacy["call_sites"]) != 3:
        raise Fail("expected 3 legacy call sites, got %s" % legacy["call_sites"])


def t_micro(ctx, py, tmp, script, patterns):
    pat = os.path.join(APPS, patterns)
    script = os.path.join(APPS, script)
    _, rep = pyscope_trace(ctx, ["-f", pat, "--", py, script], APPS, tmp, script)
    orc = oracle(py, pat, [script], APPS, tmp, script)
    compare(rep, orc)
    timed = {p["name"]: (p["count"], p["timed"]) for p in rep["patterns"]}
    if rep["latency_measured"]:
        untimed = {k: v for k, v in timed.items() if v[0] != v[1]}
        if untimed:
            raise Fail("calls without a measured return (count, timed): %s" % untimed)


def t_attach(ctx, py, tmp):
    """-p on a process that is already running: arm, then let it work."""
    go = os.path.join(tmp, "go")
    ready = os.path.join(tmp, "ready")
    expect_file = os.path.join(tmp, "expect.json")
    args = demo_args(11, "mixed", 200) + ["--expect", expect_file, "--ready-file", ready,
                                          "--wait-file", go]
    target = subprocess.Popen([py] + args, cwd=APPS, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, universal_newlines=True)
    try:
        deadline = time.time() + 30
        while not os.path.exists(ready):
            if time.time() > deadline or target.poll() is not None:
                raise Fail("demo did not get ready")
            time.sleep(0.02)
        out = os.path.join(tmp, "attach.json")
        tr = subprocess.Popen([ctx.pyscope, "trace", "-p", str(target.pid), "-f", DEMO_PATTERNS,
                               "--format", "json", "-o", out], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True)
        # armed when pyscope says it is tracing
        wait_armed(tr)
        open(go, "w").close()
        target.wait(timeout=120)
        tr.wait(timeout=60)
        if tr.returncode != 0:
            raise Fail("pyscope -p exited %d: %s" % (tr.returncode, tr.stderr.read()[-500:]))
        with open(out) as f:
            rep = json.load(f)
        if not rep["target"]["exited"]:
            raise Fail("report does not say the target exited")
    finally:
        if target.poll() is None:
            target.kill()
    with open(expect_file) as f:
        expect = json.load(f)
    orc = oracle(py, DEMO_PATTERNS, demo_args(11, "mixed", 200), APPS, tmp, "attach")
    compare(rep, orc, expect)


def t_bad_input(ctx, tmp):
    """Each bad input gets one clear line on stderr and exit status 2."""
    sleeper = subprocess.Popen(["sleep", "30"])
    bad_json = os.path.join(tmp, "bad.json")
    with open(bad_json, "w") as f:
        f.write('{"patterns": [ {"name": "x", "function": "m:f"}, ]')
    cases = [
        ("nonexistent pid", ["trace", "-p", "999999", "-e", "m:f"], "no process"),
        ("not python", ["trace", "-p", str(sleeper.pid), "-e", "m:f"], "not a Python process"),
        ("pid 1", ["info", "-p", "1"], "pid 1"),
        ("malformed pattern file", ["trace", "-p", str(os.getpid()), "-f", bad_json],
         "malformed JSON"),
        ("bad spec", ["trace", "-p", str(os.getpid()), "-e", "nocolon"], "expected"),
        ("no patterns", ["trace", "-p", str(os.getpid())], "no patterns"),
    ]
    for v in ("2.7", "3.6", "3.7"):
        for py in glob.glob("/root/.pyenv/versions/%s*/bin/python%s" % (v, v[0])):
            cases.append(("python " + v, ["info", "--", py, "-c", "pass"], "not supported"))
    try:
        for what, args, needle in cases:
            r = run([ctx.pyscope] + args, timeout=30)
            lines = [l for l in r.stderr.splitlines() if l.strip()]
            if r.returncode != 2 or len(lines) != 1 or needle not in lines[0] or \
                    "Traceback" in r.stderr:
                raise Fail("%s: exit %d, stderr %r (want one line with %r)"
                           % (what, r.returncode, r.stderr, needle))
    finally:
        sleeper.kill()


def start_long_running(py, tmp, status=0, limit=3600.0):
    ready = os.path.join(tmp, "pid")
    proc = subprocess.Popen([py, os.path.join(APPS, "long_running.py"), ready, str(status),
                             str(limit)])
    deadline = time.time() + 20
    while not (os.path.exists(ready) and os.path.getsize(ready)):
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            raise Fail("long_running.py did not start")
        time.sleep(0.02)
    return proc


def t_lifecycle(ctx, py, tmp):
    """-d and SIGTERM end an attach with a report; launch passes the exit status."""
    # 1. launch mode: the command's exit status comes back
    r = run([ctx.pyscope, "trace", "-e", "tick=__main__:tick", "-o", os.path.join(tmp, "r0"),
             "--", py, os.path.join(APPS, "long_running.py"), os.path.join(tmp, "p0"), "3",
             "0.3"])
    if r.returncode != 3:
        raise Fail("launch mode exit status %d, the command exited 3: %s"
                   % (r.returncode, r.stderr[-300:]))
    # 2. -p with -d: stops by itself, target keeps running, counts are non-zero
    proc = start_long_running(py, tmp)
    try:
        out = os.path.join(tmp, "d.json")
        t0 = time.time()
        r = run([ctx.pyscope, "trace", "-p", str(proc.pid), "-e", "tick=__main__:tick", "-d",
                 "700ms", "-i", "200ms", "--format", "json", "-o", out], timeout=60)
        if r.returncode != 0:
            raise Fail("-d run exited %d: %s" % (r.returncode, r.stderr[-300:]))
        with open(out) as f:
            docs = [json.loads(l) for l in f.read().splitlines() if l.strip().startswith("{")]
        if proc.poll() is not None:
            raise Fail("the target died while traced")
        if time.time() - t0 > 30:
            raise Fail("-d 700ms took %.1fs" % (time.time() - t0))
        # the live -i lines come first (one object per line), then the final report
        live = [d for d in docs if not d.get("final")]
        if len(live) < 2:
            raise Fail("expected live tables every 200ms, got %d" % len(live))
        final = docs[-1]
        n = final["patterns"][0]["count"]
        if not final["final"] or n < 50:
            raise Fail("final report: final=%s count=%s" % (final.get("final"), n))
        # 3. SIGTERM: report printed, exit 0, target unharmed
        out = os.path.join(tmp, "t.txt")
        tr = subprocess.Popen([ctx.pyscope, "trace", "-p", str(proc.pid), "-e",
                               "tick=__main__:tick", "-o", out], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True)
        wait_armed(tr)
        time.sleep(0.5)
        tr.send_signal(signal.SIGTERM)
        tr.wait(timeout=30)
        with open(out) as f:
            text = f.read()
        if tr.returncode != 0 or "tick" not in text or "exact:" not in text:
            raise Fail("SIGTERM: exit %d, report %r" % (tr.returncode, text[:300]))
        if proc.poll() is not None:
            raise Fail("the target died after SIGTERM to pyscope")
    finally:
        proc.kill()
        proc.wait()


BP_CALLS = os.path.join(APPS, "bp_calls.json")
BP_CTOR = os.path.join(APPS, "bp_ctor.json")


def attach_armed(ctx, py, tmp, script, args, patterns, name):
    """Start script held by WAIT_FILE, attach pyscope (args), release it once
    armed, and return pyscope's JSON report."""
    go = os.path.join(tmp, "go")
    env = dict(os.environ, WAIT_FILE=go)
    target = subprocess.Popen([py, os.path.join(APPS, script)], cwd=APPS, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              universal_newlines=True)
    out = os.path.join(tmp, name + ".json")
    try:
        deadline = time.time() + 30
        while not os.path.exists(go + ".ready"):
            if time.time() > deadline or target.poll() is not None:
                raise Fail("%s did not get ready" % script)
            time.sleep(0.01)
        tr = subprocess.Popen([ctx.pyscope] + args + ["-p", str(target.pid), "-f", patterns,
                                                     "--format", "json", "-o", out],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True)
        early = wait_armed(tr)
        open(go, "w").close()
        target.wait(timeout=120)
        tr.wait(timeout=60)
        err = early + tr.stderr.read()
        if tr.returncode != 0:
            raise Fail("pyscope exited %d: %s" % (tr.returncode, err[-500:]))
    finally:
        if target.poll() is None:
            target.kill()
    with open(out) as f:
        return json.load(f), err


def t_breakpoint(ctx, py, tmp, script, patterns):
    """Hardware breakpoints count exactly what the oracle counts, and no uprobe is used."""
    rep, err = attach_armed(ctx, py, tmp, script, ["trace", "--via", "breakpoint"], patterns,
                            "bp")
    for p in rep["patterns"]:
        if p["coverage"]["mechanism"] != "breakpoint" or p["coverage"]["partial"]:
            raise Fail("%s covered by %s: %s" % (p["name"], p["coverage"], err[-300:]))
    orc = oracle(py, patterns, [os.path.join(APPS, script)], APPS, tmp, "bp")
    compare(rep, orc)


BP_DEMO = os.path.join(APPS, "bp_demo.json")


def t_bp_demo(ctx, py, tmp):
    """Breakpoints on the demo's constructors and factories, threads + asyncio."""
    go = os.path.join(tmp, "go")
    ready = os.path.join(tmp, "ready")
    args = demo_args(13, "mixed", 300)
    target = subprocess.Popen([py] + args + ["--ready-file", ready, "--wait-file", go],
                              cwd=APPS, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = os.path.join(tmp, "bp.json")
    try:
        while not os.path.exists(ready):
            if target.poll() is not None:
                raise Fail("demo did not start")
            time.sleep(0.01)
        tr = subprocess.Popen([ctx.pyscope, "trace", "--via", "breakpoint", "-p", str(target.pid),
                               "-f", BP_DEMO, "--format", "json", "-o", out],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True)
        wait_armed(tr)
        open(go, "w").close()
        target.wait(timeout=120)
        tr.wait(timeout=60)
    finally:
        if target.poll() is None:
            target.kill()
    with open(out) as f:
        rep = json.load(f)
    for p in rep["patterns"]:
        if p["coverage"]["mechanism"] != "breakpoint":
            raise Fail("%s not on a breakpoint: %s" % (p["name"], p["coverage"]))
    compare(rep, oracle(py, BP_DEMO, args, APPS, tmp, "bp-demo"))


def t_redefine(ctx, py, tmp):
    """A redefined function is followed: the new code is watched once pyscope
    notices, and the report says when."""
    pats = os.path.join(APPS, "redefine.json")
    rep, err = attach_armed(ctx, py, tmp, "redefine.py", ["trace", "--via", "breakpoint"], pats,
                            "redef")
    n = rep["patterns"][0]["count"]
    cov = rep["patterns"][0]["coverage"]
    if n != 23 + 29 or cov["mechanism"] != "breakpoint" or "re-armed" not in cov["detail"]:
        raise Fail("redefinition: count %d (want 52), coverage %s" % (n, cov))


def t_check_json(ctx, py, tmp):
    """check --format json and --fail-fast on the demo's legacy constructor."""
    pats = os.path.join(tmp, "forbid.json")
    with open(pats, "w") as f:
        json.dump({"patterns": [
            {"name": "legacy", "class": "chatdemo.engine:UserExecutionEngine", "forbid": True,
             "args": ["AgentRegistry", "AgentWebSocketBridge", "UserExecutionContext"]},
            {"name": "modern", "class": "chatdemo.engine:UserExecutionEngine",
             "args": ["UserExecutionContext"]}]}, f)
    args = demo_args(5, "threads", 200)
    r = run([ctx.pyscope, "check", "--format", "json", "-f", pats, "--", py] + args, cwd=APPS)
    doc = json.loads(r.stdout)
    if r.returncode != 1 or doc["result"] != "fail" or not doc["hits"]:
        raise Fail("check json: exit %d, %s" % (r.returncode, r.stdout[:500]))
    sites = {h["site"] for h in doc["hits"]}
    want = set(oracle(py, pats, args, APPS, tmp, "check-json")["sites"]["legacy"])
    if sites != want or any(h["pattern"] != "legacy" for h in doc["hits"]):
        raise Fail("check json hits %s, oracle's legacy sites %s" % (doc["hits"], want))
    r = run([ctx.pyscope, "check", "--fail-fast", "-f", pats, "--", py] + args, cwd=APPS)
    hits = [l for l in r.stdout.splitlines() if l.startswith("HIT ")]
    if r.returncode != 1 or len(hits) != 1 or "RESULT FAIL" not in r.stdout:
        raise Fail("fail-fast: exit %d, %r" % (r.returncode, r.stdout))


def norm_path(frames):
    """A path up to the script's module frame: the launchers below it differ
    (python -m's runpy vs the oracle's)."""
    out = []
    for f in frames:
        if f.rsplit(":", 1)[0].endswith(("/runpy.py", "/oracle.py", "<frozen runpy>")):
            break
        out.append(f)
    return tuple(out)


def t_paths(ctx, py, tmp):
    """Full call paths and captured values equal the oracle's, per pattern."""
    args = demo_args(17, "mixed", 200)
    _, rep = pyscope_trace(ctx, ["--paths", "--capture", "user_id", "-f", DEMO_PATTERNS, "--", py]
                           + args, APPS, tmp, "paths")
    orc = oracle(py, DEMO_PATTERNS, args, APPS, tmp, "paths", ["--capture", "user_id"])
    compare(rep, orc)
    for p in rep["patterns"]:
        name = p["name"]
        got, want = {}, {}
        for row in p["paths"]:
            k = norm_path([f["site"] for f in row["frames"]])
            got[k] = got.get(k, 0) + row["count"]
        for frames, n in orc["paths"][name]:
            k = norm_path(frames)
            want[k] = want.get(k, 0) + n
        if got != want:
            extra = {k: v for k, v in got.items() if want.get(k) != v}
            missing = {k: v for k, v in want.items() if got.get(k) != v}
            raise Fail("paths of %s differ:\n  pyscope only %s\n  oracle only %s"
                       % (name, list(extra.items())[:2], list(missing.items())[:2]))
        caps = {c["value"]: c["count"] for c in p["captures"]}
        if caps != orc["captures"][name]:
            raise Fail("captures of %s: pyscope %s, oracle %s"
                       % (name, caps, orc["captures"][name]))
    ctx_caps = {p["name"]: p["captures"] for p in rep["patterns"]}["execute_agent"]
    if ctx_caps:
        raise Fail("execute_agent has no user_id parameter, yet captured %s" % ctx_caps)


def t_outputs(ctx, py, tmp):
    """Folded stacks sum to the counts; the migration view lists exactly the
    legacy call sites, with times and an example path each."""
    args = demo_args(19, "mixed", 150)
    orc = oracle(py, DEMO_PATTERNS, args, APPS, tmp, "outputs")
    folded = os.path.join(tmp, "demo.folded")
    r = run([ctx.pyscope, "trace", "--format", "folded", "-o", folded, "-f", DEMO_PATTERNS, "--",
             py] + args, cwd=APPS)
    if r.returncode != 0:
        raise Fail("folded: %s" % r.stderr[-300:])
    sums = {}
    with open(folded) as f:
        for line in f:
            stack, w = line.rsplit(" ", 1)
            name = stack.rsplit(";", 1)[1].split("]")[0].lstrip("[")
            sums[name] = sums.get(name, 0) + int(w)
    want = {k: v for k, v in orc["counts"].items() if v}
    if sums != want:
        raise Fail("folded weights %s, oracle %s" % (sums, want))
    _, rep = pyscope_trace(ctx, ["--migration", "-f", DEMO_PATTERNS, "--", py] + args, APPS, tmp,
                           "migration")
    mig = {p["name"]: p for p in rep["migration"]}
    legacy = mig["legacy_construct"]
    sites = {s["site"]: s["count"] for s in legacy["call_sites"]}
    if sites != orc["sites"]["legacy_construct"]:
        raise Fail("migration sites %s, oracle %s" % (sites, orc["sites"]["legacy_construct"]))
    for s in legacy["call_sites"]:
        if not s["example_path"] or s["first_seen_unix_s"] > s["last_seen_unix_s"] or \
                abs(s["first_seen_unix_s"] - time.time()) > 600:
            raise Fail("migration site without a path or times: %s" % s)
    if set(mig) != {"legacy_construct", "create_from_legacy"}:
        raise Fail("migration lists %s" % sorted(mig))


def t_profile(ctx, py, tmp):
    """profile: the legacy constructor's CPU samples are in the known slow
    function (>= 80%), and its waits are the injected ones (within 10%)."""
    cpu_ms, wait_ms = 8, 20
    expect_file = os.path.join(tmp, "expect.json")
    args = ["-m", "chatdemo", "--requests", "40", "--legacy-share", "1", "--mode", "threads",
            "--concurrency", "1", "--seed", "23", "--legacy-cpu-ms", str(cpu_ms),
            "--legacy-wait-ms", str(wait_ms), "--expect", expect_file]
    out = os.path.join(tmp, "profile.json")
    r = run([ctx.pyscope, "profile", "--off-cpu", "-F", "499", "--format", "json", "-o", out,
             "-e", "legacy=class:chatdemo.engine:UserExecutionEngine", "--", py] + args, cwd=APPS)
    if r.returncode != 0:
        raise Fail("profile exited %d: %s" % (r.returncode, r.stderr[-400:]))
    with open(out) as f:
        rep = json.load(f)
    with open(expect_file) as f:
        n = json.load(f)["legacy_construct"]
    legacy = rep["patterns"][0]
    if legacy["count"] != n:
        raise Fail("legacy count %d, expected %d" % (legacy["count"], n))
    prof = rep["profile"]["patterns"][0]
    cpu = prof["on_cpu"]
    total = {t["function"].split(" (")[0]: t["total"] for t in cpu["top_total"]}
    slow = total.get("AgentRegistryAdapter._scan_registry", 0)
    if cpu["samples"] < 50 or slow < 0.8 * cpu["samples"]:
        raise Fail("on-CPU: %d of %d samples in _scan_registry (want >= 80%%): %s"
                   % (slow, cpu["samples"], cpu["top_total"][:4]))
    off = prof["off_cpu"]
    waits = {t["function"].split(" (")[0]: t["total"] for t in off["top_total"]}
    blocked = waits.get("legacy_bridge_handshake", 0) / 1e6
    injected = n * wait_ms
    if abs(blocked - injected) > 0.1 * injected:
        raise Fail("off-CPU: %.1f ms blocked in legacy_bridge_handshake, %d ms injected"
                   % (blocked, injected))
    if "legacy_bridge_handshake" not in off["chain"]:
        raise Fail("off-CPU summary chain %r does not name the wait" % off["chain"])


def t_speedscope(ctx, py, tmp):
    """A speedscope file of the demo opens in the real viewer, headless Chromium."""
    prof = os.path.join(tmp, "demo.speedscope.json")
    r = run([ctx.pyscope, "trace", "--format", "speedscope", "-o", prof, "-f", DEMO_PATTERNS,
             "--", py] + demo_args(3, "mixed", 60), cwd=APPS)
    if r.returncode != 0 or not os.path.exists(prof):
        raise Fail("pyscope: %s" % r.stderr[-300:])
    viewer = os.path.join(ROOT, "tests", "e2e", "speedscope", "view.js")
    shot = os.path.join(tmp, "speedscope.png")
    v = run(["node", viewer, prof, shot, "handle_legacy_b", "serve_request_thread",
             "UserExecutionEngine.create_from_legacy"], timeout=120)
    if v.returncode != 0:
        raise Fail("speedscope viewer: %s %s" % (v.stdout[-300:], v.stderr[-600:]))
    shutil.copy(shot, os.path.join(ROOT, "build", "speedscope-demo.png"))


def t_check(ctx, py, tmp):
    """check: exit 1 on a forbidden hit in a module imported late, 0 when never
    imported or the target exits first, with evidence lines."""
    pats = os.path.join(APPS, "check_late.json")

    def run_check(extra, via=None):
        ready, go = os.path.join(tmp, "ready"), os.path.join(tmp, "go")
        for f in (ready, go):
            if os.path.exists(f):
                os.unlink(f)
        target = subprocess.Popen([py, os.path.join(APPS, "late_import.py"), ready, go] + extra,
                                  cwd=APPS, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not os.path.exists(ready):
                time.sleep(0.01)
            ck = subprocess.Popen([ctx.pyscope, "check", "-p", str(target.pid), "-f", pats] +
                                  (["--via", via] if via else []),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  universal_newlines=True)
            line = wait_armed(ck)
            open(go, "w").close()
            out, err = ck.communicate(timeout=60)
            target.wait(timeout=30)
            return ck.returncode, out, line + err
        finally:
            if target.poll() is None:
                target.kill()

    # auto: a pattern does not resolve yet, so uprobes cover everything from the start
    code, out, err = run_check([])
    if code != 1 or "PATTERN legacy calls=7 mechanism=uprobe\n" not in out:
        raise Fail("late import (auto): exit %d, out %r" % (code, out))
    # breakpoints: armed when the module appears, and the report says when
    code, out, err = run_check([], "breakpoint")
    hits = [l for l in out.splitlines() if l.startswith("HIT ")]
    if code != 1 or len(hits) != 1 or "pattern=legacy" not in hits[0] \
            or "late_import.py:" not in hits[0] or "args=(int)" not in hits[0]:
        raise Fail("late import: exit %d, out %r, err %r" % (code, out, err[-300:]))
    if "PATTERN legacy calls=7 mechanism=breakpoint armed_after=" not in out:
        raise Fail("late import: no armed window or wrong count: %r" % out)
    if "RESULT FAIL" not in out:
        raise Fail("late import: no RESULT line: %r" % out)
    code, out, err = run_check(["--no-import"], "breakpoint")
    if code != 0 or "HIT" in out or "RESULT PASS" not in out or "not imported" not in out:
        raise Fail("never imported: exit %d, out %r" % (code, out))
    code, out, err = run_check(["--exit-early"], "breakpoint")
    if code != 0 or "RESULT PASS" not in out or "target exited" not in out:
        raise Fail("exits during check: exit %d, out %r" % (code, out))


# -- runner -------------------------------------------------------------------

class Ctx:
    pass


def build_tests(ctx):
    tests = []
    for label, py in interpreters():
        tests.append(("info/" + label, lambda tmp, py=py: t_info(ctx, py, tmp)))
        tests.append(("demo/" + label, lambda tmp, py=py: t_demo(ctx, py, tmp)))
        tests.append(("calls/" + label,
                      lambda tmp, py=py: t_micro(ctx, py, tmp, "micro_calls.py", "micro_calls.json")))
        tests.append(("ctor/" + label,
                      lambda tmp, py=py: t_micro(ctx, py, tmp, "micro_ctor.py", "micro_ctor.json")))
        tests.append(("attach/" + label, lambda tmp, py=py: t_attach(ctx, py, tmp)))
    tests.append(("errors/bad-input", lambda tmp: t_bad_input(ctx, tmp)))
    newest = [py for label, py in interpreters() if label.startswith("py3.12")]
    if newest:
        tests.append(("speedscope/viewer", lambda tmp: t_speedscope(ctx, newest[0], tmp)))
    for label, py in interpreters():
        if label in ("py3.8.18", "py3.13.0", "debian3.11"):
            tests.append(("lifecycle/" + label, lambda tmp, py=py: t_lifecycle(ctx, py, tmp)))
        tests.append(("bp-calls/" + label, lambda tmp, py=py: t_breakpoint(
            ctx, py, tmp, "micro_calls.py", BP_CALLS)))
        tests.append(("bp-ctor/" + label, lambda tmp, py=py: t_breakpoint(
            ctx, py, tmp, "micro_ctor.py", BP_CTOR)))
        tests.append(("check/" + label, lambda tmp, py=py: t_check(ctx, py, tmp)))
        tests.append(("bp-demo/" + label, lambda tmp, py=py: t_bp_demo(ctx, py, tmp)))
        tests.append(("bp-redefine/" + label, lambda tmp, py=py: t_redefine(ctx, py, tmp)))
        tests.append(("check-json/" + label, lambda tmp, py=py: t_check_json(ctx, py, tmp)))
        tests.append(("paths/" + label, lambda tmp, py=py: t_paths(ctx, py, tmp)))
        tests.append(("outputs/" + label, lambda tmp, py=py: t_outputs(ctx, py, tmp)))
        tests.append(("profile/" + label, lambda tmp, py=py: t_profile(ctx, py, tmp)))
    return tests


def run_one(name, fn):
    tmp = tempfile.mkdtemp(prefix="pyscope-e2e-")
    t0 = time.time()
    try:
        fn(tmp)
        status, detail = "PASS", ""
    except Skip as e:
        status, detail = "SKIP", str(e)
    except Fail as e:
        status, detail = "FAIL", str(e)
    except Exception:
        status, detail = "FAIL", traceback.format_exc()
    finally:
        if status == "PASS":
            shutil.rmtree(tmp, ignore_errors=True)
    dt = time.time() - t0
    if status == "FAIL":
        detail += "\n    (files kept in %s)" % tmp
    return name, status, detail, dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", dest="filter", default="")
    ap.add_argument("--pyscope", default=os.path.join(ROOT, "build", "pyscope"))
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    ctx = Ctx()
    ctx.pyscope = os.path.abspath(args.pyscope)
    if os.geteuid() != 0:
        print("e2e: these tests need root for BPF and uprobes")
        print("e2e: 0 passed, 1 failed, 0 skipped")
        return 1
    tests = [t for t in build_tests(ctx) if args.filter in t[0]]
    if not interpreters():
        print("FAIL interpreters: none of pyenv 3.8+ or /usr/bin/python3.11 found")
        print("e2e: 0 passed, 1 failed, 0 skipped")
        return 1
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for name, status, detail, dt in pool.map(lambda t: run_one(*t), tests):
            counts[status] += 1
            line = "%s %s (%.1fs)" % (status, name, dt)
            if detail:
                line += ": " + detail
            print(line, flush=True)
    print("e2e: %d passed, %d failed, %d skipped" % (counts["PASS"], counts["FAIL"], counts["SKIP"]))
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
