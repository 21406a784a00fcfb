#!/usr/bin/env python3
"""Regenerate the fuzzers' seed corpora in tests/fuzz/corpus/ (stdlib only).

    tests/fuzz/mkcorpus.py            # all corpora
    tests/fuzz/mkcorpus.py elf        # one of: elf pattern linetable srcscan model

The seeds are committed; run this only to refresh them.  They come from:
  pattern    the repository's pattern files, plus a few hand-written ones
  linetable  the CPython line tables in tests/unit/fixtures, in the harness's
             input format (minor, flags, first line, table)
  srcscan    the repository's Python sources, as (first line, name, source)
  model      a few kernel records (code objects, aggregates) shaped like real ones
  elf        /bin/true, and trimmed images of the installed interpreters:
             every section header and program header is kept (executable
             ranges as SHT_NOBITS), but only a few windows of bytes survive:
             the symbols pyscope looks up, the opcode table, the version
             string, the USDT notes and DT_NEEDED.  A 30 MB libpython becomes
             a few KB that still has the structure pyscope parses.
"""
import glob
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")

# -- ELF trimming --------------------------------------------------------------

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
SHDR = struct.Struct("<IIQQQQIIQQ")
SYM = struct.Struct("<IBBHQQ")
RELA = struct.Struct("<QQq")
DYN = struct.Struct("<qQ")
SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_DYNAMIC, SHT_NOTE, SHT_NOBITS = \
    1, 2, 3, 4, 6, 7, 8
SHT_DYNSYM = 11
SHF_ALLOC = 2
DT_NEEDED = 1

# Symbols pyscope (or a plausible reader) looks up, and how many bytes of each to keep.
PY_SYMS = {
    "Py_Version": 4, "_PyRuntime": 600, "Py_GetVersion": 192, "opcode_targets.0": 2048,
    "opcode_targets": 2048, "_PyEval_EvalFrameDefault": 0, "_PyFrame_ClearExceptCode": 0,
    "_PyFrame_Clear": 0, "PyCode_Type": 64, "PyType_Type": 64, "PyCell_Type": 0,
    "_Py_NegativeRefcount": 0, "main": 0, "Py_BytesMain": 0,
}


class Sect:
    def __init__(self, name, fields, data=b""):
        (self.sh_name, self.type, self.flags, self.addr, self.offset, self.size, self.link,
         self.info, self.align, self.entsize) = fields
        self.name = name
        self.data = data


def parse(blob):
    eh = EHDR.unpack_from(blob, 0)
    if eh[0][:4] != b"\x7fELF" or eh[0][4] != 2:
        raise ValueError("not ELF64")
    shoff, shnum, shstrndx = eh[6], eh[12], eh[13]
    raw = [SHDR.unpack_from(blob, shoff + i * SHDR.size) for i in range(shnum)]
    shstr = raw[shstrndx]
    strtab = blob[shstr[4]:shstr[4] + shstr[5]]
    sects = []
    for f in raw:
        name = strtab[f[0]:strtab.index(b"\0", f[0])].decode()
        data = b"" if f[1] == SHT_NOBITS else blob[f[4]:f[4] + f[5]]
        sects.append(Sect(name, f, data))
    return eh, sects


def cstr(tab, off):
    return tab[off:tab.index(b"\0", off)]


