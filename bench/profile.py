# SPDX-License-Identifier: GPL-2.0
"""make profile: every instruction of one page fault, function by function.

Two parts in one file:

* Inside gdb (``gdb -batch -x bench/profile.py``, attached to QEMU's gdbstub by
  scripts/profile.sh): a breakpoint on the page-fault entry whose condition is
  CR2 equal to one of the addresses bench/dax_bench.c's profile() touches; on
  each hit, single-step to the return to user space and write the program
  counter and stack pointer of every instruction to a trace file.  QEMU's
  gdbstub single-steps with interrupts and timers masked, so the trace holds
  the fault and nothing else.

* As a program (``python3 bench/profile.py --out DIR ...``): name the
  functions of every trace from the kernel's and the module's symbols, and
  write a report: instructions per function (self), and the call tree with
  inclusive counts, rebuilt from the stack pointer.
"""

import bisect
import os
import re
import sys
import time

USER_TOP = 0x0000800000000000


def trace_in_gdb():
    import gdb  # pylint: disable=import-error,import-outside-toplevel

    port = os.environ["PROFILE_GDB"]
    out = os.environ["PROFILE_OUT"]
    entry = os.environ["PROFILE_ENTRY"]
    addrs = [int(a, 0) for a in os.environ["PROFILE_ADDRS"].split()]
    limit = int(os.environ.get("PROFILE_MAX_STEPS", "200000"))

    gdb.execute("set pagination off")
    gdb.execute("set confirm off")
    gdb.execute("set architecture i386:x86-64")
    # QEMU listens once scripts/vm.sh has built the guest's image.
    for _ in range(600):
        try:
            gdb.execute("target remote " + port)
            break
        except gdb.error:
            time.sleep(1)
    else:
        raise SystemExit("profile: no gdbstub at " + port)
    cond = " || ".join("$cr2 == %#x" % a for a in addrs)
    gdb.execute("break *%s if %s" % (entry, cond))
    hit = 0
    while True:
        try:
            gdb.execute("continue", to_string=True)
        except gdb.error:
            break  # the guest powered off: QEMU closed the connection
        try:
            cr2 = int(gdb.parse_and_eval("$cr2")) & 0xFFFFFFFFFFFFFFFF
        except gdb.error:
            break
        hit += 1
        steps = []
        pc = int(gdb.parse_and_eval("$pc")) & 0xFFFFFFFFFFFFFFFF
        while pc >= USER_TOP and len(steps) < limit:
            sp = int(gdb.parse_and_eval("$sp")) & 0xFFFFFFFFFFFFFFFF
            steps.append("%x %x" % (pc, sp))
            gdb.execute("stepi", to_string=True)
            pc = int(gdb.parse_and_eval("$pc")) & 0xFFFFFFFFFFFFFFFF
        with open(os.path.join(out, "trace-%03d.txt" % hit), "w") as f:
            f.write("# cr2 %#x steps %d%s\n" % (cr2, len(steps),
                    "" if pc < USER_TOP else " TRUNCATED"))
            f.write("\n".join(steps) + "\n")


class Symbols:
    """Text symbols, sorted, from `nm -n vmlinux` and /proc/kallsyms lines."""

    def __init__(self):
        self.addr = []
        self.name = []

    def add(self, addr, name):
        self.addr.append(addr)
        self.name.append(name)

    def load_nm(self, path):
        with open(path) as f:
            for line in f:
                p = line.split()
                if len(p) >= 3 and p[1] in "tTwW":
                    self.add(int(p[0], 16), p[2])

    def load_kallsyms(self, lines, module):
        for line in lines:
            p = line.split()
            if len(p) >= 4 and p[1] in "tT" and p[3] == "[%s]" % module:
                self.add(int(p[0], 16), p[2])

    def finish(self):
        order = sorted(range(len(self.addr)), key=lambda i: self.addr[i])
        self.addr = [self.addr[i] for i in order]
        self.name = [self.name[i] for i in order]

    def lookup(self, pc):
        i = bisect.bisect_right(self.addr, pc) - 1
        if i < 0:
            return "?", 0
        return self.name[i], self.addr[i]


def analyse(trace, syms):
    """Self and inclusive counts, and the call tree (paths of names)."""
    selfc = {}
    incl = {}
    tree = {}
    stack = []  # [name, rsp at entry]
    prev_sp = None
    for pc, sp in trace:
        name, start = syms.lookup(pc)
        if stack and prev_sp is not None and abs(sp - prev_sp) > 16384:
            stack = []  # a stack switch: start over
        while len(stack) > 1 and sp > stack[-1][1]:
            stack.pop()
        if not stack:
            stack.append([name, sp])
        elif name != stack[-1][0]:
            if pc == start and prev_sp is not None and sp == prev_sp - 8:
                stack.append([name, sp])  # a call
            else:
                stack[-1][0] = name  # a tail call or a jump into other code
        prev_sp = sp
        selfc[name] = selfc.get(name, 0) + 1
        path = tuple(f[0] for f in stack)
        tree[path] = tree.get(path, 0) + 1
        for n in set(path):
            incl[n] = incl.get(n, 0) + 1
    return selfc, incl, tree


