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
import re
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import zlib

import schema

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APPS = os.path.join(ROOT, "tests", "apps")
DEMO_PATTERNS = os.path.join(APPS, "chatdemo", "patterns.json")
ORACLE = os.path.join(APPS, "oracle.py")
SCHEMA = os.path.join(ROOT, "docs", "report-schema.json")
SAMPLE = os.path.join(ROOT, "tests", "data", "sample-v1.pstrace")
SAMPLE_ORACLE = os.path.join(ROOT, "tests", "data", "sample-v1.oracle.json")


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


def t_demo(ctx, py, tmp, mode="mixed", seed=7, extra=()):
    expect_file = os.path.join(tmp, "expect.json")
    args = demo_args(seed, mode) + ["--expect", expect_file] + list(extra)
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
    name = os.path.basename(script)
    _, rep = pyscope_trace(ctx, ["-f", pat, "--", py, script], APPS, tmp, name)
    orc = oracle(py, pat, [script], APPS, tmp, name)
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
    threaded = subprocess.Popen([sys.executable, "-c", "import threading, time\n"
                                 "threading.Thread(target=time.sleep, args=(30,)).start()\n"
                                 "time.sleep(30)\n"])
    deadline = time.time() + 10
    while len(os.listdir("/proc/%d/task" % threaded.pid)) < 2:
        if time.time() > deadline:
            raise Fail("no second thread")
        time.sleep(0.02)
    tid = [int(t) for t in os.listdir("/proc/%d/task" % threaded.pid) if int(t) != threaded.pid][0]
    bad_json = os.path.join(tmp, "bad.json")
    with open(bad_json, "w") as f:
        f.write('{"patterns": [ {"name": "x", "function": "m:f"}, ]')
    cases = [
        ("nonexistent pid", ["trace", "-p", "999999", "-e", "m:f"], "no process"),
        ("not python", ["trace", "-p", str(sleeper.pid), "-e", "m:f"], "not a Python process"),
        ("pid 1", ["info", "-p", "1"], "pid 1"),
        ("a thread's id", ["trace", "-e", "m:f", "-p", str(tid)],
         "is a thread of process %d" % threaded.pid),
        ("malformed pattern file", ["trace", "-p", str(os.getpid()), "-f", bad_json],
         "malformed JSON"),
        ("bad spec", ["trace", "-p", str(os.getpid()), "-e", "nocolon"], "expected"),
        ("no patterns", ["trace", "-p", str(os.getpid())], "no patterns"),
    ]
    old = []
    for v in ("2.7", "3.6", "3.7"):
        for py in glob.glob("/root/.pyenv/versions/%s*/bin/python%s" % (v, v[0])):
            cases.append(("python " + v, ["info", "--", py, "-c", "pass"], "not supported"))
            cases.append(("trace python " + v, ["trace", "-e", "m:f", "--", py, "-c", "pass"],
                          "Python %s" % v))
            # a running one too: refused, and left running
            old.append(subprocess.Popen([py, "-c", "import time; time.sleep(30)"]))
            cases.append(("trace -p python " + v, ["trace", "-e", "m:f", "-p", str(old[-1].pid)],
                          "not supported"))
    if len(old) != 3:
        raise Fail("python 2.7, 3.6 and 3.7 must be installed in pyenv to check they are refused")
    try:
        for what, args, needle in cases:
            r = run([ctx.pyscope] + args, timeout=30)
            lines = [l for l in r.stderr.splitlines() if l.strip()]
            if r.returncode != 2 or len(lines) != 1 or needle not in lines[0] or \
                    "Traceback" in r.stderr:
                raise Fail("%s: exit %d, stderr %r (want one line with %r)"
                           % (what, r.returncode, r.stderr, needle))
        if any(p.poll() is not None for p in old):
            raise Fail("a refused target died")
    finally:
        sleeper.kill()
        threaded.kill()
        threaded.wait()
        for p in old:
            p.kill()
            p.wait()


def one_error_line(what, r, needle):
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    if r.returncode != 2 or len(lines) != 1 or needle not in lines[0] or "Traceback" in r.stderr:
        raise Fail("%s: exit %d, stderr %r (want one line with %r)"
                   % (what, r.returncode, r.stderr, needle))


def t_output_file(ctx, py, tmp):
    """-o: created 0600 with O_EXCL, never through a symbolic link; --force overwrites."""
    marker = os.path.join(tmp, "ran")
    target = ["--", py, "-c", "open(%r, 'w').close()" % marker]
    umask0 = ["sh", "-c", 'umask 000; exec "$@"', "sh", ctx.pyscope, "trace", "-e", "m:f"]
    out = os.path.join(tmp, "report.txt")
    r = run(umask0 + ["-o", out] + target)
    mode = os.stat(out).st_mode & 0o7777
    if r.returncode != 0 or mode != 0o600 or "PATTERN" not in open(out).read():
        raise Fail("new report: exit %d, mode %o: %s" % (r.returncode, mode, r.stderr[-300:]))
    first = open(out).read()
    os.unlink(marker)
    # an existing file: refused before anything is launched
    r = run([ctx.pyscope, "trace", "-e", "m:f", "-o", out] + target)
    one_error_line("existing -o file", r, "--force")
    if open(out).read() != first or os.path.exists(marker):
        raise Fail("existing -o file: the file changed or the command ran")
    # --force overwrites it (a new report: another pid) and makes it private again
    os.chmod(out, 0o644)
    r = run([ctx.pyscope, "trace", "-e", "m:f", "-o", out, "--force"] + target)
    text = open(out).read()
    if r.returncode != 0 or text == first or "PATTERN" not in text or \
            os.stat(out).st_mode & 0o7777 != 0o600:
        raise Fail("--force: exit %d, report %r" % (r.returncode, text[:200]))
    os.unlink(marker)
    # a symbolic link is never followed, even with --force
    victim = os.path.join(tmp, "victim")
    with open(victim, "w") as f:
        f.write("precious")
    link = os.path.join(tmp, "link")
    os.symlink(victim, link)
    for force in ([], ["--force"]):
        r = run([ctx.pyscope, "trace", "-e", "m:f", "-o", link] + force + target)
        one_error_line("-o symlink %s" % force, r, "symbolic link")
        if open(victim).read() != "precious" or os.path.exists(marker):
            raise Fail("-o symlink %s: the target file changed or the command ran" % force)
    # a run that fails after creating its report file removes it
    gone = os.path.join(tmp, "gone.txt")
    r = run([ctx.pyscope, "trace", "-e", "m:f", "-o", gone, "-p", "999999"])
    one_error_line("failed run", r, "no process")
    if os.path.exists(gone):
        raise Fail("a failed run left its empty report file behind")


