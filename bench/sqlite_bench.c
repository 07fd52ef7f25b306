/*
** sqlite_bench.c — the SQLite peer of shared/bench/WORKLOAD.md: the same
** data (bench_common.h) in an EAV table and the equivalent SQL per shape.
**
**   CREATE TABLE eav(e INTEGER, a INTEGER, v, tx INTEGER,
**                    PRIMARY KEY (e, a, v)) WITHOUT ROWID;   -- eav order
**   CREATE INDEX aev ON eav(a, e, v);
**   CREATE INDEX ave ON eav(a, v, e);
**
** Attributes are small integers (the A_* constants), keywords are text
** ":male", refs are integer entity ids.  Queries run on an in-memory
** database; the write suite runs in memory and in a WAL file
** (synchronous=FULL, the default) under $BENCH_DIR (/tmp).  Set semantics:
** where a Datalog query returns a set, the SQL uses DISTINCT/UNION or a form
** whose rows are already distinct.  q5 is written as a semi-join (the value
** join's fastest SQL form).  Temporal shapes are n/a: the table keeps no
** history.  Output: TSV lines as bench_common.h describes.
*/
#include "bench_common.h"

#include <sqlite3.h>
#include <unistd.h>

enum { A_NAME = 1, A_LAST, A_SEX, A_AGE, A_SALARY, A_FOLLOWS,
       A_DIVNAME = 10, A_DNAME, A_DBUDGET, A_DDIV, A_PNAME, A_PSALARY, A_PDEPT };

static void die(sqlite3 *db, const char *what) {
    fprintf(stderr, "sqlite: %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
}

static void exec(sqlite3 *db, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s: %s\n", sql, err);
        exit(1);
    }
}

static sqlite3_stmt *prep(sqlite3 *db, const char *sql) {
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) die(db, sql);
    return s;
}

static sqlite3 *open_db(const char *path) {
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK) die(db, "open");
    if (strcmp(path, ":memory:")) exec(db, "PRAGMA journal_mode=WAL");
    exec(db, "CREATE TABLE eav(e INTEGER, a INTEGER, v, tx INTEGER, PRIMARY KEY (e, a, v)) WITHOUT ROWID;"
             "CREATE INDEX aev ON eav(a, e, v); CREATE INDEX ave ON eav(a, v, e);");
    return db;
}

static sqlite3_stmt *ins;
static void put_i(long e, int a, long v, long tx) {
    sqlite3_bind_int64(ins, 1, e);
    sqlite3_bind_int(ins, 2, a);
    sqlite3_bind_int64(ins, 3, v);
    sqlite3_bind_int64(ins, 4, tx);
    if (sqlite3_step(ins) != SQLITE_DONE) die(sqlite3_db_handle(ins), "insert");
    sqlite3_reset(ins);
}
static void put_s(long e, int a, const char *v, long tx) {
    sqlite3_bind_int64(ins, 1, e);
    sqlite3_bind_int(ins, 2, a);
    sqlite3_bind_text(ins, 3, v, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 4, tx);
    if (sqlite3_step(ins) != SQLITE_DONE) die(sqlite3_db_handle(ins), "insert");
    sqlite3_reset(ins);
}

static const char *sexkw(const char *s) { return !strcmp(s, "male") ? ":male" : ":female"; }

static void put_person(int i, long tx) {
    person *p = &people[i];
    long e = PEOPLE_BASE + i;
    put_s(e, A_NAME, p->name, tx);
    put_s(e, A_LAST, p->last, tx);
    put_s(e, A_SEX, sexkw(p->sex), tx);
    put_i(e, A_AGE, p->age, tx);
    put_i(e, A_SALARY, p->salary, tx);
}