def trim(path, keep_syms, drop_syms=(), windows=(), find=()):
    blob = open(path, "rb").read()
    eh, sects = parse(blob)
    phoff, phentsize, phnum = eh[5], eh[9], eh[10]

    # symbols to keep, per symbol table, and the byte windows they imply
    wins = list(windows)
    kept = {}
    for i, s in enumerate(sects):
        if s.type not in (SHT_SYMTAB, SHT_DYNSYM):
            continue
        strs = sects[s.link].data
        out = [(b"", SYM.unpack_from(s.data, 0))]
        for k in range(1, len(s.data) // SYM.size):
            sym = SYM.unpack_from(s.data, k * SYM.size)
            name = cstr(strs, sym[0]).decode("latin-1")
            if name in keep_syms and name not in drop_syms:
                out.append((name.encode("latin-1"), sym))
                if sym[4] and keep_syms[name]:
                    wins.append((sym[4], min(keep_syms[name], sym[5] or keep_syms[name])))
        kept[i] = out
    for text in find:
        for s in sects:
            if s.type == SHT_PROGBITS and s.flags & SHF_ALLOC and s.addr:
                at = s.data.find(text)
                if at >= 0:
                    wins.append((s.addr + max(0, at - 16), len(text) + 48))
    wins.sort()
    merged = []
    for a, n in wins:
        if merged and a <= merged[-1][0] + merged[-1][1]:
            start = merged[-1][0]
            merged[-1] = (start, max(merged[-1][1], a + n - start))
        else:
            merged.append((a, n))

    # string tables to rebuild: names of kept symbols and DT_NEEDED entries
    needed = {}
    for i, s in enumerate(sects):
        if s.type == SHT_DYNAMIC:
            strs = sects[s.link].data
            needed[i] = [cstr(strs, DYN.unpack_from(s.data, k * DYN.size)[1])
                         for k in range(len(s.data) // DYN.size)
                         if DYN.unpack_from(s.data, k * DYN.size)[0] == DT_NEEDED]
    newstr = {}
    for i, s in enumerate(sects):
        if i in kept:
            newstr.setdefault(s.link, []).extend(n for n, _ in kept[i][1:])
        if i in needed:
            newstr.setdefault(s.link, []).extend(needed[i])
    strtabs = {}
    for i, names in newstr.items():
        data, offs = b"\0", {b"": 0}
        for n in names:
            if n not in offs:
                offs[n] = len(data)
                data += n + b"\0"
        strtabs[i] = (data, offs)

    out = [Sect("", (0,) * 10)]
    newidx = {}
    for i, s in enumerate(sects[1:], 1):
        f = [0, s.type, s.flags, s.addr, 0, s.size, s.link, s.info, s.align, s.entsize]
        if i in kept:
            data = b"".join(SYM.pack(strtabs[s.link][1][n], *sym[1:]) for n, sym in kept[i])
            f[7] = 1 + sum(1 for n, sym in kept[i][1:] if sym[1] >> 4 == 0)
            newidx[i] = len(out)
            out.append(Sect(s.name, f, data))
        elif i in strtabs:
            newidx[i] = len(out)
            out.append(Sect(s.name, f, strtabs[i][0]))
        elif i in needed:
            offs = strtabs[s.link][1]
            data = b"".join(DYN.pack(DT_NEEDED, offs[n]) for n in needed[i]) + DYN.pack(0, 0)
            newidx[i] = len(out)
            out.append(Sect(s.name, f, data))
        elif s.type == SHT_RELA:
            rel = [s.data[k:k + RELA.size] for k in range(0, len(s.data), RELA.size)]
            rel = [r for r in rel if any(a <= RELA.unpack(r)[0] < a + n for a, n in merged)]
            f[6] = 0
            newidx[i] = len(out)
            out.append(Sect(s.name, f, b"".join(rel)))
        elif s.type == SHT_NOTE or s.name == ".stapsdt.base":
            newidx[i] = len(out)
            out.append(Sect(s.name, f, s.data))
        elif s.flags & SHF_ALLOC and s.addr:
            inside = [(a, n) for a, n in merged if s.addr <= a < s.addr + s.size]
            first = None
            for a, n in inside:
                n = min(n, s.addr + s.size - a)
                g = list(f)
                g[1], g[3], g[5] = SHT_PROGBITS, a, n
                if first is None:
                    first = len(out)
                out.append(Sect(s.name, g, blob[s.offset + a - s.addr:s.offset + a - s.addr + n]
                                if s.type != SHT_NOBITS else b"\0" * n))
            g = list(f)
            g[1] = SHT_NOBITS
            newidx[i] = first if first is not None else len(out)
            out.append(Sect(s.name + ".rest" if inside else s.name, g))
    for s in out[1:]:
        if s.type in (SHT_SYMTAB, SHT_DYNSYM, SHT_DYNAMIC):
            s.link = newidx[s.link]

    # .shstrtab last
    names, shstr = {}, b"\0"
    for s in out[1:] + [Sect(".shstrtab", (0,) * 10)]:
        if s.name not in names:
            names[s.name] = len(shstr)
            shstr += s.name.encode() + b"\0"
    out.append(Sect(".shstrtab", (0, SHT_STRTAB, 0, 0, 0, len(shstr), 0, 0, 1, 0), shstr))

    body = bytearray(EHDR.size)
    body += blob[phoff:phoff + phentsize * phnum]
    for s in out[1:]:
        s.sh_name = names[s.name]
        if s.type == SHT_NOBITS:
            s.offset = len(body)
            continue
        body += b"\0" * (-len(body) % 8)
        s.offset = len(body)
        s.size = len(s.data)
        body += s.data
    body += b"\0" * (-len(body) % 8)
    shoff = len(body)
    for s in out:
        body += SHDR.pack(s.sh_name, s.type, s.flags, s.addr, s.offset, s.size, s.link, s.info,
                          s.align, s.entsize)
    body[:EHDR.size] = EHDR.pack(eh[0], eh[1], eh[2], eh[3], eh[4], EHDR.size if phnum else 0,
                                 shoff, eh[7], eh[8], eh[9], phnum, SHDR.size, len(out),
                                 len(out) - 1)
    return bytes(body)


def info_table_addr(path):
    """Where `pyscope info` found a stripped interpreter's opcode table (text output)."""
    import subprocess
    r = subprocess.run([os.path.join(ROOT, "build", "pyscope"), "info", "--", path, "-c", "pass"],
                       stdout=subprocess.PIPE, universal_newlines=True)
    m = re.search(r"opcode table:\s+0x([0-9a-f]+)", r.stdout)
    return int(m.group(1), 16) if m else None


def gen_elf(d):
    shutil_copy("/bin/true", os.path.join(d, "bin-true"))
    pyenv = "/root/.pyenv/versions"
    jobs = [
        # (seed name, file, symbols to drop so another detection path runs)
        ("py3.8-getversion", glob.glob(pyenv + "/3.8*/lib/libpython3.8.so.1.0"), (), (b"3.8.",)),
        ("py3.10-getversion", glob.glob(pyenv + "/3.10*/lib/libpython3.10.so.1.0"), (),
         (b"3.10.",)),
        ("py3.12-symbols", glob.glob(pyenv + "/3.12*/lib/libpython3.12.so.1.0"), (), ()),
        ("py3.13-debugoffsets", glob.glob(pyenv + "/3.13*/lib/libpython3.13.so.1.0"),
         ("Py_Version",), ()),
    ]
    for name, paths, drop, find in jobs:
        if paths:
            write(os.path.join(d, name), trim(sorted(paths)[-1], PY_SYMS, drop, find=find))
    deb = "/usr/bin/python3.11"
    if os.path.exists(deb):
        at = info_table_addr(deb)
        wins = [(at, 2048)] if at else []
        write(os.path.join(d, "debian3.11-stripped-usdt"), trim(deb, PY_SYMS, windows=wins))


# -- the other corpora ------------------------------------------------------------

def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def shutil_copy(src, dst):
    if os.path.exists(src):
        with open(src, "rb") as f:
            write(dst, f.read())


def gen_pattern(d):
    files = glob.glob(os.path.join(ROOT, "tests", "apps", "*.json")) + \
        glob.glob(os.path.join(ROOT, "tests", "apps", "*", "patterns.json")) + \
        glob.glob(os.path.join(ROOT, "tests", "apps", "*", "rules.json"))
    for p in files:
        if p.endswith((".oracle.json", ".pyscope.json")):
            continue
        shutil_copy(p, os.path.join(d, os.path.basename(os.path.dirname(p)) + "-" +
                                    os.path.basename(p)))
    extra = {
        "list-form": b'[{"function": "m:f"}, {"class": "pkg.mod:Outer.Inner", "name": "c"}]',
        "all-keys": b'{"version": 1, "patterns": [{"name": "a-b.c", "spec": "class:m:K",'
                    b' "args": ["int", null, "*", "x.<locals>.Y"], "nargs": 3,'
                    b' "kwargs": ["k", "_q"], "self": true, "forbid": false,'
                    b' "legacy": true, "description": "d\\u00e9j\\u00e0 vu"}]}',
        "no-kwargs": b'{"patterns": [{"function": "m:K.f", "no_kwargs": true, "self": false}]}',
        "expr": b"legacy=class:app.engine:UserExecutionEngine",
        "expr-locals": b"func:m:f.<locals>.g",
    }
    for k, v in extra.items():
        write(os.path.join(d, k), v)


def gen_linetable(d):
    import json
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "unit", "fixtures",
                                              "linetable_3.*.json"))):
        minor = int(re.search(r"3\.(\d+)\.json$", path).group(1))
        with open(path) as f:
            doc = json.load(f)
        for i, c in enumerate(doc["codes"][:12]):
            table = bytes.fromhex(c["table"])
            head = struct.pack("<BBi", minor - 8, 1, c["firstlineno"])
            write(os.path.join(d, "3.%d-%02d" % (minor, i)), head + table)