def t_bad_patterns(ctx, py, tmp):
    """Bad -f files and duplicate names: one line, exit 2, the command never starts."""
    marker = os.path.join(tmp, "ran")
    target = ["--", py, "-c", "open(%r, 'w').close()" % marker]

    def put(name, data):
        path = os.path.join(tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    one = b'{"patterns": [{"name": "x", "function": "m:f"}]}'
    cases = [
        ("empty file", ["-f", put("empty.json", b"")], "empty pattern file"),
        ("malformed", ["-f", put("bad.json", b'{"patterns": [{"function": "m:f"},]}')],
         "bad.json:1: malformed JSON"),
        ("huge", ["-f", put("huge.json", one + b" " * (1 << 20))], "larger than 1 MiB"),
        ("deeply nested", ["-f", put("deep.json", b"[" * 100000 + b"]" * 100000)],
         "nested deeper than"),
        ("not UTF-8", ["-f", put("latin1.json", b'[{"function": "m:f\xe9"}]')], "not UTF-8"),
        ("duplicate names in a file",
         ["-f", put("dup.json", b'[{"name": "a", "function": "m:f"},'
                                b' {"name": "a", "function": "m:g"}]')],
         "duplicate pattern name 'a'"),
        ("duplicate names across -e and -f", ["-e", "x=m:g", "-f", put("one.json", one)],
         "duplicate pattern name 'x'"),
        ("duplicate -e names", ["-e", "a=m:f", "-e", "a=m:g"], "duplicate pattern name 'a'"),
        ("no such file", ["-f", os.path.join(tmp, "missing.json")], "No such file"),
    ]
    for what, args, needle in cases:
        r = run([ctx.pyscope, "trace"] + args + target, timeout=30)
        one_error_line(what, r, needle)
        if os.path.exists(marker):
            raise Fail("%s: the command was launched" % what)
    # in JSON mode the same error is also one JSON object on stdout
    r = run([ctx.pyscope, "trace", "--format", "json", "-f", os.path.join(tmp, "empty.json")]
            + target)
    one_error_line("empty file (json)", r, "empty pattern file")
    if "empty pattern file" not in json.loads(r.stdout).get("error", ""):
        raise Fail("JSON error object: %r" % r.stdout)


def t_unmatched_warning(ctx, py, tmp):
    """A pattern that matches no code is a warning at the end, not an error."""
    script = os.path.join(tmp, "w.py")
    with open(script, "w") as f:
        f.write("def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
                "class Plain:\n    def __init__(self, a): self.a = a\n"
                "fib(12)\nfor i in range(23): Plain(i)\n")
    pats = os.path.join(tmp, "w.json")
    with open(pats, "w") as f:
        json.dump({"patterns": [
            {"name": "fib", "function": "__main__:fib"},
            {"name": "fib_str", "function": "__main__:fib", "args": ["str"]},
            {"name": "typo", "function": "__main__:fbi"},
            {"name": "ctor", "class": "__main__:Plain"},
            {"name": "nope", "class": "__main__:Nope"}]}, f)
    r, rep = pyscope_trace(ctx, ["-f", pats, "--", py, script], tmp, tmp, "w")
    if r.returncode != 0:
        raise Fail("exit %d: %s" % (r.returncode, r.stderr[-300:]))
    orc = oracle(py, pats, [script], tmp, tmp, "w")
    compare(rep, orc)
    warned = sorted(l.split("pattern ")[1].split(" ")[0] for l in r.stderr.splitlines()
                    if "matched no code" in l)
    # fib_str matched fib's code (no call had a str): counted 0, but no warning
    if warned != ["nope", "typo"]:
        raise Fail("warnings for %s, want nope and typo: %s" % (warned, r.stderr))


HOSTILE = r"""
import sys
def target(x):
    return x
def caller(x):
    return target(x)
# a caller whose code object lies about its name and file, an argument of a
# class whose name is a terminal escape sequence
co = caller.__code__.replace(co_filename="/tmp/\x1b]0;pwned\x07\n.py", co_name="\x1b[2Jc")
if sys.version_info >= (3, 11):
    co = co.replace(co_qualname="\x1b[2Jc\x9b31m")
caller.__code__ = co
Evil = type("\x1b[31mEvil\xff", (), {})
for i in range(23):
    caller(Evil())
"""


def t_hostile_strings(ctx, py, tmp):
    """Names and files the target chose never reach the terminal or the JSON raw."""
    script = os.path.join(tmp, "hostile.py")
    with open(script, "w") as f:
        f.write(HOSTILE)
    pats = os.path.join(tmp, "hostile.json")
    with open(pats, "w") as f:
        json.dump({"patterns": [{"name": "target", "function": "__main__:target"}]}, f)
    orc = oracle(py, pats, [script], tmp, tmp, "hostile")
    for fmt in ("text", "json"):
        r = subprocess.run([ctx.pyscope, "trace", "--paths", "--format", fmt, "-f", pats, "--",
                            py, script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=120)
        out = r.stdout + r.stderr
        bad = sorted(set(c for c in out if c < 0x20 and c not in b"\n\t"))
        if r.returncode != 0 or bad or b"\xc2\x9b" in out:
            raise Fail("%s: exit %d, control bytes %s in %r" % (fmt, r.returncode, bad, out[-600:]))
        if fmt == "json":
            rep = json.loads(r.stdout.decode("utf-8"))	# strict UTF-8
            compare(rep, orc, check_sites=False)
            sites = [s["site"] + " " + s["function"] for s in rep["patterns"][0]["call_sites"]]
            sigs = [s["signature"] for s in rep["patterns"][0]["signatures"]]
            if not any("?]0;pwned?" in s for s in sites) or not any("?[31mEvil" in s for s in sigs):
                raise Fail("hostile names not shown sanitised: %s %s" % (sites, sigs))


SOURCES = r"""
import os, sys, time
secret, fifo, ready, go = sys.argv[1:5]
def target(x):
    return x
def other(x):
    return x
# 3.8-3.10 qualified names come from the source file a code object names
target.__code__ = target.__code__.replace(co_filename=secret, co_firstlineno=2)
other.__code__ = other.__code__.replace(co_filename=fifo)
os.setresgid(65534, 65534, 65534)
os.setresuid(65534, 65534, 65534)
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.01)
for i in range(23):
    target(i)
    other(i)
"""


def t_source_files(ctx, py, tmp):
    """3.8-3.10: a process of another user cannot make pyscope read for it a file it may
    not read, or block pyscope on a FIFO, by naming them as its code's source file."""
    script, secret, fifo = (os.path.join(tmp, n) for n in ("src.py", "secret.py", "fifo.py"))
    with open(script, "w") as f:
        f.write(SOURCES)
    with open(secret, "w") as f:
        f.write("class Secret:\n    def target(self, x):\n        pass\n")
    os.chmod(secret, 0o600)
    os.chmod(tmp, 0o755)
    os.mkfifo(fifo, 0o666)
    shared = os.path.join(tmp, "shared")	# written to as nobody
    os.mkdir(shared)
    os.chmod(shared, 0o777)
    ready, go = os.path.join(shared, "ready"), os.path.join(shared, "go")
    pats = os.path.join(tmp, "src.json")
    with open(pats, "w") as f:
        json.dump({"patterns": [{"name": "leak", "function": "__main__:Secret.target"},
                                {"name": "target", "function": "__main__:target"},
                                {"name": "other", "function": "__main__:other"}]}, f)
    # started by root, it is nobody's by the time pyscope attaches
    proc = subprocess.Popen([py, script, secret, fifo, ready, go], cwd=tmp)
    try:
        deadline = time.time() + 20
        while not os.path.exists(ready):
            if time.time() > deadline or proc.poll() is not None:
                raise Fail("target did not get ready")
            time.sleep(0.02)
        out = os.path.join(tmp, "src.pyscope.json")
        tr = subprocess.Popen([ctx.pyscope, "trace", "-p", str(proc.pid), "-f", pats,
                               "--format", "json", "-o", out], stderr=subprocess.PIPE,
                              universal_newlines=True)
        line = tr.stderr.readline()
        if "tracing pid" not in line:
            tr.kill()
            raise Fail("pyscope did not arm: %s" % line)
        open(go, "w").close()
        proc.wait(timeout=60)
        try:
            tr.wait(timeout=60)
        except subprocess.TimeoutExpired:
            tr.kill()
            raise Fail("pyscope hung after the target exited (a FIFO read?)")
        if tr.returncode != 0:
            raise Fail("exit %d: %s" % (tr.returncode, tr.stderr.read()[-300:]))
        with open(out) as f:
            rep = json.load(f)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    os.unlink(ready)
    orc = oracle(py, pats, [script, secret, fifo, ready, go], tmp, shared, "src")
    got = counts_of(rep)
    if got["leak"] != 0:
        raise Fail("pyscope read %s for a target running as nobody: leak=%d" % (secret, got["leak"]))
    # neither file was read: both functions' calls are reported as unattributed
    want = orc["counts"]["target"] + orc["counts"]["other"]
    if rep["exact"] or rep["lost"]["unresolved"] != want or want != 46:
        raise Fail("exact=%s unresolved=%s, want %d: %s"
                   % (rep["exact"], rep["lost"]["unresolved"], want, rep["exact_reason"]))


def t_dead_targets(ctx, py, tmp):
    """A zombie, and a target that dies while pyscope attaches: one line, exit 2."""
    z = subprocess.Popen([py, "-c", "pass"])
    try:
        deadline = time.time() + 20
        while "Z" not in open("/proc/%d/stat" % z.pid).read().rsplit(")", 1)[1][:3]:
            if time.time() > deadline:
                raise Fail("no zombie")
            time.sleep(0.02)
        for cmd in ("trace", "info"):
            args = [ctx.pyscope, cmd, "-p", str(z.pid)] + (["-e", "m:f"] if cmd == "trace" else [])
            one_error_line("zombie (%s)" % cmd, run(args), "zombie")
    finally:
        z.wait()
    # Stop pyscope (SIGSTOP) once it has read the interpreter, kill the target
    # then, and let pyscope go on to load and attach.  If the stop came too
    # late (already loaded), try again.
    for attempt in range(5):
        target = start_long_running(py, tmp)
        tr = subprocess.Popen([ctx.pyscope, "trace", "-v", "-p", str(target.pid), "-e",
                               "tick=__main__:tick"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
        try:
            early = b""
            while True:
                line = tr.stderr.readline()
                if not line:
                    raise Fail("pyscope ended early: %r" % early)
                early += line
                if b"interpreter model built" in line:
                    break
            os.kill(tr.pid, signal.SIGSTOP)
            while open("/proc/%d/stat" % tr.pid).read().rsplit(")", 1)[1][1] != "T":
                time.sleep(0.001)
            # what it wrote before it stopped
            os.set_blocking(tr.stderr.fileno(), False)
            early += tr.stderr.read() or b""
            os.set_blocking(tr.stderr.fileno(), True)
            target.kill()
            target.wait()
            os.kill(tr.pid, signal.SIGCONT)
            out, err = tr.communicate(timeout=60)
        finally:
            if tr.poll() is None:
                tr.kill()
            target.kill()
            target.wait()
        if b"BPF loaded" in early:
            continue
        lines = [l for l in err.decode().splitlines() if "debug:" not in l]
        if tr.returncode != 2 or len(lines) != 1 or "exited while pyscope was attaching" \
                not in lines[0] or b"tracing pid" in err:
            raise Fail("died during attach: exit %d, stderr %r" % (tr.returncode, err))
        return
    raise Fail("could not stop pyscope between reading the target and loading BPF")


def nobody_run(args, caps, **kw):
    """args as user nobody with only these capabilities (e.g. ['bpf', 'perfmon'])."""
    pre = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    if caps:
        c = ",".join("+" + x for x in caps)
        pre += ["--inh-caps=" + c, "--ambient-caps=" + c]
    else:
        pre += ["--inh-caps=-all"]
    return run(pre + args, **kw)


def t_privileges(ctx, tmp):
    """As nobody: the missing capability is named in one line, before anything starts;
    CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN are enough to trace one's own Python."""
    py = "/usr/bin/python3.11"
    if not os.access(py, os.X_OK):
        raise Fail("%s (readable by nobody, unlike /root/.pyenv) is needed" % py)
    # a copy nobody can reach, wherever the tree is
    home = os.path.join(tmp, "nobody")
    os.mkdir(home)
    os.chmod(tmp, 0o755)
    os.chmod(home, 0o777)
    pyscope = os.path.join(home, "pyscope")
    shutil.copy(ctx.pyscope, pyscope)
    for f in ("micro_calls.py", "micro_calls.json"):
        shutil.copy(os.path.join(APPS, f), home)
    script, pats = os.path.join(home, "micro_calls.py"), os.path.join(home, "micro_calls.json")
    marker = os.path.join(home, "ran")
    target = ["--", py, "-c", "open(%r, 'w').close()" % marker]
    root_proc = start_long_running(py, tmp)
    try:
        cases = [
            ("no capabilities", [], ["trace", "-e", "m:f"] + target,
             ["CAP_BPF", "CAP_PERFMON", "CAP_SYS_ADMIN"], ["CAP_SYS_PTRACE"]),
            ("CAP_BPF and CAP_PERFMON only", ["bpf", "perfmon"], ["trace", "-e", "m:f"] + target,
             ["CAP_SYS_ADMIN"], ["CAP_BPF", "CAP_PERFMON", "CAP_SYS_PTRACE"]),
            ("root's process", ["bpf", "perfmon", "sys_admin"],
             ["trace", "-e", "m:f", "-p", str(root_proc.pid)], ["CAP_SYS_PTRACE"],
             ["CAP_BPF", "CAP_SYS_ADMIN"]),
            ("info on root's process", [], ["info", "-p", str(root_proc.pid)],
             ["CAP_SYS_PTRACE"], ["CAP_BPF"]),
        ]
        for what, caps, args, want, not_want in cases:
            r = nobody_run([pyscope] + args, caps, cwd=home)
            one_error_line(what, r, "missing capabilit")
            bad = [c for c in want if c not in r.stderr] + \
                  [c for c in not_want if c + " " in r.stderr]
            if bad or os.path.exists(marker):
                raise Fail("%s: %r (wrong capabilities %s, or the command ran)"
                           % (what, r.stderr, bad))
    finally:
        root_proc.kill()
        root_proc.wait()
    # the documented set is enough: a full trace, counts checked against the oracle
    out = os.path.join(home, "report.json")
    r = nobody_run([pyscope, "trace", "--format", "json", "-o", out, "-f", pats, "--", py,
                    script], ["bpf", "perfmon", "sys_admin"], cwd=home, timeout=300)
    if r.returncode != 0 or not os.path.exists(out):
        raise Fail("as nobody with CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN: exit %d: %s"
                   % (r.returncode, r.stderr[-500:]))
    with open(out) as f:
        rep = json.load(f)
    compare(rep, oracle(py, pats, [script], home, tmp, "nobody"))


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



def t_thread_waves(ctx, py, tmp):
    """16 threads created and joined in waves while traced: no call lost or doubled."""
    t_micro(ctx, py, tmp, "thread_waves.py", "thread_waves.json")


def probe_bytes(ctx, pid):
    r = run([ctx.pyscope, "info", "--format", "json", "-p", str(pid)])
    addrs = [int(p["address"], 16) for p in json.loads(r.stdout)["probe_points"]]
    return addrs, read_bytes(pid, addrs)


def t_signals(ctx, py, tmp):
    """pyscope stopped by SIGINT or SIGTERM reports and detaches; by SIGKILL, the kernel
    removes its probes and the next run is exact.  The target runs on unharmed and
    exits 0 on its own in every case."""
    proc = start_long_running(py, tmp, 0, 12.0)
    try:
        addrs, before = probe_bytes(ctx, proc.pid)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            out = os.path.join(tmp, "sig%d.txt" % sig)
            tr = subprocess.Popen([ctx.pyscope, "trace", "-p", str(proc.pid), "-e",
                                   "tick=__main__:tick", "-o", out], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, universal_newlines=True)
            wait_armed(tr)
            time.sleep(0.3)
            if read_bytes(proc.pid, addrs) == before:
                raise Fail("%s: no breakpoint in the target while armed" % sig.name)
            tr.send_signal(sig)
            tr.wait(timeout=30)
            text = open(out).read() if os.path.exists(out) else ""
            if sig != signal.SIGKILL:
                if tr.returncode != 0 or "tick" not in text or "exact: yes" not in text:
                    raise Fail("%s: exit %d, report %r" % (sig.name, tr.returncode, text[:300]))
            elif tr.returncode != -signal.SIGKILL:
                raise Fail("SIGKILL: exit %d" % tr.returncode)
            # links are released with pyscope's last file descriptor, even after SIGKILL
            deadline = time.time() + 10
            while read_bytes(proc.pid, addrs) != before:
                if time.time() > deadline:
                    raise Fail("%s: the target's code was not restored" % sig.name)
                time.sleep(0.05)
            if proc.poll() is not None:
                raise Fail("the target died after %s to pyscope" % sig.name)
        # the next run after a SIGKILL starts cleanly and is exact
        pat = os.path.join(APPS, "micro_calls.json")
        script = os.path.join(APPS, "micro_calls.py")
        _, rep = pyscope_trace(ctx, ["-f", pat, "--", py, script], APPS, tmp, "after-kill")
        compare(rep, oracle(py, pat, [script], APPS, tmp, "after-kill"))
        if proc.wait(timeout=30) != 0:
            raise Fail("the target exited %d, not 0" % proc.returncode)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


FORKER = os.path.join(APPS, "forker.py")
FORKER_PATS = os.path.join(APPS, "forker.json")


def roles_of(roles):
    """{pid: role} written by forker.py's processes."""
    out = {}
    for f in glob.glob(os.path.join(roles, "*.role")):
        with open(f) as fh:
            out[int(os.path.basename(f).split(".")[0])] = fh.read()
    return out


def forker_oracle(py, tmp, name):
    """The oracle's counts for each role of forker.py (one oracle file per process)."""
    roles = os.path.join(tmp, name + ".oracle-roles")
    os.mkdir(roles)
    parent = oracle(py, FORKER_PATS, [FORKER, roles], APPS, tmp, name)
    out = {}
    for pid, role in roles_of(roles).items():
        if role == "parent":
            out[role] = parent
        else:
            with open(os.path.join(tmp, name + ".oracle.json.%d" % pid)) as f:
                out[role] = json.load(f)
    if sorted(out) != ["fork0", "fork1", "fork2", "mp0", "mp1", "parent"]:
        raise Fail("oracle run: roles %s" % sorted(out))
    return out


def t_forks_untraced(ctx, py, tmp):
    """Without --follow-forks, the children's calls are not counted into the parent's
    numbers, and the report says how many children were not traced."""
    roles = os.path.join(tmp, "roles")
    os.mkdir(roles)
    r, rep = pyscope_trace(ctx, ["-f", FORKER_PATS, "--", py, FORKER, roles], APPS, tmp, "forks")
    if r.returncode != 0:
        raise Fail("exit %d: %s" % (r.returncode, r.stderr[-500:]))
    orc = forker_oracle(py, tmp, "forks")
    compare(rep, orc["parent"])
    t = rep["target"]
    if t["children"] != 5 or t["children_untraced"] != 5:
        raise Fail("children %s, untraced %s, want 5 and 5" % (t["children"], t["children_untraced"]))
    # the same in text
    out = os.path.join(tmp, "forks.txt")
    r = run([ctx.pyscope, "trace", "-o", out, "-f", FORKER_PATS, "--", py, FORKER, roles], cwd=APPS)
    text = open(out).read()
    if r.returncode != 0 or "children: 5 process(es) started by pid" not in text:
        raise Fail("text report: exit %d: %s" % (r.returncode, text[-400:]))


def t_exec(ctx, py, tmp):
    """The target execs another program: tracing stops with one clear line, the report
    (counts up to the exec, checked against the oracle) says so, and the command's status
    is still passed on."""
    roles = os.path.join(tmp, "roles")
    os.mkdir(roles)
    r, rep = pyscope_trace(ctx, ["-f", FORKER_PATS, "--", py, FORKER, roles, "--exec"], APPS,
                           tmp, "exec")
    lines = [l for l in r.stderr.splitlines() if "exec'd" in l]
    pid = rep["target"]["pid"]
    if r.returncode != 0 or len(lines) != 1 or \
            not lines[0].startswith("pyscope: target pid %d exec'd /" % pid) or \
            not lines[0].endswith(": tracing stopped"):
        raise Fail("exit %d, stderr %r" % (r.returncode, r.stderr[-500:]))
    t = rep["target"]
    real = os.path.realpath(py)
    if not t["execd"] or os.path.basename(t["exec_path"]) != os.path.basename(real):
        raise Fail("report: execd %s, exec_path %r (want %s)" % (t["execd"], t.get("exec_path"), real))
    # the new program's calls to work() are not counted: only the parent's, up to the exec
    compare(rep, forker_oracle(py, tmp, "exec")["parent"])
    # -p too: the exec'd program keeps running, pyscope stops at once
    script = os.path.join(tmp, "exec_later.py")
    with open(script, "w") as f:
        f.write("import os, sys, time\n"
                "def tick(i):\n    return i + 1\n"
                "for i in range(23):\n    tick(i)\n"
                "while not os.path.exists(sys.argv[1]):\n    time.sleep(0.01)\n"
                "os.execv('/bin/sleep', ['sleep', '5'])\n")
    go = os.path.join(tmp, "go")
    proc = subprocess.Popen([py, script, go])
    try:
        out = os.path.join(tmp, "exec-p.txt")
        tr = subprocess.Popen([ctx.pyscope, "trace", "-p", str(proc.pid), "-e",
                               "tick=__main__:tick", "-o", out], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True)
        wait_armed(tr)
        open(go, "w").close()
        _, err = tr.communicate(timeout=30)
        text = open(out).read()
        if tr.returncode != 0 or "exec'd /usr/bin/sleep" not in err or \
                "target exec'd /usr/bin/sleep" not in text or proc.poll() is not None:
            raise Fail("-p: exit %d, stderr %r, report %r" % (tr.returncode, err, text[:300]))
    finally:
        proc.kill()
        proc.wait()



def read_stderr_lines(proc, on_line):
    """Read proc's stderr in a thread, calling on_line(line) for each; returns the thread
    and the list the lines are appended to."""
    import threading
    lines = []

    def reader():
        for line in proc.stderr:
            lines.append(line)
            on_line(line)

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    return th, lines


def check_processes(rep, want_by_pid):
    """Each process's report against its oracle, and the totals against their sum."""
    got = {p["target"]["pid"]: p for p in rep["processes"]}
    if sorted(got) != sorted(want_by_pid):
        raise Fail("processes %s, want %s" % (sorted(got), sorted(want_by_pid)))
    for pid, orc in want_by_pid.items():
        try:
            compare(got[pid], orc)
        except Fail as e:
            raise Fail("pid %d: %s" % (pid, e))
    total = {p["name"]: p["count"] for p in rep["total"]["patterns"]}
    want = {}
    for orc in want_by_pid.values():
        for k, v in orc["counts"].items():
            want[k] = want.get(k, 0) + v
    if total != want or rep["total"]["processes"] != len(want_by_pid):
        raise Fail("total %s, want %s" % (total, want))


def t_follow_forks(ctx, py, tmp):
    """--follow-forks: every child (os.fork, multiprocessing) is traced on its own and
    reported per pid and in total; counts per process against the oracle's per process.
    The children wait until pyscope says it traces them."""
    roles = os.path.join(tmp, "roles")
    os.mkdir(roles)
    out = os.path.join(tmp, "follow.json")
    tr = subprocess.Popen([ctx.pyscope, "trace", "--follow-forks", "--format", "json", "-o", out,
                           "-f", FORKER_PATS, "--", py, FORKER, roles, "--wait"], cwd=APPS,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)

    def on_line(line):
        if "tracing pid" in line:
            pid = int(line.split("tracing pid ")[1].split()[0])
            open(os.path.join(roles, "go.%d" % pid), "w").close()

    try:
        th, lines = read_stderr_lines(tr, on_line)
        tr.wait(timeout=120)
        th.join(timeout=10)
    finally:
        if tr.poll() is None:
            tr.kill()
            tr.wait()
    err = "".join(lines)
    if tr.returncode != 0 or "not traced" in err:
        raise Fail("exit %d: %s" % (tr.returncode, err[-800:]))
    with open(out) as f:
        rep = json.load(f)
    orc = forker_oracle(py, tmp, "follow")
    role = roles_of(roles)
    check_processes(rep, {pid: orc[r] for pid, r in role.items()})
    parent = [pid for pid, r in role.items() if r == "parent"][0]
    for p in rep["processes"]:
        t = p["target"]
        if t["pid"] == parent:
            if t["children"] != 5 or t["children_untraced"] != 0:
                raise Fail("parent: children %s, untraced %s" % (t["children"], t["children_untraced"]))
        elif t.get("parent_pid") != parent or "traced_after_fork_s" not in t:
            raise Fail("child %s: parent_pid %s" % (t["pid"], t.get("parent_pid")))
    if rep["not_traced"] or rep["total"]["exact"]:
        raise Fail("not_traced %s; total exact %s (children are traced from after their fork)"
                   % (rep["not_traced"], rep["total"]["exact"]))


def t_multi_pid(ctx, pys, tmp):
    """-p repeated, on targets running different Pythons: counts per pid against each one's
    oracle, and the totals."""
    pat = os.path.join(APPS, "micro_calls.json")
    script = os.path.join(APPS, "micro_calls.py")
    procs, gos = [], []
    try:
        for k, py in enumerate(pys):
            go = os.path.join(tmp, "go%d" % k)
            gos.append(go)
            procs.append(subprocess.Popen([py, script], cwd=APPS, env=dict(os.environ, WAIT_FILE=go),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.time() + 30
        while not all(os.path.exists(g + ".ready") for g in gos):
            if time.time() > deadline:
                raise Fail("targets did not start")
            time.sleep(0.02)
        out = os.path.join(tmp, "multi.json")
        args = [ctx.pyscope, "trace", "--format", "json", "-o", out, "-f", pat]
        for p in procs:
            args += ["-p", str(p.pid)]
        tr = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True)
        armed = []
        th, lines = read_stderr_lines(tr, lambda l: armed.append(l) if "tracing pid" in l else 0)
        deadline = time.time() + 60
        while len(armed) < len(procs):
            if time.time() > deadline or tr.poll() is not None:
                tr.kill()
                raise Fail("pyscope did not arm on every pid: %s" % "".join(lines)[-600:])
            time.sleep(0.02)
        for g in gos:
            open(g, "w").close()
        for p in procs:
            if p.wait(timeout=60) != 0:
                raise Fail("a target failed")
        tr.wait(timeout=60)
        th.join(timeout=10)
        if tr.returncode != 0:
            raise Fail("pyscope exited %d: %s" % (tr.returncode, "".join(lines)[-600:]))
        with open(out) as f:
            rep = json.load(f)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    want = {}
    for k, (p, py) in enumerate(zip(procs, pys)):
        want[p.pid] = oracle(py, pat, [script], APPS, tmp, "multi%d" % k)
    check_processes(rep, want)
    versions = sorted(p["target"]["python"] for p in rep["processes"])
    if len(set(versions)) != len(pys):
        raise Fail("versions %s" % versions)
    r = run([ctx.pyscope, "trace", "-e", "m:f", "-p", str(os.getpid()), "-p", str(os.getpid())])
    one_error_line("a pid twice", r, "given twice")
    # text, stopped by SIGTERM: each process, then the total; the targets run on
    a = start_long_running(pys[0], tmp)
    os.unlink(os.path.join(tmp, "pid"))
    b = start_long_running(pys[1], tmp)
    try:
        out = os.path.join(tmp, "multi.txt")
        tr = subprocess.Popen([ctx.pyscope, "trace", "-e", "tick=__main__:tick", "-o", out,
                               "-p", str(a.pid), "-p", str(b.pid)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True)
        armed = []
        th, lines = read_stderr_lines(tr, lambda l: armed.append(l) if "tracing pid" in l else 0)
        deadline = time.time() + 60
        while len(armed) < 2:
            if time.time() > deadline or tr.poll() is not None:
                tr.kill()
                raise Fail("pyscope did not arm on both pids: %s" % "".join(lines)[-600:])
            time.sleep(0.02)
        time.sleep(0.5)
        tr.send_signal(signal.SIGTERM)
        tr.wait(timeout=30)
        th.join(timeout=10)
        text = open(out).read()
        per = [int(l.split()[1]) for l in text.splitlines() if l.startswith("tick ")]
        heads = [l for l in text.splitlines() if l.startswith("pyscope: pid ")]
        total = text.split("TOTAL over 2 process(es)")[-1]
        if tr.returncode != 0 or len(per) != 3 or per[0] + per[1] != per[2] or not per[0] or \
                not per[1] or len(heads) != 2 or "tick" not in total:
            raise Fail("text report, SIGTERM: exit %d: %s" % (tr.returncode, text[-800:]))
        if a.poll() is not None or b.poll() is not None:
            raise Fail("a target died")
    finally:
        for p in (a, b):
            p.kill()
            p.wait()

NS_SETUP = r"""set -e
mount -t tmpfs pyscope-ns "$NSROOT"
mkdir -p "$NSROOT/bin" "$NSROOT/lib"
cp "$PYHOME/bin/$PYEXE" "$NSROOT/bin/"
cp "$PYHOME/lib/$PYLIB" "$NSROOT/lib/"
export LD_LIBRARY_PATH="$NSROOT/lib" PYTHONHOME="$PYHOME"
exec "$NSROOT/bin/$PYEXE" "$@"
"""


def t_namespace(ctx, py, tmp):
    """A target in its own PID and mount namespaces (a container), running an
    interpreter from a tmpfs only that namespace has: pyscope reads it through
    /proc/PID/root, names threads by their ids there, reports its pid there, and
    counts exactly."""
    home = os.path.dirname(os.path.dirname(py))
    ver = os.path.basename(home).rsplit(".", 1)[0]		# 3.12
    nsroot = os.path.join(tmp, "nsroot")			# empty here, a tmpfs inside
    os.mkdir(nsroot)
    setup = os.path.join(tmp, "ns.sh")
    with open(setup, "w") as f:
        f.write(NS_SETUP)
    pat = os.path.join(APPS, "micro_calls.json")
    script = os.path.join(APPS, "micro_calls.py")
    go = os.path.join(tmp, "go")
    env = dict(os.environ, NSROOT=nsroot, PYHOME=home, PYEXE="python" + ver,
               PYLIB="libpython%s.so.1.0" % ver, WAIT_FILE=go)
    ns = subprocess.Popen(["unshare", "--pid", "--mount", "--fork", "--mount-proc", "sh", setup,
                           script], cwd=APPS, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while not os.path.exists(go + ".ready"):
            if time.time() > deadline or ns.poll() is not None:
                raise Fail("the namespaced target did not start")
            time.sleep(0.02)
        with open("/proc/%d/task/%d/children" % (ns.pid, ns.pid)) as f:
            pid = int(f.read().split()[0])
        lib = os.path.join(nsroot, "lib", env["PYLIB"])
        if os.path.exists(lib) or lib not in open("/proc/%d/maps" % pid).read():
            raise Fail("the interpreter is not only in the namespace")
        out = os.path.join(tmp, "ns.json")
        tr = subprocess.Popen([ctx.pyscope, "trace", "-p", str(pid), "-f", pat, "--format",
                               "json", "-o", out], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True)
        wait_armed(tr)
        open(go, "w").close()
        tr.wait(timeout=60)
        if tr.returncode != 0 or ns.wait(timeout=30) != 0:
            raise Fail("pyscope exited %s, target %s: %s"
                       % (tr.returncode, ns.returncode, tr.stderr.read()[-500:]))
        with open(out) as f:
            rep = json.load(f)
    finally:
        if ns.poll() is None:
            ns.kill()
            ns.wait()
    t = rep["target"]
    if t.get("ns_pid") != 1 or t["interpreter"] != lib or not t["exited"]:
        raise Fail("target %s: want ns_pid 1, interpreter %s" % (t, lib))
    compare(rep, oracle(py, pat, [script], APPS, tmp, "ns"))
    # pyscope itself in a PID namespace would see other pids than its BPF programs:
    # refused in one line, before the command is started
    marker = os.path.join(tmp, "ran")
    r = run(["unshare", "--pid", "--fork", "--mount-proc", ctx.pyscope, "trace", "-e", "m:f",
             "--", py, "-c", "open(%r, 'w').close()" % marker])
    one_error_line("pyscope in a PID namespace", r, "inside a PID namespace")
    if os.path.exists(marker):
        raise Fail("pyscope in a PID namespace launched the command")

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


_BP_STATUS = {}


def bp_why_not(ctx, py):
    """None when hardware breakpoints work for this interpreter here, else why not
    (pyscope info's own reason: it tests that a watch really fires)."""
    if py not in _BP_STATUS:
        r = run([ctx.pyscope, "info", "--format", "json", "--", py, "-c", "pass"])
        mech = json.loads(r.stdout)["mechanisms"]["breakpoint"]
        _BP_STATUS[py] = None if mech["available"] else mech["why"]
    return _BP_STATUS[py]


def need_breakpoints(ctx, py):
    why = bp_why_not(ctx, py)
    if why:
        raise Skip(why)


def t_breakpoint(ctx, py, tmp, script, patterns):
    """Hardware breakpoints count exactly what the oracle counts, and no uprobe is used."""
    need_breakpoints(ctx, py)
    rep, err = attach_armed(ctx, py, tmp, script, ["trace", "--via", "breakpoint"], patterns,
                            "bp")
    for p in rep["patterns"]:
        if p["coverage"]["mechanism"] != "breakpoint" or p["coverage"]["partial"]:
            raise Fail("%s covered by %s: %s" % (p["name"], p["coverage"], err[-300:]))
    orc = oracle(py, patterns, [os.path.join(APPS, script)], APPS, tmp, "bp")
    compare(rep, orc)


BP_DEMO = os.path.join(APPS, "bp_demo.json")


def t_bp_idle(ctx, py, tmp):
    """Breakpoint mode on a never-called target attaches no probe that fires on other
    code: the frame-end probe waits for the first hit.  Where hits never arrive the
    self-test is skipped (PYSCOPE_HWBP_UNCHECKED=1: a never-hit target needs no hit),
    and then the report must say its counts are not exact."""
    env = dict(os.environ)
    why = bp_why_not(ctx, py)
    if why:
        env["PYSCOPE_HWBP_UNCHECKED"] = "1"
    out = os.path.join(tmp, "idle.json")
    r = run([ctx.pyscope, "trace", "-v", "--via", "breakpoint", "-e", "never=os:get_exec_path",
             "--format", "json", "-o", out, "--", py, "micro_calls.py", "20"], cwd=APPS, env=env)
    if r.returncode != 0:
        raise Fail("pyscope failed (%d): %s" % (r.returncode, r.stderr[-600:]))
    attached = re.findall(r"debug: attached (.*) at ", r.stderr)
    if not attached or any("dealloc" not in a for a in attached):
        raise Fail("probes attached on a never-hit breakpoint run: %s" % attached)
    if "first breakpoint hit" in r.stderr:
        raise Fail("the frame-end probe was attached without a hit: %s" % r.stderr[-600:])
    with open(out) as f:
        rep = json.load(f)
    p = rep["patterns"][0]
    if p["count"] != 0 or p["coverage"]["mechanism"] != "breakpoint" or p["coverage"]["timed"]:
        raise Fail("unexpected pattern result: %s" % p)
    if "first breakpoint hit" not in rep["returns"] or not rep["latency_measured"]:
        raise Fail("returns: %r, latency_measured %r" % (rep["returns"], rep["latency_measured"]))
    if why and (rep["exact"] or "PYSCOPE_HWBP_UNCHECKED" not in rep["exact_reason"]):
        raise Fail("a run without the breakpoint self-test claims exactness: %s %s"
                   % (rep["exact"], rep.get("exact_reason")))
    if not why and not rep["exact"]:
        raise Fail("not exact: %s" % rep.get("exact_reason"))


def t_bp_demo(ctx, py, tmp):
    """Breakpoints on the demo's constructors and factories, threads + asyncio."""
    need_breakpoints(ctx, py)
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
    need_breakpoints(ctx, py)
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


DEMO_RULES = os.path.join(APPS, "chatdemo", "rules.json")


def golden_check(ctx, py, tmp, name, args, fmt="json", extra=()):
    """pyscope check with the demo's rules; the demo's expected counts."""
    expect_file = os.path.join(tmp, name + ".expect.json")
    r = run([ctx.pyscope, "check", "--format", fmt] + list(extra) + ["-f", DEMO_RULES, "--", py]
            + args + ["--expect", expect_file], cwd=APPS, timeout=600)
    with open(expect_file) as f:
        expect = json.load(f)
    return r, expect


def golden_counts(doc, expect):
    """The calls each rule saw are the calls the app made."""
    rules = {x["name"]: x for x in doc["rules"]}
    emits = sum(v for k, v in expect.items() if k.startswith("emit_"))
    if rules["agent_run"]["calls"] != emits or rules["agent_run"]["unkeyed"]:
        raise Fail("agent_run saw %s, the app emitted %d events" % (rules["agent_run"], emits))
    if rules["engine_per_user"]["calls"] != expect["execute_agent"]:
        raise Fail("engine_per_user saw %s, the app ran %d agents"
                   % (rules["engine_per_user"], expect["execute_agent"]))
    if not doc["rules_exact"] or not doc["exact"]:
        raise Fail("not exact: %s" % doc["exact_reason"])
    return rules


def t_golden_faults(ctx, py, tmp):
    """Each injected fault is one violation with the injected key; nothing else."""
    faults = os.path.join(tmp, "faults.json")
    args = demo_args(29, "mixed", 301) + ["--fault-drop", "3", "--fault-swap", "2",
                                          "--fault-never", "2", "--fault-reuse", "3",
                                          "--faults", faults]
    r, expect = golden_check(ctx, py, tmp, "faults", args, extra=["--paths"])
    doc = json.loads(r.stdout)
    with open(faults) as f:
        truth = json.load(f)
    if r.returncode != 1 or doc["result"] != "fail":
        raise Fail("exit %d, result %s" % (r.returncode, doc["result"]))
    got = {"missing": [], "order": [], "incomplete": [], "isolation": []}
    for v in doc["violations"]:
        if v["kind"] == "isolation":
            got["isolation"].append([v["value1"], v["value2"]])
            # --paths: whole paths, from the engine's caller up to the request's start
            if len(v["first_path"]) < 2 or len(v["second_path"]) < 2 or \
                    v["first"]["site"] == v["second"]["site"] or \
                    not v["second_path"][0].startswith("run_agent ("):
                raise Fail("isolation violation without both call paths: %s" % v)
        else:
            got[v["kind"]].append(v["key"])
            if not v["seen"] or not v["last_path"] or not v["seen"][0]["time"]:
                raise Fail("violation without its calls: %s" % v)
    for k in got:
        got[k].sort()
    truth["isolation"].sort()
    if got != truth:
        raise Fail("violations %s, injected %s" % (got, truth))
    if doc["violation_count"] != sum(len(v) for v in truth.values()):
        raise Fail("violation_count %s" % doc["violation_count"])
    golden_counts(doc, expect)
    # the text form: one greppable line per violation
    r, _ = golden_check(ctx, py, tmp, "faults-text", args, "text")
    lines = [l for l in r.stdout.splitlines() if l.startswith("VIOLATION ")]
    kinds = sorted(l.split(" kind=")[1].split()[0] for l in lines)
    want = sorted(k for k, v in truth.items() for _ in v)
    if r.returncode != 1 or kinds != want or "RESULT FAIL" not in r.stdout:
        raise Fail("text: exit %d, kinds %s, want %s" % (r.returncode, kinds, want))
    for run_id in truth["missing"]:
        if not any(" key=%s " % run_id in l and "expected=emit_agent_thinking" in l
                   for l in lines):
            raise Fail("no missing-thinking line for %s: %s" % (run_id, lines))


def t_golden_clean(ctx, py, tmp):
    """10,000 requests without faults: every run checked, no violation, PASS."""
    args = ["-m", "chatdemo", "--requests", "10000", "--concurrency", "8", "--mode",
            "asyncio", "--seed", "31"]
    r, expect = golden_check(ctx, py, tmp, "clean", args)
    doc = json.loads(r.stdout)
    if r.returncode != 0 or doc["result"] != "pass" or doc["violations"]:
        raise Fail("exit %d, result %s, violations %s" % (r.returncode, doc["result"],
                                                          doc["violations"][:3]))
    rules = golden_counts(doc, expect)
    if rules["agent_run"]["runs"] != 10000 or rules["engine_per_user"]["objects"] != 10000:
        raise Fail("runs/objects judged: %s" % rules)


def t_golden_lossy(ctx, py, tmp):
    """Never PASS when calls were not all judged: a ring buffer too small for the
    records (a code record is larger than 4 KiB, so every one is lost), a misspelt
    key argument; and say why."""
    args = ["-m", "chatdemo", "--requests", "2000", "--mode", "asyncio", "--seed", "37"]
    r = run([ctx.pyscope, "check", "--format", "json", "-f", DEMO_RULES, "--", py] + args,
            cwd=APPS, env=dict(os.environ, PYSCOPE_RINGBUF_KB="4"))
    doc = json.loads(r.stdout)
    if r.returncode not in (1, 3) or doc["result"] == "pass" or doc["rules_exact"] or \
            doc["exact"] or "lost" not in doc["exact_reason"]:
        raise Fail("exit %d, result %s, rules_exact %s, reason %s" % (
            r.returncode, doc["result"], doc["rules_exact"], doc["exact_reason"]))
    if doc["violation_count"] == 0 and (r.returncode != 3 or doc["result"] != "unknown"):
        raise Fail("no violation, records lost: exit %d, %s" % (r.returncode, doc["result"]))
    # a misspelt key argument judges nothing: UNKNOWN, with a warning, not PASS
    with open(DEMO_RULES) as f:
        rules = json.load(f)
    rules["rules"][0]["key"] = "runid"
    typo = os.path.join(tmp, "typo.json")
    with open(typo, "w") as f:
        json.dump(rules, f)
    r = run([ctx.pyscope, "check", "--format", "json", "-f", typo, "--", py] + args, cwd=APPS)
    doc = json.loads(r.stdout)
    if r.returncode != 3 or doc["result"] != "unknown" or "no usable key" not in r.stderr:
        raise Fail("misspelt key: exit %d, %s, %s" % (r.returncode, doc["result"],
                                                      r.stderr[-300:]))


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
    ctx_caps = {p["name"]: p["captures"] for p in rep["patterns"]}["lookup_tool"]
    if ctx_caps:
        raise Fail("lookup_tool has no user_id parameter, yet captured %s" % ctx_caps)


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


def t_profile(ctx, py, tmp, sampled=False):
    """profile: the legacy constructor's CPU samples are in the known slow
    function (>= 80%), and its waits are the injected ones: at least 90% of the
    injected time, and at most 10% over what the app's own clock measured around
    its sleeps (a loaded machine wakes sleepers late; the wait ends at the wake-up).
    sampled: --sampled, no call probes, the samples find the windows; the
    report then has no counts rather than wrong ones."""
    cpu_ms, wait_ms = 8, 20
    expect_file = os.path.join(tmp, "expect.json")
    args = ["-m", "chatdemo", "--requests", "40", "--legacy-share", "1", "--mode", "threads",
            "--concurrency", "1", "--seed", "23", "--legacy-cpu-ms", str(cpu_ms),
            "--legacy-wait-ms", str(wait_ms), "--expect", expect_file,
            "--waited", os.path.join(tmp, "waited.json")]
    out = os.path.join(tmp, "profile.json")
    r = run([ctx.pyscope, "profile", "--off-cpu", "-F", "499", "--format", "json", "-o", out,
             "-e", "legacy=class:chatdemo.engine:UserExecutionEngine"]
            + (["--sampled"] if sampled else []) + ["--", py] + args, cwd=APPS)
    if r.returncode != 0:
        raise Fail("profile exited %d: %s" % (r.returncode, r.stderr[-400:]))
    with open(out) as f:
        rep = json.load(f)
    with open(expect_file) as f:
        n = json.load(f)["legacy_construct"]
    if sampled:
        if "patterns" in rep or rep.get("windows") != "sampled" or \
                "via samples" not in r.stderr:
            raise Fail("--sampled: counts reported or mode not said: %s / %s"
                       % (list(rep), r.stderr[-200:]))
    elif rep["patterns"][0]["count"] != n:
        raise Fail("legacy count %d, expected %d" % (rep["patterns"][0]["count"], n))
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
    with open(os.path.join(tmp, "waited.json")) as f:
        waited = json.load(f)["waited_ms"]
    if blocked < 0.9 * injected or blocked > 1.1 * waited:
        raise Fail("off-CPU: %.1f ms blocked in legacy_bridge_handshake, %d ms injected, "
                   "%.1f ms by the app's clock" % (blocked, injected, waited))
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
    bp_why = bp_why_not(ctx, py)
    if bp_why:
        # --via breakpoint is refused with the reason, never a silent 0
        r = run([ctx.pyscope, "check", "--via", "breakpoint", "-f", pats, "--", py, "-c", "pass"])
        if r.returncode != 2 or "--via breakpoint: " + bp_why not in r.stderr:
            raise Fail("--via breakpoint where breakpoints never fire: exit %d, %r"
                       % (r.returncode, r.stderr))
        via, mech = None, "mechanism=uprobe"
    else:
        via, mech = "breakpoint", "mechanism=breakpoint armed_after="
        # breakpoints: armed when the module appears, and the report says when
        code, out, err = run_check([], via)
        hits = [l for l in out.splitlines() if l.startswith("HIT ")]
        if code != 1 or len(hits) != 1 or "pattern=legacy" not in hits[0] \
                or "late_import.py:" not in hits[0] or "args=(int)" not in hits[0]:
            raise Fail("late import: exit %d, out %r, err %r" % (code, out, err[-300:]))
        if "PATTERN legacy calls=7 " + mech not in out:
            raise Fail("late import: no armed window or wrong count: %r" % out)
        if "RESULT FAIL" not in out:
            raise Fail("late import: no RESULT line: %r" % out)
    code, out, err = run_check(["--no-import"], via)
    if code != 0 or "HIT" in out or "RESULT PASS" not in out or \
            "PATTERN legacy calls=0 " + mech not in out or \
            (via and "not imported" not in out):
        raise Fail("never imported: exit %d, out %r" % (code, out))
    code, out, err = run_check(["--exit-early"], via)
    if code != 0 or "RESULT PASS" not in out or "target exited" not in out:
        raise Fail("exits during check: exit %d, out %r" % (code, out))


# -- probe placement and attach/detach (issue #6) --------------------------------

def t_probe_points(ctx, py, tmp):
    """info names the instruction chosen for every probe point, and why."""
    r = run([ctx.pyscope, "info", "--format", "json", "--", py, "-c", "pass"])
    if r.returncode != 0:
        raise Fail("info failed: %s" % r.stderr)
    info = json.loads(r.stdout)
    pts = info.get("probe_points") or []
    if not pts:
        raise Fail("no probe_points in info")
    for p in pts:
        if not p["instruction"] or not p["why"] or int(p["address"], 16) - int(p["entry"], 16) \
                != p["offset"]:
            raise Fail("incomplete probe point: %s" % p)
    text = run([ctx.pyscope, "info", "--", py, "-c", "pass"]).stdout
    if "probe points:" not in text or ("emulated" not in text and "single-stepped" not in text):
        raise Fail("text info does not show the probe points:\n" + text)
    if info["mechanisms"]["resume"]["available"]:
        # on every build here, some RESUME handler is probed past its entry, emulated
        moved = [p for p in pts if "RESUME" in p["point"] and p["emulated"] and p["offset"] > 0]
        if not moved:
            raise Fail("no RESUME handler probed on an emulated instruction: %s" % pts)
        for p in pts:
            if "RESUME" in p["point"] and not p["emulated"] and "also entered" not in p["why"]:
                raise Fail("single-stepped RESUME probe without a reason: %s" % p)
            if "RESUME" in p["point"] and not p.get("frame_register"):
                raise Fail("no frame register for %s: %s" % (p["point"], p))
        # the frame registers agree with the thread state, so they are used, and the
        # counts stay exact (compared with the oracle)
        pat = os.path.join(APPS, "micro_calls.json")
        script = os.path.join(APPS, "micro_calls.py")
        out = os.path.join(tmp, "freg.json")
        r = run([ctx.pyscope, "trace", "-v", "--format", "json", "-o", out, "-f", pat, "--",
                 py, script], cwd=APPS)
        m = re.search(r"frame register: (.*); agreeing checks per handler: (\d+)", r.stderr)
        if r.returncode != 0 or not m or m.group(1) != "in use" or int(m.group(2)) < 64:
            raise Fail("frame register not in use: %s" % r.stderr[-400:])
        with open(out) as f:
            compare(json.load(f), oracle(py, pat, [script], APPS, tmp, "freg"))


def read_bytes(pid, addrs):
    with open("/proc/%d/mem" % pid, "rb") as f:
        out = []
        for a in addrs:
            f.seek(a)
            out.append(f.read(1))
        return out


def our_links(pid):
    """bpf link ids held by process pid (from its fdinfo)."""
    ids = []
    fddir = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fddir):
        try:
            with open(os.path.join(fddir, fd)) as f:
                info = f.read()
        except OSError:
            continue
        for line in info.splitlines():
            if line.startswith("link_id:"):
                ids.append(int(line.split()[1]))
    return ids


def t_detach_clean(ctx, py, tmp, env_extra=None):
    """-p, then detach: the target's code is back as it was, and no link, uprobe event or
    pinned object is left behind.  While armed, the breakpoints are visible (so the
    checks can fail)."""
    env = dict(os.environ, **(env_extra or {}))
    proc = start_long_running(py, tmp)
    try:
        r = run([ctx.pyscope, "info", "--format", "json", "-p", str(proc.pid)])
        addrs = [int(p["address"], 16) for p in json.loads(r.stdout)["probe_points"]]
        before = read_bytes(proc.pid, addrs)
        tr = subprocess.Popen([ctx.pyscope, "trace", "-v", "-p", str(proc.pid), "-e",
                               "tick=__main__:tick", "-d", "1s", "-o", os.path.join(tmp, "r")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              universal_newlines=True, env=env)
        errlines = []
        while True:
            line = tr.stderr.readline()
            if not line:
                raise Fail("pyscope exited before arming: %s" % "".join(errlines)[-500:])
            errlines.append(line)
            if "tracing pid" in line:
                break
        during = read_bytes(proc.pid, addrs)
        links = our_links(tr.pid)
        errlines.append(tr.stderr.read())
        tr.wait(timeout=60)
        log = "".join(errlines)
        if tr.returncode != 0:
            raise Fail("pyscope exited %d: %s" % (tr.returncode, log[-500:]))
        armed = [hex(a) for a, b in zip(addrs, during) if b != b"\xcc"]
        # a probe that two programs share (eval entry and return) is one breakpoint
        if armed:
            raise Fail("no breakpoint while armed at %s" % armed)
        after = read_bytes(proc.pid, addrs)
        if after != before:
            raise Fail("code not restored after detach: %s -> %s" % (before, after))
        if proc.poll() is not None:
            raise Fail("the target died")
        left = [i for i in links if run(["bpftool", "link", "show", "id", str(i)]).returncode == 0]
        if left:
            raise Fail("bpf links left behind: %s" % left)
        ev = "/sys/kernel/tracing/uprobe_events"
        if os.path.exists(ev):
            with open(ev) as f:
                mine = [l for l in f if str(proc.pid) in l or "pyscope" in l]
            if mine:
                raise Fail("uprobe events left behind: %s" % mine)
        names = {"codes", "code_sent", "names", "classnames", "class_types", "aggs", "stats",
                 "inflight", "callers", "counters", "events", "scratch_map", "tstates"}
        if os.path.isdir("/sys/fs/bpf"):
            pinned = [f for f in os.listdir("/sys/fs/bpf") if f in names or "pyscope" in f]
            if pinned:
                raise Fail("pinned objects left behind: %s" % pinned)
        if "link(s) removed" not in log:
            raise Fail("-v does not report the detach: %s" % log[-300:])
        return log
    finally:
        proc.kill()
        proc.wait()


def t_perf_fallback(ctx, py, tmp):
    """Without uprobe_multi links (forced), perf-event uprobes count the same and detach
    as cleanly; -v says which attach is used."""
    env = {"PYSCOPE_NO_UPROBE_MULTI": "1"}
    log = t_detach_clean(ctx, py, tmp, env)
    if "no uprobe_multi" not in log:
        raise Fail("-v does not say the fallback is used: %s" % log[-300:])
    pat = os.path.join(APPS, "micro_calls.json")
    script = os.path.join(APPS, "micro_calls.py")
    out = os.path.join(tmp, "fallback.json")
    r = run([ctx.pyscope, "trace", "--format", "json", "-o", out, "-f", pat, "--", py, script],
            cwd=APPS, env=dict(os.environ, **env))
    if r.returncode != 0:
        raise Fail("pyscope exited %d: %s" % (r.returncode, r.stderr[-500:]))
    with open(out) as f:
        rep = json.load(f)
    compare(rep, oracle(py, pat, [script], APPS, tmp, "fallback"))


# -- runner -------------------------------------------------------------------

def check_schema(rep, what):
    with open(SCHEMA) as f:
        errs = schema.validate(rep, json.load(f))
    if errs:
        raise Fail("%s does not match docs/report-schema.json: %s" % (what, errs[:5]))


def pyscope_report(ctx, trace, args, tmp, name, timeout=60):
    out = os.path.join(tmp, name + ".report.json")
    if os.path.exists(out):
        os.unlink(out)
    r = run([ctx.pyscope, "report", trace, "--format", "json", "-o", out] + args, timeout=timeout)
    if r.returncode != 0 or not os.path.exists(out):
        raise Fail("pyscope report failed (%d): %s" % (r.returncode, r.stderr[-800:]))
    with open(out) as f:
        return r, json.load(f)


def json_diff(a, b, path="$"):
    """The first places where two JSON documents differ."""
    if type(a) != type(b):
        return ["%s: %r != %r" % (path, a, b)]
    if isinstance(a, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += json_diff(a.get(k), b.get(k), path + "." + k)
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return ["%s: %d items != %d" % (path, len(a), len(b))]
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += json_diff(x, y, "%s[%d]" % (path, i))
        return out
    return [] if a == b else ["%s: %r != %r" % (path, a, b)]


def t_record_roundtrip(ctx, py, tmp):
    """One run, live JSON and a trace file: the file's report is the same JSON."""
    trace = os.path.join(tmp, "demo.pstrace")
    args = demo_args(11)
    extra = ["--paths", "--migration"]
    r, live = pyscope_trace(ctx, ["--record", trace] + extra + ["-f", DEMO_PATTERNS, "--", py] + args,
                            APPS, tmp, "demo")
    if "no event lost" not in r.stderr:
        raise Fail("record did not say it lost nothing: %s" % r.stderr[-500:])
    compare(live, oracle(py, DEMO_PATTERNS, args, APPS, tmp, "demo"))
    rr, rep = pyscope_report(ctx, trace, extra, tmp, "demo")
    if rr.stderr.strip():
        raise Fail("report of an intact file warned: %s" % rr.stderr)
    diff = json_diff(live, rep)
    if diff:
        raise Fail("report of the file != live report: %s" % diff[:8])
    check_schema(live, "trace --format json")
    check_schema(rep, "report --format json")
    # text: another run, live text and recorded, compared byte for byte
    trace2, live_txt, rep_txt = (os.path.join(tmp, n) for n in ("calls.pstrace", "live.txt", "rep.txt"))
    r = run([ctx.pyscope, "trace", "--record", trace2, "-o", live_txt, "--migration", "-f",
             os.path.join(APPS, "micro_calls.json"), "--", py, os.path.join(APPS, "micro_calls.py")],
            cwd=APPS)
    rt = run([ctx.pyscope, "report", trace2, "-o", rep_txt, "--migration"])
    if r.returncode != 0 or rt.returncode != 0:
        raise Fail("text round trip failed (%d, %d): %s %s" % (r.returncode, rt.returncode,
                                                              r.stderr[-300:], rt.stderr[-300:]))
    with open(live_txt) as f, open(rep_txt) as g:
        a, b = f.read(), g.read()
    if a != b or "PATTERN" not in a:
        raise Fail("text report of the file != live text:\n%s\n---\n%s" % (a[-600:], b[-600:]))


def t_record_sample(ctx, tmp):
    """The committed version-1 sample still reads, and its counts are the oracle's."""
    rr, rep = pyscope_report(ctx, SAMPLE, [], tmp, "sample")
    with open(SAMPLE_ORACLE) as f:
        orc = json.load(f)
    compare(rep, orc)
    check_schema(rep, "report of the sample")
    # the validator must be able to say no
    with open(SCHEMA) as f:
        sch = json.load(f)
    broken = json.loads(json.dumps(rep))
    broken["bogus"] = 1
    del broken["exact"]
    broken["patterns"][0]["count"] = -1
    broken["patterns"][0]["kind"] = "method"
    if len(schema.validate(broken, sch)) != 4:
        raise Fail("the schema validator misses errors: %s" % schema.validate(broken, sch))
    if rep["target"]["python"] != orc["python"]:
        raise Fail("sample: python %s, oracle %s" % (rep["target"]["python"], orc["python"]))


def first_chunk_end(data):
    clen = int.from_bytes(data[16 + 12:16 + 16], "little")
    return 16 + 32 + clen


def t_record_corrupt(ctx, tmp):
    """Cut at 50 offsets, bytes flipped: every run ends (timeout), never crashes, reports
    the damage, or one error line when even the header chunk is gone."""
    import random
    rng = random.Random(20261202)
    with open(SAMPLE, "rb") as f:
        good = f.read()
    head = first_chunk_end(good)
    cases = [("cut%d" % i, good[:rng.randrange(len(good))]) for i in range(50)]
    for i in range(20):
        d = bytearray(good)
        for _ in range(1 + i % 4):
            d[rng.randrange(len(d))] ^= rng.randrange(1, 256)
        cases.append(("flip%d" % i, bytes(d)))
    for name, data in cases:
        path = os.path.join(tmp, name + ".pstrace")
        with open(path, "wb") as f:
            f.write(data)
        try:
            r = run([ctx.pyscope, "report", path, "--format", "json"], timeout=20)
        except subprocess.TimeoutExpired:
            raise Fail("%s: pyscope report hung" % name)
        if r.returncode < 0 or r.returncode not in (0, 2):
            raise Fail("%s: exit %d: %s" % (name, r.returncode, r.stderr[-500:]))
        lines = r.stderr.strip().splitlines()
        if r.returncode == 2:
            damaged_head = len(data) < head or data[:head] != good[:head]
            if not damaged_head or len(lines) != 1:
                raise Fail("%s: refused (%s)" % (name, r.stderr.strip()))
            continue
        rep = json.loads(r.stdout)
        check_schema(rep, name)
        if data != good:
            if not any("trace file:" in l for l in lines) or rep["exact"]:
                raise Fail("%s: damage not reported: %s / exact=%s" % (name, r.stderr, rep["exact"]))
            if name.startswith("cut") and "no trailer" not in r.stderr:
                raise Fail("%s: a cut file has no trailer: %s" % (name, r.stderr))


def t_record_errors(ctx, tmp):
    """Empty file, newer version, not a trace, a FIFO, no file: one error line, exit 2."""
    with open(SAMPLE, "rb") as f:
        good = bytearray(f.read())
    newer = bytearray(good)
    newer[8] = 2
    newer[12:16] = zlib.crc32(bytes(newer[:12])).to_bytes(4, "little")
    files = {"empty": b"", "newer": bytes(newer), "text": b"hello, not a trace\n" * 10,
             "elf": open("/bin/true", "rb").read()}
    for name, data in files.items():
        with open(os.path.join(tmp, name), "wb") as f:
            f.write(data)
    os.mkfifo(os.path.join(tmp, "fifo"))
    want = {"empty": "empty", "newer": "newer", "text": "not a pyscope trace",
            "elf": "not a pyscope trace", "fifo": "not a regular file", "missing": "No such file"}
    for name, needle in want.items():
        r = run([ctx.pyscope, "report", os.path.join(tmp, name)], timeout=20)
        one_error_line("report " + name, r, needle)
        rj = run([ctx.pyscope, "report", os.path.join(tmp, name), "--format", "json"], timeout=20)
        if rj.returncode != 2 or "error" not in json.loads(rj.stdout):
            raise Fail("report --format json %s: no JSON error (%d): %s" % (name, rj.returncode, rj.stdout))
    r = run([ctx.pyscope, "record", "-e", "m:f", "--", "true"])
    one_error_line("record without -o", r, "-o FILE")


def t_record_slow_disk(ctx, py, tmp):
    """A disk slower than the events: record drops whole chunks, counts them, and the
    report says so; the kernel side is never held up (the run still ends)."""
    trace = os.path.join(tmp, "slow.pstrace")
    env = dict(os.environ, PYSCOPE_RECORD_DELAY_MS="300", PYSCOPE_RECORD_QUEUE="16384",
               PYSCOPE_RECORD_CHUNK="4096")
    r = run([ctx.pyscope, "record", "-o", trace, "-f", DEMO_PATTERNS, "--", py] + demo_args(3),
            cwd=APPS, env=env)
    if r.returncode != 0 or "not recorded" not in r.stderr:
        raise Fail("record with a slow disk (%d): %s" % (r.returncode, r.stderr[-800:]))
    rr, rep = pyscope_report(ctx, trace, [], tmp, "slow")
    if "not recorded" not in rr.stderr or rep["exact"] or "not recorded" not in rep["exact_reason"]:
        raise Fail("the report does not say events were lost: %s / %s" % (rr.stderr, rep["exact_reason"]))
    check_schema(rep, "report of a lossy file")


def t_record_kill(ctx, py, tmp):
    """pyscope record killed with -9 mid-run: the file still reads, totals from the last
    checkpoint; with SIGTERM it ends properly (trailer, no warning)."""
    proc = start_long_running(py, tmp)
    try:
        for sig, name in ((signal.SIGKILL, "kill9"), (signal.SIGTERM, "term")):
            trace = os.path.join(tmp, name + ".pstrace")
            rec = subprocess.Popen([ctx.pyscope, "record", "-p", str(proc.pid), "-e",
                                    "tick=__main__:tick", "-o", trace], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, universal_newlines=True)
            wait_armed(rec)
            time.sleep(2.6)		# two checkpoints (one a second)
            rec.send_signal(sig)
            rec.communicate(timeout=60)
            rr, rep = pyscope_report(ctx, trace, [], tmp, name)
            n = rep["patterns"][0]["count"]
            if sig == signal.SIGKILL:
                if "no trailer: totals are from the last checkpoint at" not in rr.stderr or rep["exact"]:
                    raise Fail("kill -9: damage not reported: %s" % rr.stderr)
            elif rr.stderr.strip() or not rep["exact"]:
                raise Fail("SIGTERM: the file is not complete: %s" % rr.stderr)
            if n < 500:
                raise Fail("%s: %d calls of tick in 2.6s" % (name, n))
            check_schema(rep, name)
        if proc.poll() is not None:
            raise Fail("the target died")
    finally:
        proc.kill()
        proc.wait()


class Ctx:
    pass


# -- pyscope serve ---------------------------------------------------------------

def free_port():
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_line(proc, needle, timeout=60):
    """Read proc's stderr until a line contains needle; returns the lines read.
    Reads the pipe itself (os.read), so that no line waits in a Python buffer
    unseen by select."""
    import select
    fd = proc.stderr.fileno()
    if not hasattr(proc, "pending"):
        proc.pending, proc.seen = b"", []
    deadline = time.time() + timeout
    lines = []
    while True:
        while b"\n" in proc.pending:
            line, _, proc.pending = proc.pending.partition(b"\n")
            line = line.decode("utf-8", "replace")
            lines.append(line)
            proc.seen.append(line)
            if needle in line:
                return "\n".join(lines)
        left = deadline - time.time()
        if left <= 0:
            raise Fail("no %r from pyscope in %ds: %s" % (needle, timeout,
                                                          "\n".join(proc.seen)[-600:]))
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            proc.wait()
            raise Fail("pyscope exited %s waiting for %r: %s"
                       % (proc.returncode, needle, "\n".join(proc.seen)[-600:]))
        proc.pending += chunk


def http_raw(port, data, timeout=5.0):
    """Send data, read until the server closes: (status, headers dict, body)."""
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1.1 "):
        raise Fail("not an HTTP response: %r" % raw[:200])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), headers, body.decode("utf-8")


def http_get(port, path="/metrics", method="GET"):
    return http_raw(port, ("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
                           % (method, path, port)).encode())


def parse_metrics(text):
    """Prometheus text format -> {(name, ((label, value), ...)): float}; checks the
    HELP/TYPE lines come before each family's samples."""
    out, typed = {}, {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            typed[name] = kind
            continue
        if line.startswith("#"):
            continue
        name, labels, i = "", [], 0
        while i < len(line) and line[i] not in "{ ":
            i += 1
        name = line[:i]
        if i < len(line) and line[i] == "{":
            i += 1
            while line[i] != "}":
                eq = line.index("=", i)
                key = line[i:eq]
                if line[eq + 1] != '"':
                    raise Fail("bad label in %r" % line)
                j, val = eq + 2, []
                while line[j] != '"':
                    if line[j] == "\\":
                        val.append({"n": "\n", "\\": "\\", '"': '"'}[line[j + 1]])
                        j += 2
                    else:
                        val.append(line[j])
                        j += 1
                labels.append((key, "".join(val)))
                i = j + 1
                if line[i] == ",":
                    i += 1
            i += 1
        value = float(line[i:].strip())
        base = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name[:-len(suffix)] in typed:
                base = name[:-len(suffix)]
        if base not in typed:
            raise Fail("sample %s before its # TYPE line" % name)
        out[(name, tuple(sorted(labels)))] = value
    return out


def series(metrics, name, **want):
    """{pattern or None: value} of the samples of name whose labels include want."""
    got = {}
    for (n, labels), v in metrics.items():
        d = dict(labels)
        if n == name and all(d.get(k) == str(w) for k, w in want.items()):
            got[d.get("pattern")] = v
    return got


def start_waiting_demo(py, tmp, tag, seed, requests, argv0=None):
    """The demo, held before serving until tmp/go-TAG exists."""
    ready = os.path.join(tmp, "ready-" + tag)
    go = os.path.join(tmp, "go-" + tag)
    args = demo_args(seed, "mixed", requests)
    proc = subprocess.Popen([argv0 or py] + args + ["--ready-file", ready, "--wait-file", go],
                            cwd=APPS, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while not os.path.exists(ready):
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            raise Fail("demo %s did not get ready" % tag)
        time.sleep(0.02)
    return proc, go, args


def check_histograms(m, pid):
    """Buckets ascend, +Inf equals _count, _count is at most the calls."""
    calls = series(m, "pyscope_calls_total", pid=pid)
    counts = series(m, "pyscope_call_duration_seconds_count", pid=pid)
    if set(counts) != set(calls):
        raise Fail("histograms for %s, counters for %s" % (sorted(counts), sorted(calls)))
    for pat, n in counts.items():
        buckets = sorted((float(dict(l)["le"]), v) for (name, l), v in m.items()
                         if name == "pyscope_call_duration_seconds_bucket"
                         and dict(l).get("pid") == str(pid) and dict(l)["pattern"] == pat)
        vals = [v for _, v in buckets]
        if vals != sorted(vals) or buckets[-1] != (float("inf"), n) or n > calls[pat]:
            raise Fail("histogram of %s: %s, count %s, calls %s" % (pat, buckets, n, calls[pat]))


def t_serve_http(ctx, py, tmp):
    """serve -p: hostile and slow clients, then the final counts equal the oracle's,
    shown once after the target exits and then dropped."""
    import socket
    demo, go, args = start_waiting_demo(py, tmp, "a", 11, 200)
    # a second -p, killed before it serves anything
    other, _, _ = start_waiting_demo(py, tmp, "b", 3, 10)
    port = free_port()
    sv = subprocess.Popen([ctx.pyscope, "serve", "--listen", "127.0.0.1:%d" % port, "-p",
                           str(demo.pid), "-p", str(other.pid), "-f", DEMO_PATTERNS],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    silent = []
    try:
        wait_line(sv, "serving http://127.0.0.1:%d/metrics" % port)
        m = parse_metrics(http_get(port)[2])
        if series(m, "pyscope_targets") != {None: 2}:
            raise Fail("two -p, pyscope_targets %s" % series(m, "pyscope_targets"))
        other.kill()
        other.wait()
        wait_line(sv, "pid %d exited" % other.pid)
        m = parse_metrics(http_get(port)[2])
        if series(m, "pyscope_target_exited", pid=other.pid) != {None: 1} or \
                set(series(m, "pyscope_calls_total", pid=other.pid).values()) != {0}:
            raise Fail("the killed target: %s" % series(m, "pyscope_target_exited"))
        # clients that connect and send nothing, or half a request, hold nothing up
        for data in (b"", b"GET /metr", b"GET /metrics HTTP/1.1\r\nHost: x\r\n"):
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
            if data:
                c.sendall(data)
            silent.append(c)
        t0 = time.time()
        st, hdr, body = http_get(port)
        if st != 200 or time.time() - t0 > 2:
            raise Fail("scrape next to silent clients: %d after %.1fs" % (st, time.time() - t0))
        if not hdr.get("content-type", "").startswith("text/plain; version=0.0.4"):
            raise Fail("content type %r" % hdr.get("content-type"))
        if series(parse_metrics(body), "pyscope_targets") != {None: 1}:
            raise Fail("pyscope_targets is not 1:\n" + body[-500:])
        # malformed, unknown, other methods, too large: refused, and the server goes on
        for data, want in ((b"GARBAGE\r\n\r\n", 400),
                           (b"GET /metrics HTTP/1.1\r\nno colon\r\n\r\n", 400),
                           (b"GET /metrics HTTP/2.0\r\n\r\n", 505),
                           (b"\x16\x03\x01\x00\xa5\x01\x00\x00", 400),
                           (b"GET /nope HTTP/1.1\r\n\r\n", 404),
                           (b"POST /metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi", 405),
                           (b"GET /metrics HTTP/1.1\r\nX: " + b"y" * 10000 + b"\r\n\r\n", 431)):
            st, hdr, _ = http_raw(port, data)
            if st != want:
                raise Fail("%r...: status %d, want %d" % (data[:30], st, want))
        st, hdr, body = http_get(port, method="HEAD")
        if st != 200 or body or int(hdr.get("content-length", 0)) < 100:
            raise Fail("HEAD: %d, %r, %r" % (st, hdr, body[:80]))
        # the silent ones are answered 408 and closed within the read timeout (5 s)
        for c in silent:
            c.settimeout(10)
            resp = c.recv(4096)
            if not resp.startswith(b"HTTP/1.1 408"):
                raise Fail("a silent client got %r" % resp[:60])
        # let the demo run; the exited target's final counts are served once
        open(go, "w").close()
        demo.wait(timeout=120)
        wait_line(sv, "pid %d exited" % demo.pid)
        st, _, body = http_get(port)
        m = parse_metrics(body)
        got = series(m, "pyscope_calls_total", pid=demo.pid)
        exited = series(m, "pyscope_target_exited", pid=demo.pid)
        exact = series(m, "pyscope_counts_exact", pid=demo.pid)
        lost = series(m, "pyscope_lost_events_total", pid=demo.pid)
        if exited != {None: 1} or exact != {None: 1} or lost != {None: 0}:
            raise Fail("exited %s, exact %s, lost %s" % (exited, exact, lost))
        check_histograms(m, demo.pid)
        st, _, body = http_get(port)
        if "pid=\"%d\"" % demo.pid in body or series(parse_metrics(body), "pyscope_targets") != {None: 0}:
            raise Fail("the exited target's series are still served after a scrape")
        sv.send_signal(signal.SIGTERM)
        sv.wait(timeout=30)
        if sv.returncode != 0:
            raise Fail("serve exited %d after SIGTERM" % sv.returncode)
    finally:
        for c in silent:
            c.close()
        for p in (sv, demo, other):
            if p.poll() is None:
                p.kill()
                p.wait()
    orc = oracle(py, DEMO_PATTERNS, args, APPS, tmp, "serve")
    want = orc["counts"]
    diff = {k: (got.get(k), want[k]) for k in want if got.get(k) != want[k]}
    if diff or not any(want.values()):
        raise Fail("served != oracle (served, oracle): %s" % diff)


def t_serve_errors(ctx, tmp):
    """serve's bad inputs: one line each, exit status 2, nothing left listening."""
    import socket
    sleeper = subprocess.Popen(["sleep", "30"])
    busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    bport = busy.getsockname()[1]
    me = str(os.getpid())
    cases = [
        ("no target", ["serve", "-e", "m:f"], "-p PID"),
        ("with a command", ["serve", "-e", "m:f", "--", "python3"], "-p PID"),
        ("bad --listen", ["serve", "-p", me, "-e", "m:f", "--listen", "nonsense"], "--listen"),
        ("named --listen host", ["serve", "-p", me, "-e", "m:f", "--listen", "example.org:80"],
         "--listen"),
        ("port in use", ["serve", "-p", me, "-e", "m:f", "--listen", "127.0.0.1:%d" % bport],
         "Address already in use"),
        ("bad --match", ["serve", "--match", "a/b", "-e", "m:f"], "--match"),
        ("-o", ["serve", "-p", me, "-e", "m:f", "-o", os.path.join(tmp, "x")], "do not apply"),
        ("the same -p twice", ["trace", "-p", me, "-p", me, "-e", "m:f"], "given twice"),
        ("--match to trace", ["trace", "--match", "x", "-e", "m:f"], "for pyscope serve"),
        ("not python", ["serve", "-p", str(sleeper.pid), "-e", "m:f", "--listen",
                        "127.0.0.1:%d" % free_port()], "not a Python process"),
    ]
    try:
        for what, args, needle in cases:
            one_error_line(what, run([ctx.pyscope] + args, timeout=30), needle)
    finally:
        sleeper.kill()
        busy.close()


def prom_query(port, q):
    import urllib.parse
    import urllib.request
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": q}))
    with urllib.request.urlopen(url, timeout=10) as r:
        doc = json.load(r)
    if doc.get("status") != "success":
        raise Fail("prometheus query %s: %s" % (q, doc))
    return {tuple(sorted(x["metric"].items())): float(x["value"][1])
            for x in doc["data"]["result"]}


def t_serve_prometheus(ctx, py, tmp):
    """A real Prometheus scrapes serve --match while two demos come and go; what it
    stored for each process, and summed by pattern, equals the oracle's counts."""
    prom = shutil.which("prometheus")
    if not prom:
        raise Fail("no prometheus binary: tools/test-deps.sh (make test-deps) installs it")
    # a name only our demos have: --match must not pick another process on the machine
    name = "pys%06d" % (os.getpid() % 1000000) + "%03d" % (int(time.time() * 1000) % 1000)
    bindir = os.path.join(tmp, "bin")
    os.makedirs(bindir)
    argv0 = os.path.join(bindir, name)
    os.symlink(py, argv0)
    sport, pport = free_port(), free_port()
    with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: pyscope\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % sport)
    procs = []
    log = open(os.path.join(tmp, "prometheus.log"), "w")
    try:
        sv = subprocess.Popen([ctx.pyscope, "serve", "--listen", "127.0.0.1:%d" % sport,
                               "--match", name, "-i", "200ms", "-f", DEMO_PATTERNS],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              universal_newlines=True)
        procs.append(sv)
        wait_line(sv, "serving http://")
        pr = subprocess.Popen([prom, "--config.file=" + os.path.join(tmp, "prometheus.yml"),
                               "--storage.tsdb.path=" + os.path.join(tmp, "tsdb"),
                               "--web.listen-address=127.0.0.1:%d" % pport,
                               "--log.level=warn"], stdout=log, stderr=log, cwd=tmp)
        procs.append(pr)
        runs = []
        for tag, seed, requests in (("a", 11, 200), ("b", 5, 150)):
            demo, go, args = start_waiting_demo(py, tmp, tag, seed, requests, argv0)
            procs.append(demo)
            wait_line(sv, "tracing pid %d " % demo.pid, timeout=60)
            open(go, "w").close()
            demo.wait(timeout=120)
            runs.append((demo.pid, args))
        want = {}
        total = {}
        for pid, args in runs:
            orc = oracle(py, DEMO_PATTERNS, args, APPS, tmp, "prom-%d" % pid)
            want[pid] = orc["counts"]
            for k, v in orc["counts"].items():
                total[k] = total.get(k, 0) + v
        # Prometheus has each process's final counts once it scraped after its exit
        deadline, last = time.time() + 90, None
        while True:
            try:
                got = prom_query(pport, "last_over_time(pyscope_calls_total[10m])")
                per = {}
                for labels, v in got.items():
                    d = dict(labels)
                    per.setdefault(int(d["pid"]), {})[d["pattern"]] = v
                sums = {dict(l)["pattern"]: v for l, v in prom_query(
                    pport, "sum by (pattern) (last_over_time(pyscope_calls_total[10m]))").items()}
                exact = prom_query(pport, "min(last_over_time(pyscope_counts_exact[10m]))")
                last = (per, sums, exact)
                if (all(per.get(pid) == {k: float(v) for k, v in want[pid].items()}
                        for pid, _ in runs) and sums == {k: float(v) for k, v in total.items()}
                        and list(exact.values()) == [1.0]):
                    break
            except (OSError, ValueError, KeyError):
                pass
            if time.time() > deadline or pr.poll() is not None:
                raise Fail("Prometheus never had the oracle's counts:\n  got %s\n  want %s %s"
                           % (last, want, total))
            time.sleep(1)
        # docs/deploy.md's alert fires for both processes (all their calls were this hour)
        alert = prom_query(pport, 'increase(pyscope_calls_total{pattern="legacy_construct"}[1h]) > 0'
                           ' or (max_over_time(pyscope_calls_total{pattern="legacy_construct"}[1h])'
                           ' > 0 unless pyscope_calls_total{pattern="legacy_construct"} offset 1h)')
        fired = sorted(int(dict(l)["pid"]) for l in alert)
        hit = sorted(pid for pid, _ in runs if want[pid]["legacy_construct"])
        if fired != hit or not hit:
            raise Fail("the legacy alert fired for pids %s, want %s" % (fired, hit))
        up = prom_query(pport, 'up{job="pyscope"}')
        if list(up.values()) != [1.0]:
            raise Fail("up = %s" % up)
        # both exited processes were scraped after their exit: their series are gone
        st, _, body = http_get(sport)
        if series(parse_metrics(body), "pyscope_targets") != {None: 0}:
            raise Fail("exited processes still served:\n" + body[-400:])
        sv.send_signal(signal.SIGTERM)
        sv.wait(timeout=30)
        if sv.returncode != 0:
            raise Fail("serve exited %d after SIGTERM" % sv.returncode)
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.kill()
                p.wait()
        log.close()


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
        if label.startswith(("py3.8.", "py3.13.")):
            # the fixed-rate demo of make bench: requests paced, both halves side by side
            tests.append(("demo-rate/" + label, lambda tmp, py=py: t_demo(
                ctx, py, tmp, extra=("--rate", "300"))))
        if label.startswith(("py3.8.", "py3.12.", "py3.13.", "debian3.11")):
            tests.append(("lifecycle/thread-waves/" + label,
                          lambda tmp, py=py: t_thread_waves(ctx, py, tmp)))
    tests.append(("errors/bad-input", lambda tmp: t_bad_input(ctx, tmp)))
    tests.append(("serve/errors", lambda tmp: t_serve_errors(ctx, tmp)))
    newest = [py for label, py in interpreters() if label.startswith("py3.12")]
    if newest:
        tests.append(("speedscope/viewer", lambda tmp: t_speedscope(ctx, newest[0], tmp)))
    tests.append(("security/output-file",
                  lambda tmp: t_output_file(ctx, interpreters()[0][1], tmp)))
    tests.append(("security/privileges", lambda tmp: t_privileges(ctx, tmp)))
    for label, py in interpreters():
        if label in ("py3.8.18", "py3.10.13"):
            tests.append(("security/source-files/" + label,
                          lambda tmp, py=py: t_source_files(ctx, py, tmp)))
    tests.append(("errors/pattern-files",
                  lambda tmp: t_bad_patterns(ctx, interpreters()[0][1], tmp)))
    for label, py in interpreters():
        if label in ("py3.8.18", "py3.13.0", "debian3.11"):
            tests.append(("errors/dead-targets/" + label,
                          lambda tmp, py=py: t_dead_targets(ctx, py, tmp)))
            tests.append(("warnings/unmatched/" + label,
                          lambda tmp, py=py: t_unmatched_warning(ctx, py, tmp)))
            tests.append(("security/hostile-strings/" + label,
                          lambda tmp, py=py: t_hostile_strings(ctx, py, tmp)))
    for label, py in interpreters():
        if label in ("py3.8.18", "py3.13.0", "debian3.11"):
            tests.append(("lifecycle/" + label, lambda tmp, py=py: t_lifecycle(ctx, py, tmp)))
            tests.append(("lifecycle/signals/" + label,
                          lambda tmp, py=py: t_signals(ctx, py, tmp)))
            tests.append(("lifecycle/exec/" + label, lambda tmp, py=py: t_exec(ctx, py, tmp)))
            tests.append(("lifecycle/forks-untraced/" + label,
                          lambda tmp, py=py: t_forks_untraced(ctx, py, tmp)))
            tests.append(("lifecycle/follow-forks/" + label,
                          lambda tmp, py=py: t_follow_forks(ctx, py, tmp)))
        tests.append(("bp-calls/" + label, lambda tmp, py=py: t_breakpoint(
            ctx, py, tmp, "micro_calls.py", BP_CALLS)))
        tests.append(("bp-ctor/" + label, lambda tmp, py=py: t_breakpoint(
            ctx, py, tmp, "micro_ctor.py", BP_CTOR)))
        tests.append(("check/" + label, lambda tmp, py=py: t_check(ctx, py, tmp)))
        tests.append(("bp-demo/" + label, lambda tmp, py=py: t_bp_demo(ctx, py, tmp)))
        if label in ("py3.8.18", "py3.10.13", "py3.13.0", "debian3.11"):
            tests.append(("bp-idle/" + label, lambda tmp, py=py: t_bp_idle(ctx, py, tmp)))
        tests.append(("bp-redefine/" + label, lambda tmp, py=py: t_redefine(ctx, py, tmp)))
        tests.append(("check-json/" + label, lambda tmp, py=py: t_check_json(ctx, py, tmp)))
        tests.append(("paths/" + label, lambda tmp, py=py: t_paths(ctx, py, tmp)))
        tests.append(("outputs/" + label, lambda tmp, py=py: t_outputs(ctx, py, tmp)))
        tests.append(("profile/" + label, lambda tmp, py=py: t_profile(ctx, py, tmp)))
        tests.append(("profile-sampled/" + label,
                      lambda tmp, py=py: t_profile(ctx, py, tmp, sampled=True)))
    for label, py in interpreters():
        if label.startswith("py3.8") or label == "debian3.11":
            tests.append(("serve/http/" + label, lambda tmp, py=py: t_serve_http(ctx, py, tmp)))
        if label.startswith("py3.12") or label == "debian3.11":
            tests.append(("serve/prometheus/" + label,
                          lambda tmp, py=py: t_serve_prometheus(ctx, py, tmp)))
    for label, py in interpreters():
        tests.append(("golden-faults/" + label, lambda tmp, py=py: t_golden_faults(ctx, py, tmp)))
        if label in ("py3.8.18", "py3.13.0", "debian3.11"):
            tests.append(("golden-clean/" + label,
                          lambda tmp, py=py: t_golden_clean(ctx, py, tmp)))
        if label == "debian3.11":
            tests.append(("golden-lossy/" + label,
                          lambda tmp, py=py: t_golden_lossy(ctx, py, tmp)))
    multi = [py for label, py in interpreters() if label.startswith(("py3.9.", "py3.13."))]
    if len(multi) == 2:
        tests.append(("lifecycle/multi-pid/py3.9+py3.13", lambda tmp: t_multi_pid(ctx, multi, tmp)))
    for label, py in interpreters():
        if label.startswith(("py3.8.", "py3.12.", "py3.13.")):
            tests.append(("lifecycle/namespace/" + label,
                          lambda tmp, py=py: t_namespace(ctx, py, tmp)))
    for label, py in interpreters():
        tests.append(("probe-points/" + label, lambda tmp, py=py: t_probe_points(ctx, py, tmp)))
        if label in ("py3.8.18", "py3.13.0", "debian3.11"):
            tests.append(("detach/" + label, lambda tmp, py=py: t_detach_clean(ctx, py, tmp)))
        if label in ("py3.10.13", "py3.12.1"):
            tests.append(("fallback/" + label, lambda tmp, py=py: t_perf_fallback(ctx, py, tmp)))
    for label, py in interpreters():
        if label in ("py3.10.13", "py3.13.0", "debian3.11"):
            tests.append(("record/roundtrip/" + label,
                          lambda tmp, py=py: t_record_roundtrip(ctx, py, tmp)))
    tests.append(("record/sample", lambda tmp: t_record_sample(ctx, tmp)))
    tests.append(("record/corrupt", lambda tmp: t_record_corrupt(ctx, tmp)))
    tests.append(("record/errors", lambda tmp: t_record_errors(ctx, tmp)))
    tests.append(("record/kill", lambda tmp: t_record_kill(ctx, interpreters()[-1][1], tmp)))
    tests.append(("record/slow-disk", lambda tmp: t_record_slow_disk(ctx, interpreters()[-1][1], tmp)))
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