static void load_all(sqlite3 *db) {
    ins = prep(db, "INSERT INTO eav VALUES (?1, ?2, ?3, ?4)");
    exec(db, "BEGIN");
    for (int i = 0; i < NPEOPLE; i++) {
        put_person(i, 1);
        if (people[i].follows >= 0) put_i(PEOPLE_BASE + i, A_FOLLOWS, PEOPLE_BASE + people[i].follows, 1);
    }
    char buf[32];
    for (int k = 0; k < 10; k++) {
        snprintf(buf, sizeof buf, "div-%d", k);
        sqlite3_bind_text(ins, 3, buf, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(ins, 1, DIV_BASE + k);
        sqlite3_bind_int(ins, 2, A_DIVNAME);
        sqlite3_bind_int64(ins, 4, 2);
        if (sqlite3_step(ins) != SQLITE_DONE) die(db, "insert");
        sqlite3_reset(ins);
    }
    for (int k = 0; k < 100; k++) {
        snprintf(buf, sizeof buf, "dept-%d", k);
        sqlite3_bind_text(ins, 3, buf, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(ins, 1, DEPT_BASE + k);
        sqlite3_bind_int(ins, 2, A_DNAME);
        sqlite3_bind_int64(ins, 4, 2);
        if (sqlite3_step(ins) != SQLITE_DONE) die(db, "insert");
        sqlite3_reset(ins);
        put_i(DEPT_BASE + k, A_DBUDGET, depts[k].budget, 2);
        put_i(DEPT_BASE + k, A_DDIV, DIV_BASE + depts[k].div, 2);
    }
    for (int i = 0; i < NPEOPLE; i++) {
        put_s(JP_BASE + i, A_PNAME, jpeople[i].name, 3);
        put_i(JP_BASE + i, A_PSALARY, jpeople[i].salary, 3);
        put_i(JP_BASE + i, A_PDEPT, DEPT_BASE + jpeople[i].dept, 3);
    }
    exec(db, "COMMIT");
    exec(db, "ANALYZE");
    sqlite3_finalize(ins);
}

/* The trees live in a database of their own (all their nodes are "Ivan"). */
static void load_trees(sqlite3 *db) {
    ins = prep(db, "INSERT INTO eav VALUES (?1, ?2, ?3, ?4)");
    exec(db, "BEGIN");
    for (long id = tree_first_id; id < tree_next_id; id++) put_s(id, A_NAME, "Ivan", 4);
    for (long k = 0; k < tree_nedges; k++) put_i(tree_from[k], A_FOLLOWS, tree_to[k], 4);
    exec(db, "COMMIT");
    exec(db, "ANALYZE");
    sqlite3_finalize(ins);
}

/* ---- query shapes: rows of one statement ---- */

typedef struct qctx {
    sqlite3_stmt *st;
    int distinct_first; /* count changes of column 0 instead of rows */
} qctx;

static long run_stmt(void *p) {
    qctx *q = p;
    long n = 0;
    sqlite3_int64 last = 0;
    int rc;
    while ((rc = sqlite3_step(q->st)) == SQLITE_ROW) {
        if (q->distinct_first) {
            sqlite3_int64 e = sqlite3_column_int64(q->st, 0);
            if (n == 0 || e != last) n++;
            last = e;
        } else {
            n++;
        }
    }
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(sqlite3_db_handle(q->st)));
        sqlite3_reset(q->st);
        return -1;
    }
    sqlite3_reset(q->st);
    return n;
}

static sqlite3 *qdb;
static void bq(const char *shape, const char *sql) {
    if (!bench_selected(shape)) return;
    qctx q = {prep(qdb, sql), 0};
    bench_run(shape, run_stmt, &q);
    sqlite3_finalize(q.st);
}

