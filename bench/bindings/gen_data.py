#!/usr/bin/env python3
"""gen_data.py OUTDIR — the data of the bindings suite (shared/bench/WORKLOAD.md)
as EDN transaction files that every runner (C, Python, Java, Node, pod,
Python sqlite3) loads the same way, so result sizes can be compared.

    OUTDIR/schema.edn   the people schema (WORKLOAD: all attributes indexed,
                        :follows a cardinality-many ref)
    OUTDIR/people.edn   people20k (seed 42, mulberry32, shuffled), entity ids
                        1000 + position, as one vector of entity maps
    OUTDIR/follows.edn  [:db/add e :follows f] for about half of them (the same
                        PRNG continues: rand_int(2) == 0 -> follows
                        rand_int(N-1), shifted past itself) — as
                        bench/bench_common.h does
    OUTDIR/tree.edn     a wide 4x5 tree from id 200000 (root), every node named
                        "Ivan" — pull-one's data, in a database of its own
    OUTDIR/rows.tsv     the same people as TSV (e name last sex age salary follows)
                        for the sqlite3 comparison

Checks WORKLOAD's 2407 Ivans and salary sum 998847057.
"""
import os
import sys

N = 20000
PEOPLE_BASE = 1000
TREE_BASE = 200000
NAMES = "Ivan Petr Sergei Oleg Yuri Dmitry Fedor Denis".split()
LASTS = "Ivanov Petrov Sidorov Kovalev Kuznetsov Voronoi".split()

SCHEMA = ("[{:db/ident :name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/index true}\n"
          " {:db/ident :last-name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/index true}\n"
          " {:db/ident :sex :db/valueType :db.type/keyword :db/cardinality :db.cardinality/one :db/index true}\n"
          " {:db/ident :age :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/index true}\n"
          " {:db/ident :salary :db/valueType :db.type/long :db/cardinality :db.cardinality/one :db/index true}\n"
          " {:db/ident :follows :db/valueType :db.type/ref :db/cardinality :db.cardinality/many}]\n")


class Rng:
    def __init__(self, seed):
        self.a = seed

    def next(self):
        M = 0xFFFFFFFF
        self.a = (self.a + 0x6D2B79F5) & M
        t = self.a
        t = ((t ^ (t >> 15)) * (1 | t)) & M
        t = ((t + (((t ^ (t >> 7)) * (61 | t)) & M)) & M) ^ t
        return (t ^ (t >> 14)) & M

    def rand_int(self, n):
        return self.next() % n


def people():
    r = Rng(42)
    ps = []
    for _ in range(N):
        ps.append([NAMES[r.rand_int(8)], LASTS[r.rand_int(6)],
                   "female" if r.rand_int(2) else "male", r.rand_int(100), r.rand_int(100000), -1])
    for i in range(N - 1, 0, -1):
        j = r.rand_int(i + 1)
        ps[i], ps[j] = ps[j], ps[i]
    ivans = sum(1 for p in ps if p[0] == "Ivan")
    total = sum(p[4] for p in ps)
    if ivans != 2407 or total != 998847057:
        sys.exit("people20k check failed: %d Ivans, salary sum %d" % (ivans, total))
    for i in range(N):
        if r.rand_int(2) == 0:
            j = r.rand_int(N - 1)
            ps[i][5] = j + 1 if j >= i else j
    return ps


def tree(w=4, d=5):
    """Preorder ids from TREE_BASE, as bench_common.h's wide_node."""
    nxt = [TREE_BASE]
    edges = []

    def node(depth):
        me = nxt[0]
        nxt[0] += 1
        if depth > 0:
            for _ in range(w):
                edges.append((me, node(depth - 1)))
        return me

    node(d)
    return list(range(TREE_BASE, nxt[0])), edges


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    ps = people()
    with open(os.path.join(out, "schema.edn"), "w") as f:
        f.write(SCHEMA)
    with open(os.path.join(out, "people.edn"), "w") as f:
        f.write("[")
        for i, p in enumerate(ps):
            f.write('{:db/id %d :name "%s" :last-name "%s" :sex :%s :age %d :salary %d}\n'
                    % (PEOPLE_BASE + i, p[0], p[1], p[2], p[3], p[4]))
        f.write("]\n")
    with open(os.path.join(out, "follows.edn"), "w") as f:
        f.write("[")
        for i, p in enumerate(ps):
            if p[5] >= 0:
                f.write("[:db/add %d :follows %d]\n" % (PEOPLE_BASE + i, PEOPLE_BASE + p[5]))
        f.write("]\n")
    with open(os.path.join(out, "rows.tsv"), "w") as f:
        for i, p in enumerate(ps):
            f.write("%d\t%s\t%s\t%s\t%d\t%d\t%d\n" % (PEOPLE_BASE + i, p[0], p[1], p[2], p[3], p[4],
                                                     PEOPLE_BASE + p[5] if p[5] >= 0 else -1))
    ids, edges = tree()
    with open(os.path.join(out, "tree.edn"), "w") as f:
        f.write("[")
        for e in ids:
            f.write('[:db/add %d :name "Ivan"]\n' % e)
        for a, b in edges:
            f.write("[:db/add %d :follows %d]\n" % (a, b))
        f.write("]\n")


if __name__ == "__main__":
    main()