def gen_srcscan(d):
    files = sorted(glob.glob(os.path.join(ROOT, "tests", "apps", "*.py")) +
                   glob.glob(os.path.join(ROOT, "tests", "apps", "chatdemo", "*.py")))
    for p in files:
        with open(p, "rb") as f:
            src = f.read()
        if len(src) > 8192:
            continue
        # the last def of each file: nested scopes and decorators come before it
        defs = [(i, m.group(1)) for i, line in enumerate(src.split(b"\n"), 1)
                for m in [re.match(rb"\s*(?:async\s+)?def\s+(\w+)", line)] if m]
        if defs:
            i, name = defs[-1]
            write(os.path.join(d, "%s-%d" % (os.path.basename(p), i)),
                  struct.pack("<H", i) + name + b"\n" + src)
    # strings, brackets, decorators, continuations and tabs around nested defs
    tricky = (b"class A:\n    s = '''\ndef fake(): pass\n'''\n    x = (1,\ndef no(): 0)\n"
              b"    class B:\n        @deco(\n            a=1)\n        async def run(self, \\\n"
              b"                y):  # def z():\n            def cb(): return \"def q():\"\n"
              b"\tdef tab(): pass\n")
    write(os.path.join(d, "tricky"), struct.pack("<H", 12) + b"cb\n" + tricky)