#define IVAN "n.a=1 AND n.v='Ivan'"
static const char *qs[][2] = {
    {"q1", "SELECT e FROM eav WHERE a=1 AND v='Ivan'"},
    {"q2", "SELECT n.e, g.v FROM eav n JOIN eav g ON g.e=n.e AND g.a=4 WHERE " IVAN},
    {"q2-switch", "SELECT g.e, g.v FROM eav g JOIN eav n ON n.e=g.e AND " IVAN " WHERE g.a=4"},
    {"q3", "SELECT n.e, g.v FROM eav n JOIN eav g ON g.e=n.e AND g.a=4 JOIN eav s ON s.e=n.e AND s.a=3 AND s.v=':male' WHERE " IVAN},
    {"q4", "SELECT n.e, l.v, g.v FROM eav n JOIN eav l ON l.e=n.e AND l.a=2 JOIN eav g ON g.e=n.e AND g.a=4"
           " JOIN eav s ON s.e=n.e AND s.a=3 AND s.v=':male' WHERE " IVAN},
    {"q5", "SELECT e1.e, l.v, e1.v FROM eav e1 JOIN eav l ON l.e=e1.e AND l.a=2 WHERE e1.a=4 AND e1.v IN"
           " (SELECT g.v FROM eav n JOIN eav g ON g.e=n.e AND g.a=4 WHERE " IVAN ")"},
    {"qpred1", "SELECT e, v FROM eav WHERE a=5 AND v>50000"},
    {"qpred2", "SELECT e, v FROM eav WHERE a=5 AND v>?1"},
    {"q-or", "SELECT e FROM eav WHERE a=1 AND v='Ivan' UNION SELECT e FROM eav WHERE a=1 AND v='Oleg'"},
    {"q-not", "SELECT n.e FROM eav n WHERE " IVAN " AND NOT EXISTS (SELECT 1 FROM eav s WHERE s.e=n.e AND s.a=3 AND s.v=':male')"},
    {"q-or-join", "SELECT n.e FROM eav n WHERE " IVAN " AND (EXISTS (SELECT 1 FROM eav l WHERE l.e=n.e AND l.a=2 AND l.v='Ivanov')"
                  " OR EXISTS (SELECT 1 FROM eav g WHERE g.e=n.e AND g.a=4 AND g.v=30))"},
    {"q-not-join", "SELECT n.e FROM eav n WHERE " IVAN " AND NOT EXISTS (SELECT 1 FROM eav f JOIN eav fn ON fn.e=f.v AND fn.a=1"
                   " AND fn.v='Petr' WHERE f.e=n.e AND f.a=6)"},
    {"q-pred-range", "SELECT e, v FROM eav WHERE a=5 AND v>50000 AND v<80000"},
    {"q-5-merge", "SELECT s.e, n.v, l.v, g.v, y.v FROM eav s JOIN eav n ON n.e=s.e AND n.a=1 JOIN eav l ON l.e=s.e AND l.a=2"
                  " JOIN eav g ON g.e=s.e AND g.a=4 JOIN eav y ON y.e=s.e AND y.a=5 WHERE s.a=3 AND s.v=':male'"},
    {"q-rule", "SELECT DISTINCT n.e, fn.v FROM eav n JOIN eav f ON f.e=n.e AND f.a=6 JOIN eav fn ON fn.e=f.v AND fn.a=1 WHERE " IVAN},
    {"agg-avg", "SELECT avg(v) FROM eav WHERE a=5"},
    {"agg-avg-count-by-sex", "SELECT x.v, avg(s.v), count(*) FROM eav x JOIN eav s ON s.e=x.e AND s.a=5 WHERE x.a=3 GROUP BY x.v"},
    {"agg-male-avg-min-max", "SELECT avg(s.v), min(s.v), max(s.v) FROM eav x JOIN eav s ON s.e=x.e AND s.a=5 WHERE x.a=3 AND x.v=':male'"},
    {"agg-pred-by-sex", "SELECT x.v, avg(s.v) FROM eav s JOIN eav x ON x.e=s.e AND x.a=3 WHERE s.a=5 AND s.v>50000 GROUP BY x.v"},
    {"agg-by-sex-name", "SELECT x.v, n.v, avg(s.v) FROM eav x JOIN eav n ON n.e=x.e AND n.a=1 JOIN eav s ON s.e=x.e AND s.a=5"
                        " WHERE x.a=3 GROUP BY x.v, n.v"},
    {"agg-stats", "SELECT avg(v), avg(v*v)-avg(v)*avg(v), (SELECT v FROM eav WHERE a=5 ORDER BY v LIMIT 1 OFFSET"
                  " (SELECT count(*)/2 FROM eav WHERE a=5)) FROM eav WHERE a=5"},
    {"join-1dept", "SELECT p.e FROM eav d JOIN eav p ON p.a=16 AND p.v=d.e WHERE d.a=11 AND d.v='dept-7'"},
    {"join-budget>450k", "SELECT p.e FROM eav d JOIN eav p ON p.a=16 AND p.v=d.e WHERE d.a=12 AND d.v>450000"},
    {"join-budget>400k", "SELECT p.e FROM eav d JOIN eav p ON p.a=16 AND p.v=d.e WHERE d.a=12 AND d.v>400000"},
    {"join-3hop", "SELECT p.e, vn.v FROM eav p JOIN eav dv ON dv.e=p.v AND dv.a=13 JOIN eav vn ON vn.e=dv.v AND vn.a=10 WHERE p.a=16"},
    {"join-salary>90k", "SELECT p.e, dn.v FROM eav s JOIN eav p ON p.e=s.e AND p.a=16 JOIN eav dn ON dn.e=p.v AND dn.a=11"
                        " WHERE s.a=15 AND s.v>90000"},
};

