#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check that functions and everything they call contain no division instruction.

Usage: check-nodiv.py FILE --root SYMBOL... [--control SYMBOL] [--external]

Disassembles FILE (an executable or a relocatable object such as a kernel module's .o) with
objdump, demangled, starts at each --root function and follows every direct call and jump
into other functions of FILE (through relocations in an object). Fails if any function reached
contains a divide instruction (x86 div/idiv and the SSE/AVX divides, arm64 udiv/sdiv), an
indirect call or jump (its target cannot be checked), a call to a compiler helper (division,
128-bit, floating point: __udivti3, __multi3, __divdf3, ...; the kernel's are stubs that
panic), a call out of FILE unless --external (then listed: the kernel's own functions,
outside a module's object), or if a root is missing. A --control function must be found to
contain a division the same way, which shows that the check sees divisions in this
disassembly at all. Prints TAP lines; exits 1 on failure. --self-test checks the analysis
on made-up disassembly instead.
"""

import argparse
import re
import subprocess
import sys

FUNC = re.compile(r"^([0-9a-f]+) <(.+)>:$")
INSN = re.compile(r"^\s+[0-9a-f]+:\s+(\S+)\s*(.*)$")
RELOC = re.compile(r"^\s+[0-9a-f]+: R_\S+\s+(.+?)([+-]0x[0-9a-f]+)?$")
TARGET = re.compile(r"^[0-9a-f]+ <(.+?)(\+0x[0-9a-f]+)?>$")
DIV = re.compile(r"^(i?div[bwlq]?|v?div[sp][sd]|[us]div)$")
BRANCH = re.compile(r"^(call|jmp)[a-z]*$|^(bl?|b\..*)$")
# compiler-rt and libgcc arithmetic helpers (__udivti3, __udivmodti4, __multi3, __muloti4,
# __divdf3, __extendsfdf2, ...; the kernel's rust/compiler_builtins.rs has them as __rust__*).
HELPER = re.compile(r"^(__rust)?__[a-z]+[sdtx][fi][2-4]$|^__aeabi_")


def disassemble(binary):
    return parse(
        subprocess.run(
            ["objdump", "-dr", "--no-show-raw-insn", "-C", binary],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )


def parse(out):
    """Instructions by function, from the output of objdump -dr."""
    funcs = {}
    cur = None
    for line in out.splitlines():
        m = FUNC.match(line)
        if m:
            cur = funcs.setdefault(m.group(2), [])
            continue
        m = RELOC.match(line)
        if m and cur:
            # An unrelocated branch of an object: the relocation names the target.
            op, _ = cur[-1]
            if BRANCH.match(op):
                cur[-1] = (op, f"0 <{m.group(1)}>")
            continue
        m = INSN.match(line)
        if m and cur is not None:
            cur.append((m.group(1), m.group(2)))
    return funcs


def walk(funcs, root, external):
    """Returns (functions reached, instructions, problems, calls out of the file) from root."""
    seen, todo, problems, ninsn, out = set(), [root], [], 0, set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for op, args in funcs[name]:
            ninsn += 1
            if DIV.match(op):
                problems.append(f"{name}: {op} {args}".strip())
            if not BRANCH.match(op):
                continue
            if args.startswith("*") or re.match(r"^(x|w)\d+$", args):
                problems.append(f"{name}: indirect {op} {args}")
                continue
            t = TARGET.match(args)
            if t and HELPER.match(t.group(1)):
                problems.append(f"{name}: {op} to compiler helper {t.group(1)}")
            elif t and t.group(1) in funcs:
                todo.append(t.group(1))
            elif t and external:
                out.add(t.group(1))
            elif t and not t.group(1).endswith("@plt"):
                problems.append(f"{name}: {op} to {t.group(1)}, not in the file")
    return seen, ninsn, problems, out


SELF_TEST = """
0000000000000000 <clean>:
   0:\tmov    %rdi,%rax
   3:\tcall   8 <clean+0x8>
\t\t\t4: R_X86_64_PLT32\tkernel_fn-0x4
   8:\tcall   10 <leaf>
   d:\tret

0000000000000010 <leaf>:
  10:\timul   %rsi,%rax
  14:\tret

0000000000000020 <divides>:
  20:\tcall   10 <leaf>
  25:\tdiv    %rcx
  28:\tret

0000000000000030 <helper>:
  30:\tcall   35 <helper+0x5>
\t\t\t31: R_X86_64_PLT32\t__udivti3-0x4
  35:\tret

0000000000000040 <stub>:
  40:\tjmp    45 <stub+0x5>
\t\t\t41: R_X86_64_PLT32\t__rust__multi3-0x4

0000000000000050 <indirect>:
  50:\tcall   *%rax
  52:\tret
"""


def self_test():
    """The analysis of made-up disassembly: each root must give the problems listed."""
    funcs = parse(SELF_TEST)
    cases = [
        ("clean", True, []),
        ("clean", False, ["clean: call to kernel_fn, not in the file"]),
        ("divides", True, ["divides: div %rcx"]),
        ("helper", True, ["helper: call to compiler helper __udivti3"]),
        ("stub", True, ["stub: jmp to compiler helper __rust__multi3"]),
        ("indirect", True, ["indirect: indirect call *%rax"]),
    ]
    print(f"1..{len(cases) + 1}")
    failed = 0
    for n, (root, external, want) in enumerate(cases, 1):
        seen, _, problems, out = walk(funcs, root, external)
        good = problems == want
        failed += not good
        print(f"{'ok' if good else 'not ok'} {n} - nodiv analysis of {root}"
              f"{' (--external)' if external else ''}")
        if not good:
            print(f"# got {problems}, want {want}")
    seen, _, _, out = walk(funcs, "clean", True)
    good = seen == {"clean", "leaf"} and out == {"kernel_fn"}
    failed += not good
    print(f"{'ok' if good else 'not ok'} {len(cases) + 1} - nodiv follows calls: {sorted(seen)}, "
          f"outside: {sorted(out)}")
    return 1 if failed else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--root", action="append", required=True)
    ap.add_argument("--control")
    ap.add_argument("--external", action="store_true")
    a = ap.parse_args()
    funcs = disassemble(a.binary)
    failed = False
    for root in a.root:
        if root not in funcs:
            print(f"not ok - no division in {root} (symbol not found in {a.binary})")
            failed = True
            continue
        seen, ninsn, problems, out = walk(funcs, root, a.external)
        for o in sorted(out):
            print(f"# {root}: calls {o}, outside {a.binary}")
        if problems:
            print(f"not ok - no division in {root}")
            for p in problems:
                print(f"# {p}")
            failed = True
        else:
            print(f"ok - no division in {root} ({len(seen)} functions, {ninsn} instructions)")
    if a.control:
        if a.control not in funcs:
            print(f"not ok - control {a.control} (symbol not found)")
            failed = True
        else:
            _, _, problems, _ = walk(funcs, a.control, a.external)
            if any(": indirect" not in p and "not in the file" not in p for p in problems):
                print(f"ok - control: the check finds the divisions of {a.control}")
            else:
                print(f"not ok - control: no division found in {a.control}; the check is blind")
                failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
