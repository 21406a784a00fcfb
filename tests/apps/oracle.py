#!/usr/bin/env python3
"""In-process oracle for pyscope's differential tests.

Runs a workload under sys.setprofile (before 3.12) or sys.monitoring (3.12+)
and counts, per pattern, the calls pyscope is supposed to count, by the rules
in docs/patterns.md, computed independently of pyscope:

  * a call is a function start: PY_START, or a profile 'call' event for a
    frame that has not started yet (generator resumes do not count);
  * module and qualified name come from the frame's globals and the function
    object, not from file names or line numbers;
  * a construction of class C is a start of an __init__ whose first argument
    is an instance of exactly C and whose calling frame does not hold the same
    object in its first local (super().__init__() chains).

Usage: oracle.py --patterns FILE --out FILE [--capture NAME] -- (-m MODULE | SCRIPT) [ARGS...]
A process the workload forks counts its own calls and writes them to FILE.PID.
Writes {"python": ..., "counts": {name: n}, "sites": {name: {"file:line": n}},
"paths": {name: [[["file:line", ...] innermost caller first, n], ...]},
"captures": {name: {value: n}}}.
"""
import gc
import json
import os
import runpy
import sys
import threading

CO_VARARGS = 0x04
CO_VARKEYWORDS = 0x08
HEAPTYPE = 1 << 9
MAX_SIG = 6


def load_patterns(path):
    with open(path) as f:
        doc = json.load(f)
    items = doc["patterns"] if isinstance(doc, dict) else doc
    pats = []
    for it in items:
        if "class" in it:
            kind, spec = "class", it["class"]
        else:
            spec = it.get("function") or it["spec"]
            kind = "function"
            if spec.startswith("class:"):
                kind, spec = "class", spec[6:]
            elif spec.startswith("func:"):
                spec = spec[5:]
        module, qualname = spec.split(":")
        owner = qualname.rpartition(".")[0]
        is_method = bool(owner) and not owner.endswith("<locals>")
        pats.append({
            "name": it.get("name", qualname),
            "kind": kind,
            "module": module,
            "qualname": qualname,
            "skip_self": it.get("self", kind == "class" or is_method),
            "args": [None if a in (None, "*") else a for a in it.get("args", [])],
            "nargs": it.get("nargs"),
            "kwargs": it.get("kwargs", []),
            "no_kwargs": it.get("no_kwargs", False),
        })
    return pats


def type_name(t):
    """The name pyscope shows for a type: qualname for heap types, tp_name otherwise."""
    if t.__flags__ & HEAPTYPE:
        return t.__qualname__
    mod = t.__module__
    return t.__name__ if mod == "builtins" else "%s.%s" % (mod, t.__name__)


def type_matches(want, have):
    return want is None or have == want or have.endswith("." + want)


_qualnames = {}


def code_qualname(code):
    q = getattr(code, "co_qualname", None)
    if q is not None:
        return q
    q = _qualnames.get(code)
    if q is None:
        q = code.co_name
        for ref in gc.get_referrers(code):
            if getattr(ref, "__code__", None) is code and hasattr(ref, "__qualname__"):
                q = ref.__qualname__
                break
        _qualnames[code] = q
    return q


def first_local(frame):
    code = frame.f_code
    if code.co_nlocals == 0 or not code.co_varnames:
        return None, False
    loc = frame.f_locals
    name = code.co_varnames[0]
    return loc.get(name), name in loc


def signature(frame):
    code = frame.f_code
    loc = frame.f_locals
    names = code.co_varnames
    slots = []
    for i in range(min(code.co_argcount, MAX_SIG)):
        slots.append(loc.get(names[i]))
    idx = code.co_argcount + code.co_kwonlyargcount
    if code.co_flags & CO_VARARGS:
        for v in loc.get(names[idx], ())[:MAX_SIG - len(slots)]:
            slots.append(v)
        idx += 1
    kw = []
    if code.co_flags & CO_VARKEYWORDS:
        kw = list(loc.get(names[idx], {}).keys())
    return slots, kw


def sig_ok(p, slots, kw):
    skip = 1 if p["skip_self"] else 0
    pos = slots[skip:]
    if p["nargs"] is not None and len(pos) != p["nargs"]:
        return False
    for i, want in enumerate(p["args"]):
        if want is None:
            continue
        if i >= len(pos) or not type_matches(want, type_name(type(pos[i]))):
            return False
    if p["no_kwargs"] and kw:
        return False
    return all(k in kw for k in p["kwargs"])


def capture_text(v):
    """A captured argument as pyscope prints it."""
    if type(v) is str:
        return "'%s'" % v[:47]
    if type(v) is int:
        return str(v) if -(1 << 60) < v < (1 << 60) else "<int too big>"
    return "<%s>" % type_name(type(v))[:47]


def path_of(frame):
    """file:line of every caller, innermost first (what pyscope walks)."""
    out = []
    f = frame.f_back
    while f is not None and len(out) < 64:
        out.append("%s:%d" % (f.f_code.co_filename, f.f_lineno))
        f = f.f_back
    return tuple(out)