/* pull-many: per entity, its attributes and the names of whom it follows. */
static sqlite3_stmt *pm_attrs, *pm_name;
static long run_pull_many(void *unused) {
    (void)unused;
    long maps = 0;
    for (int i = 0; i < 1000; i++) {
        sqlite3_bind_int64(pm_attrs, 1, PEOPLE_BASE + i);
        maps++;
        while (sqlite3_step(pm_attrs) == SQLITE_ROW) {
            if (sqlite3_column_int(pm_attrs, 0) != A_FOLLOWS) continue;
            sqlite3_bind_int64(pm_name, 1, sqlite3_column_int64(pm_attrs, 1));
            while (sqlite3_step(pm_name) == SQLITE_ROW) (void)sqlite3_column_text(pm_name, 0);
            sqlite3_reset(pm_name);
            maps++;
        }
        sqlite3_reset(pm_attrs);
    }
    return maps;
}

/* ---- writes ---- */

static void write_suite(const char *where) {
    int file = strcmp(where, "memory") != 0;
    /* a WAL-file pass takes ~35 s (an fsync per commit): one by default */
    int reps = (int)env_num(file ? "BENCH_WAL_REPS" : "BENCH_WRITE_REPS", file ? 1 : 3);
    if (reps < 1) reps = 1;
    if (reps > 16) reps = 16;
    const char *dir = getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "/tmp";
    char path[512], shape[64];
    double t1[16], t5[16], tr[16], ta[16];
    const char *sfx = file ? "-wal" : "";
    int w1 = 0, w5 = 0, wa = 0;
    snprintf(shape, sizeof shape, "add-1%s", sfx), w1 = bench_selected(shape);
    snprintf(shape, sizeof shape, "add-5%s", sfx), w5 = bench_selected(shape);
    snprintf(shape, sizeof shape, "retract-5%s", sfx), w5 |= bench_selected(shape);
    snprintf(shape, sizeof shape, "add-all%s", sfx), wa = bench_selected(shape);
    for (int r = 0; r < reps; r++) {
        for (int suite = 0; suite < 3; suite++) {
            if ((suite == 0 && !w1) || (suite == 1 && !w5) || (suite == 2 && !wa)) continue;
            if (file) {
                snprintf(path, sizeof path, "%s/sqlite-bench-%d.db", dir, (int)getpid());
                remove(path);
                char aux[600];
                snprintf(aux, sizeof aux, "%s-wal", path), remove(aux);
                snprintf(aux, sizeof aux, "%s-shm", path), remove(aux);
            } else {
                snprintf(path, sizeof path, ":memory:");
            }
            sqlite3 *db = open_db(path);
            ins = prep(db, "INSERT INTO eav VALUES (?1, ?2, ?3, ?4)");
            double t0 = now_ms();
            if (suite == 0) {
                for (int i = 0; i < NPEOPLE; i++) {
                    exec(db, "BEGIN");
                    put_i(PEOPLE_BASE + i, A_AGE, people[i].age, i + 1);
                    exec(db, "COMMIT");
                }
                t1[r] = now_ms() - t0;
            } else if (suite == 1) {
                for (int i = 0; i < NPEOPLE; i++) {
                    exec(db, "BEGIN");
                    put_person(i, i + 1);
                    exec(db, "COMMIT");
                }
                t5[r] = now_ms() - t0;
                sqlite3_stmt *del = prep(db, "DELETE FROM eav WHERE e=?1");
                t0 = now_ms();
                for (int i = 0; i < NPEOPLE; i++) {
                    exec(db, "BEGIN");
                    sqlite3_bind_int64(del, 1, PEOPLE_BASE + i);
                    if (sqlite3_step(del) != SQLITE_DONE) die(db, "delete");
                    sqlite3_reset(del);
                    exec(db, "COMMIT");
                }
                tr[r] = now_ms() - t0;
                sqlite3_finalize(del);
            } else {
                exec(db, "BEGIN");
                for (int i = 0; i < NPEOPLE; i++) put_person(i, 1);
                exec(db, "COMMIT");
                ta[r] = now_ms() - t0;
            }
            sqlite3_finalize(ins);
            sqlite3_close(db);
            if (file) {
                char aux[600];
                remove(path);
                snprintf(aux, sizeof aux, "%s-wal", path), remove(aux);
                snprintf(aux, sizeof aux, "%s-shm", path), remove(aux);
            }
        }
    }
    const char *note = file ? "ms per whole suite; WAL file, synchronous=FULL" : "ms per whole suite; in memory";
    if (w1) snprintf(shape, sizeof shape, "add-1%s", sfx), bench_print_reps(shape, t1, reps, NPEOPLE, note);
    if (w5) {
        snprintf(shape, sizeof shape, "add-5%s", sfx), bench_print_reps(shape, t5, reps, 5L * NPEOPLE, note);
        snprintf(shape, sizeof shape, "retract-5%s", sfx), bench_print_reps(shape, tr, reps, 5L * NPEOPLE, note);
    }
    if (wa) snprintf(shape, sizeof shape, "add-all%s", sfx), bench_print_reps(shape, ta, reps, 5L * NPEOPLE, note);
}

