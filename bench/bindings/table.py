#!/usr/bin/env python3
"""table.py RESULTS_DIR — the Markdown tables of bench/bindings/run: one row
per shape, each engine's median ms per call and its ratio to C, the result
size (flagged when the engines disagree; C runs first and last, and the
faster of its two runs per shape is the baseline); the per-call overhead over C in
microseconds (binding median − C median) for the small shapes; and the
minimum ms per call with the ratio of minimums (steadier under other load)."""
import os
import sys

ENGINES = [("c", "C"), ("python", "Python"), ("python-purecbor", "Python, pure-Python CBOR"),
           ("java", "Java"), ("node", "Node"), ("pod", "pod"), ("sqlite3-py", "sqlite3 (Python)")]
SMALL = ("db+q-tiny", "pull-small", "transact-1")


def main():
    out = sys.argv[1]
    rows, order = {}, []
    files = [(eng, eng) for eng, _ in ENGINES] + [("c", "c-again")]
    for eng, fname in files:
        p = os.path.join(out, fname + ".tsv")
        if not os.path.exists(p):
            continue
        for ln in open(p):
            f = ln.rstrip("\n").split("\t")
            if len(f) < 5:
                continue
            _, shape, med, mn, size = f[:5]
            if shape not in rows:
                rows[shape] = {}
                order.append(shape)
            v = (float(med) if med != "-" else None, size, float(mn) if mn != "-" else None)
            w = rows[shape].get(eng)
            if w and w[0] is not None and v[0] is not None:  # C run twice: the faster of each
                v = (min(v[0], w[0]), v[1] if v[1] == w[1] else "%s/%s" % (w[1], v[1]), min(v[2], w[2]))
            rows[shape][eng] = v
    present = [(e, n) for e, n in ENGINES if any(e in r for r in rows.values())]

    def fmt(v):
        return "—" if v is None else ("%.3g" % v if v < 100 else "%.0f" % v)

    head = "| shape | " + " | ".join(n + " ms" for _, n in present) + " | result size | |"
    print(head)
    print("|---|" + "---:|" * len(present) + "---|---|")
    bad = []
    for s in order:
        r = rows[s]
        c = r.get("c", (None, None))[0]
        cells = []
        for e, _ in present:
            v = r.get(e)
            if not v or v[0] is None:
                cells.append("—")
            elif e == "c" or not c:
                cells.append(fmt(v[0]))
            else:
                cells.append("%s (%.2g×)" % (fmt(v[0]), v[0] / c) if v[0] / c < 10
                             else "%s (%.0f×)" % (fmt(v[0]), v[0] / c))
        # sqlite3 answers the same questions but its sizes are only comparable
        # where it returns the same rows; it is checked like the others.
        sizes = {e: v[1] for e, v in r.items()}
        flag = ""
        if len(set(sizes.values())) > 1:
            flag = "SIZE MISMATCH"
            bad.append(s)
            size = "/".join("%s %s" % (e, v) for e, v in sizes.items())
        else:
            size = next(iter(sizes.values()))
        print("| %s | %s | %s | %s |" % (s, " | ".join(cells), size, flag))
    small = [s for s in order if s in SMALL]
    if small and "c" in [e for e, _ in present]:
        print()
        print("Overhead per call over C, µs (median − C median):")
        print()
        bs = [(e, n) for e, n in present if e not in ("c", "sqlite3-py", "python-purecbor")]
        print("| shape | " + " | ".join(n for _, n in bs) + " |")
        print("|---|" + "---:|" * len(bs))
        for s in small:
            c = rows[s].get("c", (None,))[0]
            cells = []
            for e, _ in bs:
                v = rows[s].get(e)
                cells.append("—" if not v or v[0] is None or c is None else "%.1f" % ((v[0] - c) * 1e3))
            print("| %s | %s |" % (s, " | ".join(cells)))
    # Minimums: on a shared machine the fastest sample is the least disturbed
    # by other load, so these ratios are the steadier ones.
    print()
    print("Minimum ms per call and the ratio of minimums to C's:")
    print()
    print("| shape | " + " | ".join(n + " min" for _, n in present) + " |")
    print("|---|" + "---:|" * len(present))
    for s in order:
        r = rows[s]
        c = r.get("c", (None, None, None))[2]
        cells = []
        for e, _ in present:
            v = r.get(e)
            if not v or v[2] is None:
                cells.append("—")
            elif e == "c" or not c:
                cells.append(fmt(v[2]))
            else:
                cells.append("%s (%.2g×)" % (fmt(v[2]), v[2] / c))
        print("| %s | %s |" % (s, " | ".join(cells)))
    if bad:
        print("\nFLAGGED (result sizes disagree — a binding returns different data): " + ", ".join(bad))


if __name__ == "__main__":
    main()
