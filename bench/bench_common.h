/*
** bench_common.h — what datalith_bench.c and sqlite_bench.c share: the
** mulberry32 generator and the WORKLOAD.md data sets, the timing loop, and
** the output line.  datascript_bench.js mirrors the generator line by line;
** the data checks (2407 Ivans, salary sum 998847057) keep the three honest.
**
** Data sets (entity ids are explicit so every engine sees the same ids):
**
**   people20k   eid PEOPLE_BASE+i, i = position after the shuffle.
**               :follows — after the shuffle, the same PRNG goes on: for each
**               i in order, if rand_int(2) == 0 the person follows
**               PEOPLE_BASE+j with j = rand_int(N-1), j >= i shifted by one
**               (never themselves).
**   joins       seed 7: 10 divisions (eid DIV_BASE+k, :div/name "div-k"),
**               100 departments (eid DEPT_BASE+k, :d/name "dept-k",
**               :d/budget rand_int(500000), :d/div DIV_BASE+rand_int(10)),
**               20000 people (eid JP_BASE+i, :p/name rand_nth(names),
**               :p/salary 30000+rand_int(70000), :p/dept DEPT_BASE+rand_int(100)).
**   trees       all named "Ivan", one data set with a root per shape:
**               wide WxD  — every node follows W children, D levels below
**                           the root (W + W^2 + ... + W^D descendants);
**               long WxD  — the root follows W chain heads, each chain D
**                           links long (W*D descendants).
**               Ids are allocated in order from TREE_BASE.
**   temporal    people20k with history, loaded in one transaction (tx1); then
**               the first 2000 people get age (age+1)%100 in 20 transactions
**               of 100.
**
** Timing (env): BENCH_WARMUP_S (1.0), BENCH_SAMPLES (5), BENCH_SAMPLE_S (0.5),
** BENCH_WRITE_REPS (3), BENCH_WAL_REPS (1, SQLite WAL file).  BENCH_ONLY=sub runs only
** the shapes whose name contains sub.  A sample repeats the shape until it has run for at
** least BENCH_SAMPLE_S; its time per operation is one sample.
**
** Output: one TSV line per shape on stdout:
**   engine  shape  median_ms  min_ms  result_size  note
*/
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NPEOPLE 20000
#define PEOPLE_BASE 1000
#define DIV_BASE 100000
#define DEPT_BASE 100100
#define JP_BASE 101000
#define TREE_BASE 200000

static uint32_t rng_state;
static uint32_t mulberry32(void) {
    uint32_t t = rng_state += 0x6D2B79F5u;
    t = (t ^ (t >> 15)) * (1u | t);
    t = (t + ((t ^ (t >> 7)) * (61u | t))) ^ t;
    return t ^ (t >> 14);
}
static uint32_t rand_int(uint32_t n) { return mulberry32() % n; }

static const char *names[] = {"Ivan", "Petr", "Sergei", "Oleg", "Yuri", "Dmitry", "Fedor", "Denis"};
static const char *lasts[] = {"Ivanov", "Petrov", "Sidorov", "Kovalev", "Kuznetsov", "Voronoi"};

typedef struct person {
    const char *name, *last, *sex;
    int age, salary;
    int follows; /* index of the followed person, or -1 */
} person;

typedef struct jperson {
    const char *name;
    int salary, dept;
} jperson;

typedef struct dept {
    int budget, div;
} dept;

static person people[NPEOPLE];
static jperson jpeople[NPEOPLE];
static dept depts[100];

static void gen_people(void) {
    rng_state = 42;
    for (int i = 0; i < NPEOPLE; i++) {
        people[i].name = names[rand_int(8)];
        people[i].last = lasts[rand_int(6)];
        people[i].sex = rand_int(2) ? "female" : "male";
        people[i].age = (int)rand_int(100);
        people[i].salary = (int)rand_int(100000);
    }
    for (int i = NPEOPLE - 1; i >= 1; i--) {
        int j = (int)rand_int((uint32_t)i + 1);
        person t = people[i];
        people[i] = people[j];
        people[j] = t;
    }
    long ivans = 0, sum = 0;
    for (int i = 0; i < NPEOPLE; i++) {
        ivans += !strcmp(people[i].name, "Ivan");
        sum += people[i].salary;
    }
    if (ivans != 2407 || sum != 998847057) {
        fprintf(stderr, "people20k check failed: %ld Ivans, salary sum %ld\n", ivans, sum);
        abort();
    }
    for (int i = 0; i < NPEOPLE; i++) {
        people[i].follows = -1;
        if (rand_int(2) == 0) {
            int j = (int)rand_int(NPEOPLE - 1);
            if (j >= i) j++;
            people[i].follows = j;
        }
    }
    rng_state = 7;
    for (int k = 0; k < 100; k++) {
        depts[k].budget = (int)rand_int(500000);
        depts[k].div = (int)rand_int(10);
    }
    for (int i = 0; i < NPEOPLE; i++) {
        jpeople[i].name = names[rand_int(8)];
        jpeople[i].salary = 30000 + (int)rand_int(70000);
        jpeople[i].dept = (int)rand_int(100);
    }
}