int main(void) {
    bench_engine = "sqlite";
    bench_only = getenv("BENCH_ONLY");
    gen_people();
    gen_trees();
    qdb = open_db(":memory:");
    load_all(qdb);
    sqlite3 *tdb = open_db(":memory:");
    load_trees(tdb);

    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        if (!bench_selected(qs[i][0])) continue;
        qctx q = {prep(qdb, qs[i][1]), 0};
        if (!strcmp(qs[i][0], "qpred2")) sqlite3_bind_int(q.st, 1, 50000);
        bench_run(qs[i][0], run_stmt, &q);
        sqlite3_finalize(q.st);
    }

    const char *rec = "WITH RECURSIVE r(e) AS (SELECT v FROM eav WHERE a=6 AND e=?1"
                      " UNION SELECT f.v FROM eav f JOIN r ON f.e=r.e WHERE f.a=6) SELECT e FROM r";
    for (size_t t = 0; t < NTREES; t++) {
        if (!strncmp(trees[t].name, "pull", 4) || !bench_selected(trees[t].name)) continue;
        qctx q = {prep(tdb, rec), 0};
        sqlite3_bind_int64(q.st, 1, trees[t].root);
        bench_run(trees[t].name, run_stmt, &q);
        sqlite3_finalize(q.st);
    }

    long root45 = trees[NTREES - 1].root;
    if (bench_selected("pull-one")) {
        qctx q = {prep(tdb, "WITH RECURSIVE r(e) AS (SELECT ?1 UNION SELECT f.v FROM eav f JOIN r ON f.e=r.e WHERE f.a=6)"
                            " SELECT r.e, n.v FROM r LEFT JOIN eav n ON n.e=r.e AND n.a=1"), 0};
        sqlite3_bind_int64(q.st, 1, root45);
        bench_run("pull-one", run_stmt, &q);
        sqlite3_finalize(q.st);
    }
    if (bench_selected("pull-wildcard")) {
        qctx q = {prep(tdb, "WITH RECURSIVE r(e) AS (SELECT ?1 UNION SELECT f.v FROM eav f JOIN r ON f.e=r.e WHERE f.a=6)"
                            " SELECT r.e, x.a, x.v FROM r JOIN eav x ON x.e=r.e"), 1};
        sqlite3_bind_int64(q.st, 1, root45);
        bench_run("pull-wildcard", run_stmt, &q);
        sqlite3_finalize(q.st);
    }
    pm_attrs = prep(qdb, "SELECT a, v FROM eav WHERE e=?1");
    pm_name = prep(qdb, "SELECT v FROM eav WHERE e=?1 AND a=1");
    bench_run("pull-many", run_pull_many, NULL);
    sqlite3_finalize(pm_attrs);
    sqlite3_finalize(pm_name);

    static const char *temporal[] = {"temporal-current-q1", "temporal-current-q2", "temporal-asof-q1",
                                     "temporal-asof-q2", "temporal-asof-q3", "history-names",
                                     "history-age-tx", "history-name-age", "history-retracted-ages"};
    for (size_t i = 0; i < sizeof temporal / sizeof temporal[0]; i++)
        bench_na(temporal[i], "the EAV table keeps no history");

    write_suite("memory");
    if (env_num("BENCH_WAL_REPS", 1) >= 1) write_suite("file"); /* 0: skip the WAL pass */
    bench_na("init", "no separate bulk-load path (add-all is the bulk load)");
    sqlite3_close(qdb);
    sqlite3_close(tdb);
    return 0;
}