class Oracle:
    def __init__(self, pats, capture=None):
        self.pats = pats
        self.capture = capture
        self.counts = {p["name"]: 0 for p in pats}
        self.sites = {p["name"]: {} for p in pats}
        self.paths = {p["name"]: {} for p in pats}
        self.captures = {p["name"]: {} for p in pats}
        self.lock = threading.Lock()
        self.leaves = {p["qualname"].rpartition(".")[2] for p in pats if p["kind"] == "function"}
        self.classes = any(p["kind"] == "class" for p in pats)
        self.inits = set()      # classes seen constructed through __init__

    def on_start(self, frame):
        code = frame.f_code
        name = code.co_name
        is_ctor = self.classes and name in ("__init__", "__new__")
        if name not in self.leaves and not is_ctor:
            return
        module = frame.f_globals.get("__name__")
        qual = code_qualname(code)
        slots = kw = None
        hits = []
        for p in self.pats:
            if p["kind"] == "function":
                if p["qualname"] != qual or p["module"] != module:
                    continue
            else:
                if not is_ctor or code.co_argcount < 1:
                    continue
                if slots is None:
                    slots, kw = signature(frame)
                if not slots:
                    continue
                obj = slots[0]
                cls = obj if name == "__new__" else type(obj)
                if not isinstance(cls, type) or type_name(cls) != p["qualname"]:
                    continue
                if cls.__flags__ & HEAPTYPE and cls.__module__ != p["module"]:
                    continue
                if name == "__new__" and p["name"] in self.inits:
                    continue
                caller = frame.f_back
                if caller is not None:
                    val, ok = first_local(caller)
                    if ok and val is obj:
                        continue        # super().__init__() or a re-init
            if slots is None:
                slots, kw = signature(frame)
            if not sig_ok(p, slots, kw):
                continue
            hits.append(p)
        if not hits:
            return
        caller = frame.f_back
        site = "%s:%d" % (caller.f_code.co_filename, caller.f_lineno) if caller else "<called from C>"
        path = path_of(frame)
        cap = None
        if self.capture and self.capture in code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]:
            cap = capture_text(frame.f_locals.get(self.capture))
        with self.lock:
            for p in hits:
                n = p["name"]
                self.counts[n] += 1
                self.sites[n][site] = self.sites[n].get(site, 0) + 1
                self.paths[n][path] = self.paths[n].get(path, 0) + 1
                if cap is not None:
                    self.captures[n][cap] = self.captures[n].get(cap, 0) + 1
                if p["kind"] == "class" and name == "__init__":
                    self.inits.add(n)

    # -- hooks ----------------------------------------------------------------
    def install(self):
        if sys.version_info >= (3, 12):
            mon = sys.monitoring
            tool = mon.PROFILER_ID
            mon.use_tool_id(tool, "pyscope-oracle")
            getframe = sys._getframe

            def py_start(code, offset):
                self.on_start(getframe(1))

            mon.register_callback(tool, mon.events.PY_START, py_start)
            mon.set_events(tool, mon.events.PY_START)
            return

        started = self._started_checker()

        def prof(frame, event, arg):
            if event == "call" and started(frame):
                self.on_start(frame)

        threading.setprofile(prof)
        sys.setprofile(prof)

    @staticmethod
    def _started_checker():
        """Is this 'call' event a function start rather than a generator resume?"""
        if sys.version_info < (3, 11):
            return lambda frame: frame.f_lasti < 0
        import dis
        first_resume = {}

        def resume_offset(code):
            off = first_resume.get(code)
            if off is None:
                off = 0
                for ins in dis.get_instructions(code):
                    if ins.opname == "RESUME":
                        off = ins.offset
                        break
                first_resume[code] = off
            return off

        # 3.11 reports 'call' when the RESUME runs; a resumed generator is past it
        return lambda frame: frame.f_lasti <= resume_offset(frame.f_code)

    def uninstall(self):
        if sys.version_info >= (3, 12):
            mon = sys.monitoring
            mon.set_events(mon.PROFILER_ID, 0)
            mon.free_tool_id(mon.PROFILER_ID)
        else:
            sys.setprofile(None)
            threading.setprofile(None)


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.exit(__doc__)
    sep = argv.index("--")
    opts, target = argv[:sep], argv[sep + 1:]
    patterns = opts[opts.index("--patterns") + 1]
    out = opts[opts.index("--out") + 1]
    capture = opts[opts.index("--capture") + 1] if "--capture" in opts else None
    oracle = Oracle(load_patterns(patterns), capture)
    status = 0
    state = {"out": out}

    def dump():
        with open(state["out"], "w") as f:
            json.dump({"python": sys.version.split()[0], "counts": oracle.counts,
                       "sites": oracle.sites, "captures": oracle.captures,
                       "paths": {k: [[list(p), n] for p, n in v.items()]
                                 for k, v in oracle.paths.items()}}, f, indent=1, sort_keys=True)

    real_exit = os._exit

    def exit_child(code):
        dump()
        real_exit(code)

    def forked():
        # a forked child counts its own calls, in OUT.PID (written when it exits)
        state["out"] = "%s.%d" % (out, os.getpid())
        for name in oracle.counts:
            oracle.counts[name] = 0
            oracle.sites[name] = {}
            oracle.paths[name] = {}
            oracle.captures[name] = {}
        oracle.lock = threading.Lock()
        os._exit = exit_child

    os.register_at_fork(after_in_child=forked)
    oracle.install()
    try:
        if target[0] == "-m":
            sys.argv = [target[1]] + target[2:]
            runpy.run_module(target[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv = list(target)
            sys.path.insert(0, os.path.dirname(os.path.abspath(target[0])))
            runpy.run_path(target[0], run_name="__main__")
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        oracle.uninstall()
    dump()
    sys.exit(status)


if __name__ == "__main__":
    main()