/* Trees: edges[] of (from, to); roots[] per shape. */
typedef struct tree_shape {
    const char *name;
    int wide; /* 1 wide, 0 long */
    int w, d;
    long root;
    long size; /* descendants */
} tree_shape;

static tree_shape trees[] = {
    {"rules-wide-3x3", 1, 3, 3, 0, 0}, {"rules-wide-5x3", 1, 5, 3, 0, 0},
    {"rules-wide-7x3", 1, 7, 3, 0, 0}, {"rules-wide-4x6", 1, 4, 6, 0, 0},
    {"rules-long-10x3", 0, 10, 3, 0, 0}, {"rules-long-30x3", 0, 30, 3, 0, 0},
    {"rules-long-30x5", 0, 30, 5, 0, 0}, {"pull-tree-4x5", 1, 4, 5, 0, 0},
};
#define NTREES (sizeof trees / sizeof trees[0])

static long *tree_from, *tree_to;
static long tree_nedges, tree_next_id = TREE_BASE, tree_first_id = TREE_BASE;

static void tree_edge(long a, long b) {
    static long cap;
    if (tree_nedges == cap) {
        cap = cap ? cap * 2 : 4096;
        tree_from = realloc(tree_from, (size_t)cap * sizeof *tree_from);
        tree_to = realloc(tree_to, (size_t)cap * sizeof *tree_to);
        if (!tree_from || !tree_to) abort();
    }
    tree_from[tree_nedges] = a;
    tree_to[tree_nedges++] = b;
}

static long wide_node(int w, int d) {
    long id = tree_next_id++;
    if (d > 0)
        for (int k = 0; k < w; k++) tree_edge(id, wide_node(w, d - 1));
    return id;
}

static void gen_trees(void) {
    for (size_t t = 0; t < NTREES; t++) {
        tree_shape *s = &trees[t];
        if (s->wide) {
            s->root = wide_node(s->w, s->d);
            long n = 0, p = 1;
            for (int k = 0; k < s->d; k++) n += (p *= s->w);
            s->size = n;
        } else {
            s->root = tree_next_id++;
            for (int k = 0; k < s->w; k++) {
                long prev = s->root;
                for (int l = 0; l < s->d; l++) {
                    long id = tree_next_id++;
                    tree_edge(prev, id);
                    prev = id;
                }
            }
            s->size = (long)s->w * s->d;
        }
    }
}

/* ---- timing ---- */

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double env_num(const char *name, double dflt) {
    const char *s = getenv(name);
    return s && *s ? atof(s) : dflt;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const char *bench_engine = "?";
static const char *bench_only; /* BENCH_ONLY: substring filter on shapes */

static int bench_selected(const char *shape) {
    return !bench_only || !*bench_only || strstr(shape, bench_only);
}

/* Run op(ctx) (returns the result size, or -1 on error) per WORKLOAD's
** timing rules and print the line. */
static void bench_run(const char *shape, long (*op)(void *), void *ctx) {
    if (!bench_selected(shape)) return;
    double warm = env_num("BENCH_WARMUP_S", 1.0) * 1e3;
    int nsamples = (int)env_num("BENCH_SAMPLES", 5);
    double sample = env_num("BENCH_SAMPLE_S", 0.5) * 1e3;
    if (nsamples < 1) nsamples = 1;
    if (nsamples > 64) nsamples = 64;
    double t0 = now_ms();
    long size = op(ctx);
    if (size < 0) {
        printf("%s\t%s\t-\t-\tERR\t%s\n", bench_engine, shape, "error (see stderr)");
        fflush(stdout);
        return;
    }
    while (now_ms() - t0 < warm) op(ctx);
    double s[64];
    for (int k = 0; k < nsamples; k++) {
        long reps = 0;
        double a = now_ms(), b;
        do {
            op(ctx);
            reps++;
        } while ((b = now_ms()) - a < sample);
        s[k] = (b - a) / (double)reps;
    }
    qsort(s, (size_t)nsamples, sizeof s[0], cmp_double);
    printf("%s\t%s\t%.4f\t%.4f\t%ld\t\n", bench_engine, shape, s[nsamples / 2], s[0], size);
    fflush(stdout);
}

/* One line for a shape measured by repetitions of a whole suite (writes):
** times[] in ms. */
static void bench_print_reps(const char *shape, double *times, int n, long size, const char *note) {
    qsort(times, (size_t)n, sizeof times[0], cmp_double);
    printf("%s\t%s\t%.4f\t%.4f\t%ld\t%s\n", bench_engine, shape, times[n / 2], times[0], size, note ? note : "");
    fflush(stdout);
}

static void bench_na(const char *shape, const char *why) {
    if (!bench_selected(shape)) return;
    printf("%s\t%s\t-\t-\tn/a\t%s\n", bench_engine, shape, why);
    fflush(stdout);
}

#endif