def gen_model(d):
    """Records as the kernel sends them (include/pyscope.h), cut where they stop mattering."""
    def code(cid, name, qual, mod, fn, first=10):
        hdr = struct.pack("<IIQIIIIII", 1, cid, 0x1000 + cid, first, 0, 1, 1, 4, 4)
        strs = (qual.encode().ljust(128, b"\0") + name.encode().ljust(64, b"\0") +
                mod.encode().ljust(128, b"\0") + fn.encode().ljust(256, b"\0"))
        lt = bytes([0x80 | (13 << 3) | 1, 2, 0x80 | (13 << 3) | 1, 2])
        return b"\0" + hdr + strs + lt

    def agg(aid, cid, caller, types):
        key = struct.pack("<6QQIIIHH", 0, 0, 0, 0, 0, 0, 0, cid, caller, 2, 0, len(types))
        rec = struct.pack("<II", 2, aid) + key + struct.pack("<II", 0, 0)
        names = b"".join(t.encode().ljust(64, b"\0") for t in (types + [""] * 6)[:6])
        return b"\1" + rec + names + b"\0" * (8 * 32)

    seeds = {
        "func311": b"\x03" + code(1, "f", "f", "m", "/a.py") +
                   code(2, "main", "main", "m", "/main.py") + agg(0, 1, 2, ["int"]),
        "ctor312": b"\x04" + code(3, "__init__", "Engine.__init__", "app", "/e.py") +
                   code(4, "run", "run", "app", "/r.py") + agg(1, 3, 4, ["Engine", "str"]),
        "func38": b"\x00" + code(5, "meth", "meth", "app.mod", "/m.py") + agg(2, 5, 0, ["Cls"]),
    }
    for k, v in seeds.items():
        write(os.path.join(d, k), v)


GENERATORS = {"elf": gen_elf, "pattern": gen_pattern, "linetable": gen_linetable,
              "srcscan": gen_srcscan, "model": gen_model}


def main():
    which = sys.argv[1:] or sorted(GENERATORS)
    for w in which:
        d = os.path.join(CORPUS, w)
        os.makedirs(d, exist_ok=True)
        for old in glob.glob(os.path.join(d, "*")):
            os.unlink(old)
        GENERATORS[w](d)
        files = glob.glob(os.path.join(d, "*"))
        print("%s: %d seeds, %d bytes" % (w, len(files), sum(os.path.getsize(f) for f in files)))


if __name__ == "__main__":
    main()