def report_tree(tree, total, min_share, depth):
    """Inclusive count of every call path, printed as an indented tree."""
    node = {}
    for path, n in tree.items():
        for d in range(1, min(len(path), depth) + 1):
            node[path[:d]] = node.get(path[:d], 0) + n
    lines = []

    def walk(prefix):
        kids = sorted((p for p in node if len(p) == len(prefix) + 1 and p[:-1] == prefix),
                      key=lambda p: -node[p])
        for p in kids:
            if node[p] < total * min_share:
                continue
            lines.append("%s%-*s %7d" % ("  " * (len(p) - 1), 60 - 2 * (len(p) - 1), p[-1],
                                         node[p]))
            walk(p)

    walk(())
    return lines


def self_test():
    """The call tree of a made-up trace: calls, returns, a tail call, a stack switch."""
    syms = Symbols()
    for addr, name in ((0x1000, "a"), (0x2000, "b"), (0x3000, "c"), (0x4000, "d")):
        syms.add(addr, name)
    syms.finish()
    trace = [
        (0x1000, 0x9000), (0x1004, 0x8FF8),   # a, pushes
        (0x2000, 0x8FF0), (0x2004, 0x8FF0),   # call b
        (0x3000, 0x8FE8),                     # call c
        (0x2008, 0x8FF0),                     # back in b
        (0x4000, 0x8FF0), (0x4004, 0x8FF0),   # b tail-calls d: d replaces b
        (0x1008, 0x8FF8),                     # back in a
        (0x3000, 0x2000),                     # another stack: starts over
    ]
    selfc, incl, tree = analyse(trace, syms)
    checks = [
        (selfc, {"a": 3, "b": 3, "c": 2, "d": 2}),
        (incl, {"a": 9, "b": 4, "c": 2, "d": 2}),
        (tree, {("a",): 3, ("a", "b"): 3, ("a", "b", "c"): 1, ("a", "d"): 2, ("c",): 1}),
    ]
    ok = True
    for n, (got, want) in enumerate(checks, 1):
        good = got == want
        ok = ok and good
        print("%s %d - profile analysis %s" % ("ok" if good else "not ok", n,
                                              ("self", "inclusive", "tree")[n - 1]))
        if not good:
            print("# got %s, want %s" % (got, want))
    return 0 if ok else 1


def main():
    import argparse  # pylint: disable=import-outside-toplevel

    if sys.argv[1:] == ["--self-test"]:
        print("1..3")
        return self_test()

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="folder with the trace files")
    ap.add_argument("--vmlinux-nm", required=True, help="output of nm -n vmlinux")
    ap.add_argument("--console", required=True, help="guest console log")
    ap.add_argument("--depth", type=int, default=7)
    ap.add_argument("--min-share", type=float, default=0.01)
    a = ap.parse_args()

    console = open(a.console, errors="replace").read().splitlines()
    syms = Symbols()
    syms.load_nm(a.vmlinux_nm)
    syms.load_kallsyms(console, "famfs_iomap")
    syms.finish()
    labels = []
    for line in console:
        m = re.match(r"PROFILE (\S+) (\S+) (0x[0-9a-f]+)", line)
        if m:
            labels.append((m.group(1), m.group(2), int(m.group(3), 16)))
    traces = sorted(f for f in os.listdir(a.out) if re.match(r"trace-\d+\.txt$", f))
    if len(traces) != len(labels):
        print("profile: %d traces but %d PROFILE lines on the console" %
              (len(traces), len(labels)), file=sys.stderr)
        return 1
    summary = []
    with open(os.path.join(a.out, "profile.txt"), "w") as rep:
        for (system, op, addr), tf in zip(labels, traces):
            lines = open(os.path.join(a.out, tf)).read().splitlines()
            head = lines[0].split()
            if int(head[2], 16) != addr or "TRUNCATED" in head:
                print("profile: %s: cr2 %s, expected %#x%s" %
                      (tf, head[2], addr, " (truncated)" if "TRUNCATED" in head else ""),
                      file=sys.stderr)
                return 1
            trace = [tuple(int(x, 16) for x in ln.split()) for ln in lines[1:] if ln]
            selfc, incl, tree = analyse(trace, syms)
            total = len(trace)
            summary.append((system, op, total))
            rep.write("== %s %s: %d instructions from the fault entry to the return "
                      "to user space\n\n" % (system, op, total))
            rep.write("call tree (inclusive, paths of at least %.0f%%):\n" % (a.min_share * 100))
            rep.write("\n".join(report_tree(tree, total, a.min_share, a.depth)) + "\n\n")
            rep.write("self instructions per function (top 25):\n")
            for name, n in sorted(selfc.items(), key=lambda kv: -kv[1])[:25]:
                rep.write("  %-50s %7d  %5.1f%%  (incl %d)\n" %
                          (name, n, 100.0 * n / total, incl[name]))
            rep.write("\n")
    with open(os.path.join(a.out, "profile.csv"), "w") as f:
        f.write("system,op,instructions\n")
        for s, o, t in summary:
            f.write("%s,%s,%d\n" % (s, o, t))
    print("%-10s %-14s %12s" % ("system", "op", "instructions"))
    for s, o, t in summary:
        print("%-10s %-14s %12d" % (s, o, t))
    return 0


if __name__ == "__main__":
    try:
        import gdb  # noqa: F401  pylint: disable=import-error,unused-import
        IN_GDB = True
    except ImportError:
        IN_GDB = False
    if IN_GDB:
        trace_in_gdb()
    else:
        sys.exit(main())
