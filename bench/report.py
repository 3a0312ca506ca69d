#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make bench, the report: reads the "BENCH ROUND SYSTEM OP VALUE UNIT" lines of a run
(guest/bench.sh), prints a table of median [min-max] per system and operation, and writes
results.csv (every round), summary.csv (median, min, max per system and operation) and,
when matplotlib is importable, chart.png (bars per system, one panel per operation).

usage: report.py --clock icount|vm-wall|wall --out DIR OUTPUT.txt
"""
import argparse
import csv
import os
import re
import statistics
import sys

SYSTEMS = ["famfs", "famfs-il", "devdax2m", "devdax4k", "ext4", "fuse"]
# Operations, in table order, with what one value means.
OPS = [
    ("fault_rd_2m", "read fault, 2 MiB stride (PMD where possible)"),
    ("fault_wr_2m", "write fault, 2 MiB stride"),
    ("fault_rd_4k", "read fault, 4 KiB (MADV_NOHUGEPAGE)"),
    ("fault_wr_4k", "write fault, 4 KiB"),
    ("refault_rd_2m", "read fault, 2 MiB, new mapping of a range faulted before"),
    ("refault_rd_4k", "read fault, 4 KiB, new mapping of a range faulted before"),
    ("read_mib", "read(2), per MiB (1 MiB calls)"),
    ("write_mib", "write(2), per MiB"),
    ("fault_rd_4k_1k", "read fault, 4 KiB, map of 1k 4 KiB extents"),
    ("fault_rd_4k_100k", "read fault, 4 KiB, map of 100k 4 KiB extents"),
    ("open_first_1", "first open(), map of 1 extent"),
    ("open_later_1", "later open(), map of 1 extent"),
    ("open_first_1k", "first open(), 1k extents"),
    ("open_later_1k", "later open(), 1k extents"),
    ("open_first_100k", "first open(), 100k extents"),
    ("open_later_100k", "later open(), 100k extents"),
    ("thr2_fault_4k", "two threads, 4 KiB fault (all CPUs' time / faults)"),
    ("thr2_vma_lock_retry", "two threads: vma_lock_retry events"),
    ("rd4k_vma_lock_retry", "one thread, 4 KiB reads: vma_lock_retry"),
    ("nproc1_faults", "1 process: faults per process (1024 pages x2)"),
    ("nproc2_faults", "2 processes: faults per process"),
    ("nproc4_faults", "4 processes: faults per process"),
    ("pmd_faults", "PMD faults mapped (2 MiB passes)"),
    ("pmd_fallbacks", "PMD faults fallen back to 4 KiB"),
    ("server_requests", "FUSE requests served in a round"),
]
# Ratios printed under the table: (numerator system, denominator system, ops).
RATIOS = [
    ("famfs", "devdax2m", ["fault_rd_2m", "fault_wr_2m", "refault_rd_2m"]),
    ("famfs", "devdax4k", ["fault_rd_4k", "fault_wr_4k", "refault_rd_4k"]),
    ("famfs", "ext4", ["fault_rd_2m", "fault_wr_2m", "fault_rd_4k", "fault_wr_4k",
                       "read_mib", "write_mib"]),
    ("famfs-il", "famfs", ["fault_rd_2m", "fault_rd_4k", "read_mib"]),
    ("famfs", "fuse", ["open_first_1", "open_later_1"]),
]
# Ratios of two operations of one system: how resolve scales with the extent count.
OPRATIOS = [
    ("famfs", "fault_rd_4k_1k", "fault_rd_4k"),
    ("famfs", "fault_rd_4k_100k", "fault_rd_4k"),
    ("famfs", "open_later_100k", "open_later_1"),
]
LINE = re.compile(r"^BENCH (\d+) (\S+) (\S+) (-?[0-9.]+) (\S+)\s*$")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clock", default="icount", choices=["icount", "vm-wall", "wall"])
    ap.add_argument("--out", required=True)
    ap.add_argument("output")
    a = ap.parse_args()

    tunit = {"icount": "instructions", "vm-wall": "ns (wall clock under a VM: noisy)",
             "wall": "ns"}[a.clock]
    rows = []
    meta = ""
    with open(a.output, errors="replace") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if line.startswith("BENCH-META"):
                meta = line[len("BENCH-META "):]
            m = LINE.match(line)
            if m:
                r, sysname, op, v, unit = m.groups()
                rows.append((int(r), sysname, op, float(v), tunit if unit == "ns" else unit))
    if not rows:
        print("report: no BENCH lines in %s" % a.output, file=sys.stderr)
        return 1

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["round", "system", "op", "value", "unit"])
        for r in rows:
            w.writerow([r[0], r[1], r[2], "%.0f" % r[3], r[4]])

    vals, units = {}, {}
    for r, sysname, op, v, unit in rows:
        if v < 0:
            continue
        vals.setdefault((sysname, op), []).append(v)
        units[op] = unit
    systems = [s for s in SYSTEMS if any(k[0] == s for k in vals)]
    systems += sorted({k[0] for k in vals} - set(systems))
    known = [o for o, _ in OPS]
    ops = [o for o in known if any(k[1] == o for k in vals)]
    ops += sorted({k[1] for k in vals} - set(ops))
    desc = dict(OPS)
    summ = {}
    for k, v in vals.items():
        summ[k] = (statistics.median(v), min(v), max(v), len(v))
    with open(os.path.join(a.out, "summary.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["system", "op", "unit", "median", "min", "max", "rounds"])
        for op in ops:
            for s in systems:
                if (s, op) in summ:
                    md, lo, hi, n = summ[(s, op)]
                    w.writerow([s, op, units[op], "%.0f" % md, "%.0f" % lo, "%.0f" % hi, n])

    nrounds = max(r[0] for r in rows)
    clock_note = {
        "icount": "QEMU TCG -icount shift=0: guest CLOCK_MONOTONIC ns == emulated instructions",
        "vm-wall": "wall clock in a VM (TCG or KVM): noisy, only ratios within a round mean much",
        "wall": "wall clock on real hardware",
    }[a.clock]
    print()
    print("## %s per operation (%s); median [min-max] over %d rounds" % (tunit, clock_note, nrounds))
    if meta:
        print("## %s" % meta)
    ow = max(len(o) for o in ops) + 2
    cells = {}
    for op in ops:
        for s in systems:
            if (s, op) not in summ:
                cells[(s, op)] = "-"
                continue
            md, lo, hi, n = summ[(s, op)]
            cells[(s, op)] = "%.0f" % md if lo == hi else "%.0f [%.0f-%.0f]" % (md, lo, hi)
    cw = {s: max([len(s)] + [len(cells[(s, op)]) for op in ops]) + 2 for s in systems}
    print("%-*s%-7s" % (ow, "op", "unit") + "".join("%*s" % (cw[s], s) for s in systems))
    for op in ops:
        u = "instr" if units[op] == "instructions" else ("ns" if units[op].startswith("ns") else units[op])
        print("%-*s%-7s" % (ow, op, u) + "".join("%*s" % (cw[s], cells[(s, op)]) for s in systems))
    print()
    print("## ratios of medians (below 1: the first is cheaper)")
    for num, den, rops in RATIOS:
        parts = []
        for op in rops:
            if (num, op) in summ and (den, op) in summ and summ[(den, op)][0] > 0:
                parts.append("%s %.2f" % (op, summ[(num, op)][0] / summ[(den, op)][0]))
        if parts:
            print("%-20s %s" % ("%s/%s" % (num, den), "   ".join(parts)))
    for sysname, num, den in OPRATIOS:
        if (sysname, num) in summ and (sysname, den) in summ and summ[(sysname, den)][0] > 0:
            print("%-20s %s/%s %.2f" % (sysname, num, den,
                                        summ[(sysname, num)][0] / summ[(sysname, den)][0]))
    print()
    for op in ops:
        if op in desc:
            print("#   %-22s %s" % (op, desc[op]))

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report: matplotlib not importable: no chart", file=sys.stderr)
        print("report: %s/results.csv, %s/summary.csv" % (a.out, a.out))
        return 0
    colors = ["#1f77b4", "#aec7e8", "#d62728", "#ff9896", "#2ca02c", "#7f7f7f",
              "#9467bd", "#8c564b"]
    ncol = 4
    nrow = (len(ops) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.0 * nrow), squeeze=False)
    for i, op in enumerate(ops):
        ax = axes[i // ncol][i % ncol]
        xs, hs, lo_err, hi_err, cs = [], [], [], [], []
        for j, s in enumerate(systems):
            if (s, op) not in summ:
                continue
            md, lo, hi, n = summ[(s, op)]
            xs.append(s)
            hs.append(md)
            lo_err.append(md - lo)
            hi_err.append(hi - md)
            cs.append(colors[j % len(colors)])
        ax.bar(range(len(xs)), hs, color=cs, yerr=[lo_err, hi_err], capsize=3)
        ax.set_xticks(range(len(xs)))
        ax.set_xticklabels(xs, rotation=30, ha="right", fontsize=8)
        u = "instructions" if units[op] == "instructions" else units[op]
        ax.set_title("%s (%s)" % (op, u.split(" ")[0]), fontsize=9)
        pos = [h for h in hs if h > 0]
        if units[op] != "count" and pos and max(pos) / min(pos) > 20:
            ax.set_yscale("log")
            ax.set_title("%s (%s, log scale)" % (op, u.split(" ")[0]), fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
        for x, h in enumerate(hs):
            ax.text(x, h, "%.0f" % h, ha="center", va="bottom", fontsize=6)
    for i in range(len(ops), nrow * ncol):
        axes[i // ncol][i % ncol].axis("off")
    fig.suptitle("famfs-iomap make bench: %s; bars: median of %d rounds, whiskers: min/max"
                 % (clock_note, nrounds), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    png = os.path.join(a.out, "chart.png")
    fig.savefig(png, dpi=110)
    print("report: %s/results.csv, %s/summary.csv, %s" % (a.out, a.out, png))
    return 0


if __name__ == "__main__":
    sys.exit(main())
