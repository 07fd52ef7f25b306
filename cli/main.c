/*
** main.c — the `datalith` command line.
**
**   datalith [options] <command> [args...]
**
** The database commands come from the table generated from spec/api.edn
** (commands_gen.c): each row names the command, its arguments' kinds and a
** uniform call thunk, so this file never names an operation.  What it does
** is turn command-line words into call arguments, in Datahike's CLI (dthk)
** conventions:
**
**   handle arguments   conn:CFG           a connection to the database CFG names
**                      db:CFG             its current snapshot
**                      history:CFG        the history view (when implemented)
**                      asof:T:CFG         the snapshot as of T (tx id or #inst)
**                      since:T:CFG        the datoms after T
**   value arguments    edn:FILE json:FILE cbor:FILE, or literal text in the
**                      input format (-if, default EDN)
**
** CFG is a file holding the configuration map (EDN, or JSON when it ends in
** .json).  Values travel to the engine as canonical EDN; results print as
** EDN (default) or JSON / CBOR (-f).  The `tx` argument of transact may be
** left out: it is then read from --tx-file PATH or standard input.
**
** Exit status: 0 ok, 1 the engine or the input rejected the command (the
** message, with line and column for malformed text, on stderr), 2 usage
** (unknown command or option, wrong number of arguments, bad prefix).
** `version` and `convert` are hand-written commands kept from before.
*/
#include "datalith.h"
#include "commands_gen.h"

#include "../core/util/arena.h"
#include "../core/util/buf.h"
#include "../core/value/value.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_ENGINE 1
#define EXIT_USAGE 2

/* ------------------------------------------------------------- options */

typedef struct cli_opts {
    int out_fmt;          /* DATALITH_FORMAT_* */
    int in_fmt;
    const char *tx_file;  /* --tx-file, or NULL */
} cli_opts;

/* Everything opened while resolving arguments, released before exit. */
#define MAX_HANDLES 64
static datalith_conn *open_conns[MAX_HANDLES];
static datalith_db *open_dbs[MAX_HANDLES];
static size_t n_conns, n_dbs;
static char *owned[MAX_HANDLES * 2];
static size_t n_owned;

static void release_all(void) {
    for (size_t i = 0; i < n_dbs; i++) datalith_db_release(open_dbs[i]);
    for (size_t i = 0; i < n_conns; i++) datalith_conn_release(open_conns[i]);
    for (size_t i = 0; i < n_owned; i++) datalith_free(owned[i]);
    n_dbs = n_conns = n_owned = 0;
}

static int keep(char *p) {
    if (n_owned == sizeof owned / sizeof owned[0]) {
        datalith_free(p);
        return -1;
    }
    owned[n_owned++] = p;
    return 0;
}

static int parse_format(const char *s, int allow_pprint) {
    if (!strcmp(s, "edn")) return DATALITH_FORMAT_EDN;
    if (!strcmp(s, "json")) return DATALITH_FORMAT_JSON;
    if (!strcmp(s, "cbor")) return DATALITH_FORMAT_CBOR;
    if (allow_pprint && !strcmp(s, "pprint")) return DATALITH_FORMAT_EDN;
    return -1;
}

static const char *format_name(int f) {
    return f == DATALITH_FORMAT_JSON ? "json" : f == DATALITH_FORMAT_CBOR ? "cbor" : "edn";
}

/* ----------------------------------------------------------- input */

static char *read_stream(FILE *f, size_t *len) {
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) return NULL;
    for (;;) {
        if (n == cap) {
            char *p = realloc(buf, (cap *= 2) + 1);
            if (!p) { free(buf); return NULL; }
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* Read a whole file; on failure prints "datalith: cannot read '<path>':
** <reason>" and returns NULL. */
static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "datalith: cannot read '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = read_stream(f, len);
    fclose(f);
    if (!buf) fprintf(stderr, "datalith: out of memory reading '%s'\n", path);
    return buf;
}

/* Convert text in format `fmt` to canonical EDN (kept until exit).  `what`
** names the argument in messages. */
static int to_edn(const char *in, size_t n, int fmt, const char *what, const char **out,
                  size_t *out_n) {
    char *s = NULL;
    size_t sn = 0;
    if (datalith_value_convert(in, n, fmt, DATALITH_FORMAT_EDN, &s, &sn)) {
        fprintf(stderr, "datalith: %s: malformed %s: %s\n", what, format_name(fmt),
                datalith_error_last()->message);
        return EXIT_ENGINE;
    }
    if (keep(s)) {
        fprintf(stderr, "datalith: too many arguments\n");
        return EXIT_USAGE;
    }
    *out = s;
    *out_n = sn;
    return 0;
}

static int file_to_edn(const char *path, int fmt, const char *what, const char **out,
                       size_t *n) {
    size_t len;
    char *text = read_file(path, &len);
    if (!text) return EXIT_ENGINE;
    int rc = to_edn(text, len, fmt, what, out, n);
    free(text);
    return rc;
}

/* A literal argument that also names a file: when the command fails, the
** user probably meant edn:FILE. */
static const char *hint_word;

static void print_hint(void) {
    if (hint_word)
        fprintf(stderr, "datalith: hint: '%s' is a file; give it as edn:%s or json:%s\n",
                hint_word, hint_word, hint_word);
    hint_word = NULL;
}

/* A :value argument: edn:FILE, json:FILE, cbor:FILE or literal text. */
static int value_arg(const cli_opts *o, const char *word, const char *what, const char **out,
                     size_t *n) {
    static const struct { const char *prefix; int fmt; } pf[] = {
        {"edn:", DATALITH_FORMAT_EDN}, {"json:", DATALITH_FORMAT_JSON},
        {"cbor:", DATALITH_FORMAT_CBOR}};
    for (size_t i = 0; i < 3; i++) {
        size_t pl = strlen(pf[i].prefix);
        if (!strncmp(word, pf[i].prefix, pl)) return file_to_edn(word + pl, pf[i].fmt, what, out, n);
    }
    if (o->in_fmt == DATALITH_FORMAT_CBOR) {
        fprintf(stderr, "datalith: %s: CBOR cannot be given literally; use cbor:FILE\n", what);
        return EXIT_USAGE;
    }
    FILE *f = fopen(word, "rb");
    if (f) {
        fclose(f);
        hint_word = word;
    }
    int rc = to_edn(word, strlen(word), o->in_fmt, what, out, n);
    if (rc) print_hint();
    return rc;
}

/* ----------------------------------------------------------- handles */

static int open_conn(const char *cfg_path, const char *what, datalith_conn **out) {
    size_t pl = strlen(cfg_path);
    int fmt = pl > 5 && !strcmp(cfg_path + pl - 5, ".json") ? DATALITH_FORMAT_JSON
                                                             : DATALITH_FORMAT_EDN;
    const char *cfg;
    size_t n;
    int rc = file_to_edn(cfg_path, fmt, what, &cfg, &n);
    if (rc) return rc;
    if (n_conns == MAX_HANDLES) {
        fprintf(stderr, "datalith: too many database arguments\n");
        return EXIT_USAGE;
    }
    if (datalith_connect(cfg, n, DATALITH_FORMAT_EDN, out)) {
        fprintf(stderr, "datalith: %s: cannot connect to the database of '%s': %s\n", what,
                cfg_path, datalith_error_last()->message);
        return EXIT_ENGINE;
    }
    open_conns[n_conns++] = *out;
    return 0;
}

static int track_db(datalith_db *db) {
    if (n_dbs == MAX_HANDLES) {
        datalith_db_release(db);
        fprintf(stderr, "datalith: too many database arguments\n");
        return EXIT_USAGE;
    }
    open_dbs[n_dbs++] = db;
    return 0;
}

static const char DB_PREFIXES[] = "db:CFG, history:CFG, asof:T:CFG or since:T:CFG";

/* Whether `word` starts with one of the snapshot prefixes. */
static int is_db_word(const char *word) {
    return !strncmp(word, "db:", 3) || !strncmp(word, "history:", 8) ||
           !strncmp(word, "asof:", 5) || !strncmp(word, "since:", 6);
}

#if !CLI_HAVE_HISTORY || !CLI_HAVE_AS_OF || !CLI_HAVE_SINCE
static int unavailable(const char *what, const char *prefix, const char *op) {
    fprintf(stderr, "datalith: %s: the %s prefix needs the %s operation, which this build "
            "does not implement yet\n", what, prefix, op);
    return EXIT_ENGINE;
}
#endif

/* A snapshot argument: db:CFG, history:CFG, asof:T:CFG, since:T:CFG. */
static int db_arg(const char *word, const char *what, datalith_db **out) {
    const char *cfg = NULL, *t = NULL;
    size_t tn = 0;
    int view = 0; /* 0 db, 1 history, 2 as-of, 3 since */
    if (!strncmp(word, "db:", 3)) {
        cfg = word + 3;
    } else if (!strncmp(word, "history:", 8)) {
        cfg = word + 8, view = 1;
    } else if (!strncmp(word, "asof:", 5) || !strncmp(word, "since:", 6)) {
        view = word[0] == 'a' ? 2 : 3;
        t = word + (view == 2 ? 5 : 6);
        const char *colon = strchr(t, ':');
        if (!colon || colon == t) {
            fprintf(stderr, "datalith: %s: '%s' must be %s:T:CFG with a transaction id or "
                    "#inst T\n", what, word, view == 2 ? "asof" : "since");
            return EXIT_USAGE;
        }
        tn = (size_t)(colon - t);
        cfg = colon + 1;
    } else {
        fprintf(stderr, "datalith: %s: expected %s, got '%s'\n", what, DB_PREFIXES, word);
        return EXIT_USAGE;
    }
    if (!*cfg) {
        fprintf(stderr, "datalith: %s: '%s' names no configuration file\n", what, word);
        return EXIT_USAGE;
    }
    datalith_conn *conn;
    int rc = open_conn(cfg, what, &conn);
    if (rc) return rc;
    datalith_db *db;
    if (datalith_conn_db(conn, &db)) {
        fprintf(stderr, "datalith: %s: %s\n", what, datalith_error_last()->message);
        return EXIT_ENGINE;
    }
    if ((rc = track_db(db))) return rc;
    (void)t; (void)tn;
    switch (view) {
    case 1:
#if CLI_HAVE_HISTORY
        if (datalith_history(db, &db)) break;
        if ((rc = track_db(db))) return rc;
        *out = db;
        return 0;
#else
        return unavailable(what, "history:", "history");
#endif
    case 2:
#if CLI_HAVE_AS_OF
        if (datalith_as_of(db, t, tn, DATALITH_FORMAT_EDN, &db)) break;
        if ((rc = track_db(db))) return rc;
        *out = db;
        return 0;
#else
        return unavailable(what, "asof:", "as-of");
#endif
    case 3:
#if CLI_HAVE_SINCE
        if (datalith_since(db, t, tn, DATALITH_FORMAT_EDN, &db)) break;
        if ((rc = track_db(db))) return rc;
        *out = db;
        return 0;
#else
        return unavailable(what, "since:", "since");
#endif
    default:
        *out = db;
        return 0;
    }
    fprintf(stderr, "datalith: %s: %s\n", what, datalith_error_last()->message);
    return EXIT_ENGINE;
}

/* ------------------------------------------------------------- help */

static void wrap(FILE *f, const char *indent, const char *text) {
    size_t col = 0, il = strlen(indent);
    fputs(indent, f);
    col = il;
    while (*text) {
        size_t w = strcspn(text, " ");
        if (col > il && col + 1 + w > 78) {
            fputc('\n', f);
            fputs(indent, f);
            col = il;
        } else if (col > il) {
            fputc(' ', f);
            col++;
        }
        fwrite(text, 1, w, f);
        col += w;
        text += w;
        while (*text == ' ') text++;
    }
    fputc('\n', f);
}

/* Like wrap, but the first line continues a line already at column `col`. */
static void wrap_from(FILE *f, size_t col, const char *text) {
    size_t start = col;
    while (*text) {
        size_t w = strcspn(text, " ");
        if (col > start && col + 1 + w > 78) {
            fprintf(f, "\n%*s", (int)start, "");
            col = start;
        } else if (col > start) {
            fputc(' ', f);
            col++;
        }
        fwrite(text, 1, w, f);
        col += w;
        text += w;
        while (*text == ' ') text++;
    }
    fputc('\n', f);
}

static const char *kind_hint(int kind) {
    switch (kind) {
    case CLI_K_HANDLE_CONN: return "conn:CFG";
    case CLI_K_HANDLE_DB: return "db:CFG | history:CFG | asof:T:CFG | since:T:CFG";
    case CLI_K_HANDLES_DB: return "one or more of db:CFG history:CFG asof:T:CFG since:T:CFG";
    case CLI_K_VALUE: return "EDN (or -if json) text, edn:FILE, json:FILE or cbor:FILE";
    case CLI_K_FORMAT: return "edn | json | cbor";
    case CLI_K_INT: return "an integer";
    case CLI_K_BOOL: return "true | false";
    default: return "text";
    }
}

#define EXPORT_HELP \
    "usage: datalith [-f edn|json|cbor] export DB [FILE]\n\n" \
    "Write every datom of the snapshot's EAVT index as a vector of\n" \
    "#datahike/Datom [e a v tx added] to FILE (default: standard output).\n" \
    "DB is db:CFG, or history:CFG to include retractions, or asof:T:CFG.\n"
#define IMPORT_HELP \
    "usage: datalith import conn:CFG FILE\n\n" \
    "Replay an export (EDN; .json and .cbor by extension) into the database:\n" \
    "one transaction per original transaction, in order, keeping entity ids.\n" \
    "Transaction entities' own datoms (:db/txInstant, tx metadata) are not\n" \
    "copied; each import transaction gets its own.  Prints\n" \
    "{:datoms <n> :transactions <m>}.\n"

static void usage(FILE *f) {
    fputs("usage: datalith [options] <command> [args...]\n"
          "\n"
          "options:\n"
          "  -f, --format edn|json|pprint|cbor   output format (default edn)\n"
          "  -if, --input-format edn|json|cbor   format of literal value arguments\n"
          "  --tx-file PATH                      transact: read tx-data from PATH\n"
          "                                      (default: standard input)\n"
          "  -h, --help                          this text; `datalith <command> --help`\n"
          "  --version                           print the library version\n"
          "\n"
          "commands:\n"
          "  convert [--from F] [--to F] [FILE]  read a value (default EDN) and print it\n"
          "                                      (default canonical EDN)\n"
          "  export DB [FILE]                    write all datoms (history:CFG: with\n"
          "                                      retractions)\n"
          "  import conn:CFG FILE                replay an export, keeping entity ids\n",
          f);
    for (size_t i = 0; i < cli_op_count; i++) {
        const cli_op *c = &cli_ops[i];
        char line[256];
        size_t n = (size_t)snprintf(line, sizeof line, "  %s", c->name);
        for (int k = 0; k < c->nargs && n < sizeof line; k++)
            n += (size_t)snprintf(line + n, sizeof line - n, " %s", c->args[k].name);
        if (n < 38) {
            fprintf(f, "%-38s", line);
        } else {
            fprintf(f, "%s\n%-38s", line, "");
        }
        /* The doc's first sentence, wrapped under column 38. */
        const char *dot = strstr(c->doc, ". ");
        size_t len = dot ? (size_t)(dot - c->doc + 1) : strlen(c->doc);
        char first[512];
        if (len >= sizeof first) len = sizeof first - 1;
        memcpy(first, c->doc, len);
        first[len] = 0;
        wrap_from(f, 38, first);
    }
    fputs("\nhandle arguments: conn:CFG, db:CFG, history:CFG, asof:T:CFG, since:T:CFG\n"
          "(CFG: a file with the configuration map, EDN or .json).  Value arguments:\n"
          "EDN text, edn:FILE, json:FILE or cbor:FILE.  `datalith <command> --help`\n"
          "describes one command.  Exit status: 0 ok, 1 rejected, 2 usage.\n",
          f);
}

static void command_help(FILE *f, const cli_op *c) {
    fprintf(f, "usage: datalith %s", c->name);
    for (int k = 0; k < c->nargs; k++) {
        int optional = !strcmp(c->op, "transact") && !strcmp(c->args[k].name, "tx");
        fprintf(f, optional ? " [%s]" : " %s", c->args[k].name);
    }
    fputs("\n\n", f);
    wrap(f, "", c->doc);
    if (c->nargs) fputs("\narguments:\n", f);
    for (int k = 0; k < c->nargs; k++) {
        int rest = k > 0 && k == c->nargs - 1 && c->args[k - 1].kind == CLI_K_HANDLES_DB &&
                   c->args[k].kind == CLI_K_VALUE;
        fprintf(f, "  %s  %s\n", c->args[k].name,
                rest ? "the remaining arguments (each a value), gathered into a vector"
                     : kind_hint(c->args[k].kind));
        wrap(f, "      ", c->args[k].doc);
    }
    if (!strcmp(c->op, "transact"))
        fputs("\n  tx may be left out: it is then read from --tx-file PATH or standard input.\n",
              f);
    if (c->ret_doc) {
        fputs("\nprints:\n", f);
        wrap(f, "  ", c->ret_doc);
    }
}

static const cli_op *find_command(const char *name) {
    for (size_t i = 0; i < cli_op_count; i++)
        if (!strcmp(cli_ops[i].name, name) || !strcmp(cli_ops[i].op, name)) return &cli_ops[i];
    return NULL;
}

/* ----------------------------------------------------------- convert */

static int cmd_convert(int argc, char **argv) {
    int from = DATALITH_FORMAT_EDN, to = DATALITH_FORMAT_EDN;
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        if ((!strcmp(argv[i], "--from") || !strcmp(argv[i], "--to")) && i + 1 < argc) {
            int f = parse_format(argv[i + 1], 0);
            if (f < 0) {
                fprintf(stderr, "datalith: unknown format '%s' (edn, json, cbor)\n", argv[i + 1]);
                return EXIT_USAGE;
            }
            if (argv[i][2] == 'f') from = f; else to = f;
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "datalith: unknown option '%s'\n", argv[i]);
            return EXIT_USAGE;
        } else {
            path = argv[i];
        }
    }
    size_t len;
    char *in;
    if (path && strcmp(path, "-")) {
        if (!(in = read_file(path, &len))) return EXIT_ENGINE;
    } else if (!(in = read_stream(stdin, &len))) {
        fprintf(stderr, "datalith: out of memory\n");
        return EXIT_ENGINE;
    }
    char *out = NULL;
    size_t out_len = 0;
    int rc = datalith_value_convert(in, len, from, to, &out, &out_len);
    free(in);
    if (rc) {
        fprintf(stderr, "datalith: %s\n", datalith_error_last()->message);
        return EXIT_ENGINE;
    }
    fwrite(out, 1, out_len, stdout);
    if (to != DATALITH_FORMAT_CBOR) fputc('\n', stdout);
    datalith_free(out);
    return 0;
}

/* ----------------------------------------------------- export, import */

/* export DB [FILE]: every datom of the snapshot's EAVT index (with history:
** the retractions too) as a vector of #datahike/Datom [e a v tx added]. */
static int cmd_export(const cli_opts *o, int argc, char **argv) {
    if (argc < 1 || argc > 2) {
        fprintf(stderr, "datalith: export: expected DB [FILE]; see `datalith export --help`\n");
        return EXIT_USAGE;
    }
    datalith_db *db;
    int rc = db_arg(argv[0], "export: argument 1 (db)", &db);
    if (rc) return rc;
    static const char all[] = "{:index :eavt}";
    char *s;
    size_t n;
    if (datalith_datoms(db, all, sizeof all - 1, o->out_fmt, &s, &n)) {
        fprintf(stderr, "datalith: export: %s\n", datalith_error_last()->message);
        return EXIT_ENGINE;
    }
    FILE *f = stdout;
    if (argc == 2 && !(f = fopen(argv[1], "wb"))) {
        fprintf(stderr, "datalith: export: cannot write '%s': %s\n", argv[1], strerror(errno));
        datalith_free(s);
        return EXIT_ENGINE;
    }
    fwrite(s, 1, n, f);
    if (o->out_fmt != DATALITH_FORMAT_CBOR) fputc('\n', f);
    datalith_free(s);
    if (f != stdout && fclose(f)) {
        fprintf(stderr, "datalith: export: cannot write '%s': %s\n", argv[1], strerror(errno));
        return EXIT_ENGINE;
    }
    return 0;
}

typedef struct imp_datom {
    const edn_value *e, *a, *v;
    int64_t tx;
    int added;
    size_t order;
} imp_datom;

static int imp_cmp(const void *x, const void *y) {
    const imp_datom *p = x, *q = y;
    if (p->tx != q->tx) return p->tx < q->tx ? -1 : 1;
    return p->order < q->order ? -1 : p->order > q->order;
}

/* import conn:CFG FILE: replay an export, one transaction per original
** transaction in tx order, keeping entity ids. */
static int cmd_import(const cli_opts *o, int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "datalith: import: expected conn:CFG FILE; see `datalith import --help`\n");
        return EXIT_USAGE;
    }
    if (strncmp(argv[0], "conn:", 5) || !argv[0][5]) {
        fprintf(stderr, "datalith: import: argument 1 (conn): expected conn:CFG, got '%s'\n",
                argv[0]);
        return EXIT_USAGE;
    }
    const char *path = argv[1];
    size_t pl = strlen(path);
    int fmt = o->in_fmt;
    if (pl > 5 && !strcmp(path + pl - 5, ".json")) fmt = DATALITH_FORMAT_JSON;
    if (pl > 5 && !strcmp(path + pl - 5, ".cbor")) fmt = DATALITH_FORMAT_CBOR;
    const char *text;
    size_t n;
    int rc = file_to_edn(path, fmt, "import: argument 2 (file)", &text, &n);
    if (rc) return rc;
    datalith_conn *conn;
    if ((rc = open_conn(argv[0] + 5, "import: argument 1 (conn)", &conn))) return rc;

    dl_arena arena;
    dl_arena_init(&arena, 0);
    edn_value all;
    imp_datom *ds = NULL;
    dl_buf tx = DL_BUF_INIT;
    rc = EXIT_ENGINE;
    if (edn_read(&arena, text, n, NULL, &all)) {
        fprintf(stderr, "datalith: import: %s\n", datalith_error_last()->message);
        goto out;
    }
    if (all.type != EDN_VECTOR && all.type != EDN_LIST) {
        fprintf(stderr, "datalith: import: '%s' must hold a vector of datoms\n", path);
        goto out;
    }
    ds = calloc(all.n ? all.n : 1, sizeof *ds);
    if (!ds) goto oom;
    size_t nd = 0;
    const edn_sym *tx_instant = edn_intern_full("db/txInstant", 12);
    for (size_t i = 0; i < all.n; i++) {
        const edn_value *d = &all.u.items[i];
        if (d->type == EDN_TAGGED) d = d->u.tagged.val;
        if (!edn_is_seq(d) || d->n != 5 || d->u.items[0].type != EDN_INT ||
            d->u.items[1].type != EDN_KEYWORD || d->u.items[3].type != EDN_INT ||
            d->u.items[4].type != EDN_BOOL) {
            fprintf(stderr, "datalith: import: element %zu of '%s' is not a datom "
                    "[e a v tx added]\n", i + 1, path);
            goto out;
        }
        const edn_value *it = d->u.items;
        /* The transaction entity's own datoms (:db/txInstant, tx metadata)
        ** are written anew by each import transaction. */
        if (it[0].u.i == it[3].u.i || it[1].u.sym == tx_instant) continue;
        ds[nd++] = (imp_datom){&it[0], &it[1], &it[2], it[3].u.i, it[4].u.b, i};
    }
    qsort(ds, nd, sizeof *ds, imp_cmp);
    size_t ntx = 0;
    for (size_t i = 0; i < nd;) {
        size_t j = i;
        tx.len = 0;
        if (dl_buf_putc(&tx, '[')) goto oom;
        for (; j < nd && ds[j].tx == ds[i].tx; j++) {
            if (dl_buf_puts(&tx, ds[j].added ? "[:db/add " : "[:db/retract ") ||
                edn_write(&tx, ds[j].e) || dl_buf_putc(&tx, ' ') || edn_write(&tx, ds[j].a) ||
                dl_buf_putc(&tx, ' ') || edn_write(&tx, ds[j].v) || dl_buf_putc(&tx, ']'))
                goto oom;
        }
        if (dl_buf_putc(&tx, ']')) goto oom;
        char *report;
        size_t rn;
        if (datalith_transact(conn, tx.data, tx.len, DATALITH_FORMAT_EDN, &report, &rn)) {
            fprintf(stderr, "datalith: import: transaction %lld of '%s': %s\n",
                    (long long)ds[i].tx, path, datalith_error_last()->message);
            goto out;
        }
        datalith_free(report);
        ntx++;
        i = j;
    }
    printf("{:datoms %zu :transactions %zu}\n", nd, ntx);
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "datalith: import: out of memory\n");
out:
    dl_buf_free(&tx);
    free(ds);
    dl_arena_free(&arena);
    return rc;
}

/* ----------------------------------------------------------- commands */

/* Print a value result (canonical EDN) in the output format. */
static int print_value(const cli_opts *o, const char *edn, size_t n) {
    if (o->out_fmt == DATALITH_FORMAT_EDN) {
        fwrite(edn, 1, n, stdout);
        fputc('\n', stdout);
        return 0;
    }
    char *s;
    size_t sn;
    if (datalith_value_convert(edn, n, DATALITH_FORMAT_EDN, o->out_fmt, &s, &sn)) {
        fprintf(stderr, "datalith: cannot print the result as %s: %s\n",
                format_name(o->out_fmt), datalith_error_last()->message);
        return EXIT_ENGINE;
    }
    fwrite(s, 1, sn, stdout);
    if (o->out_fmt != DATALITH_FORMAT_CBOR) fputc('\n', stdout);
    datalith_free(s);
    return 0;
}

static int run_command(const cli_opts *o, const cli_op *c, int argc, char **argv) {
    cli_arg args[16];
    char what[160];
    int wi = 0;
    if (c->nargs > 16) return EXIT_USAGE;
    memset(args, 0, sizeof args);
    for (int k = 0; k < c->nargs; k++) {
        const cli_argdef *d = &c->args[k];
        int last = k == c->nargs - 1;
        snprintf(what, sizeof what, "%s: argument %d (%s)", c->name, k + 1, d->name);
        if (wi >= argc) {
            if (d->kind == CLI_K_VALUE && last && !strcmp(d->name, "tx")) {
                size_t len;
                char *text;
                if (o->tx_file) {
                    if (!(text = read_file(o->tx_file, &len))) return EXIT_ENGINE;
                } else if (!(text = read_stream(stdin, &len))) {
                    fprintf(stderr, "datalith: out of memory\n");
                    return EXIT_ENGINE;
                }
                int fmt = o->in_fmt;
                if (o->tx_file && strlen(o->tx_file) > 5 &&
                    !strcmp(o->tx_file + strlen(o->tx_file) - 5, ".json"))
                    fmt = DATALITH_FORMAT_JSON;
                int rc = to_edn(text, len, fmt, o->tx_file ? o->tx_file : "standard input",
                                &args[k].s, &args[k].n);
                free(text);
                if (rc) return rc;
                continue;
            }
            if (d->kind == CLI_K_VALUE && k > 0 && c->args[k - 1].kind == CLI_K_HANDLES_DB) {
                args[k].s = "[]", args[k].n = 2;
                continue;
            }
            fprintf(stderr, "datalith: %s: missing argument %d (%s); see `datalith %s --help`\n",
                    c->name, k + 1, d->name, c->name);
            return EXIT_USAGE;
        }
        const char *word = argv[wi++];
        int rc = 0;
        switch (d->kind) {
        case CLI_K_HANDLE_CONN:
            if (strncmp(word, "conn:", 5) || !word[5]) {
                fprintf(stderr, "datalith: %s: expected conn:CFG, got '%s'\n", what, word);
                return EXIT_USAGE;
            }
            rc = open_conn(word + 5, what, &args[k].conn);
            break;
        case CLI_K_HANDLE_DB:
            rc = db_arg(word, what, &args[k].db);
            break;
        case CLI_K_HANDLES_DB: {
            /* The snapshots the words name (a view's base snapshot is
            ** tracked for release but is not itself an argument). */
            static datalith_db *dbs[MAX_HANDLES];
            size_t nd = 0;
            wi--;
            do {
                if (nd == MAX_HANDLES) {
                    fprintf(stderr, "datalith: %s: too many databases\n", what);
                    return EXIT_USAGE;
                }
                if ((rc = db_arg(argv[wi++], what, &dbs[nd++]))) return rc;
            } while (wi < argc && is_db_word(argv[wi]));
            args[k].dbs = dbs;
            args[k].ndbs = nd;
            break;
        }
        case CLI_K_VALUE:
            if (last && k > 0 && c->args[k - 1].kind == CLI_K_HANDLES_DB) {
                /* The inputs after the databases, gathered into a vector. */
                size_t cap = 2, len = 1;
                for (int j = wi - 1; j < argc; j++) cap += strlen(argv[j]) * 4 + 64;
                char *vec = malloc(cap);
                if (!vec) return EXIT_ENGINE;
                vec[0] = '[';
                for (wi--; wi < argc; wi++) {
                    const char *s;
                    size_t n;
                    snprintf(what, sizeof what, "%s: input %d", c->name, wi + 1);
                    if ((rc = value_arg(o, argv[wi], what, &s, &n))) {
                        free(vec);
                        return rc;
                    }
                    if (len + n + 2 > cap) {
                        char *bigger = realloc(vec, cap = len + n + 64);
                        if (!bigger) {
                            free(vec);
                            return EXIT_ENGINE;
                        }
                        vec = bigger;
                    }
                    if (len > 1) vec[len++] = ' ';
                    memcpy(vec + len, s, n);
                    len += n;
                }
                vec[len++] = ']';
                if (keep(vec)) return EXIT_USAGE;
                args[k].s = vec, args[k].n = len;
                break;
            }
            rc = value_arg(o, word, what, &args[k].s, &args[k].n);
            break;
        case CLI_K_FORMAT:
            if ((args[k].i = parse_format(word, 0)) < 0) {
                fprintf(stderr, "datalith: %s: unknown format '%s' (edn, json, cbor)\n", what,
                        word);
                return EXIT_USAGE;
            }
            break;
        case CLI_K_BOOL:
        case CLI_K_INT: {
            char *end;
            errno = 0;
            if (d->kind == CLI_K_BOOL && (!strcmp(word, "true") || !strcmp(word, "false"))) {
                args[k].i = word[0] == 't';
                break;
            }
            long long v = strtoll(word, &end, 10);
            if (errno || *end || end == word) {
                fprintf(stderr, "datalith: %s: expected %s, got '%s'\n", what,
                        kind_hint(d->kind), word);
                return EXIT_USAGE;
            }
            args[k].i = v;
            break;
        }
        default:
            args[k].s = word, args[k].n = strlen(word);
            break;
        }
        if (rc) return rc;
    }
    if (wi < argc) {
        fprintf(stderr, "datalith: %s: unexpected argument '%s' (it takes %d); see "
                "`datalith %s --help`\n", c->name, argv[wi], c->nargs, c->name);
        return EXIT_USAGE;
    }
    cli_ret r;
    memset(&r, 0, sizeof r);
    if (c->call(args, DATALITH_FORMAT_EDN, &r)) {
        fprintf(stderr, "datalith: %s: %s\n", c->name, datalith_error_last()->message);
        print_hint();
        return EXIT_ENGINE;
    }
    int rc = 0;
    switch (c->ret) {
    case CLI_K_VALUE:
        rc = print_value(o, r.s, r.n);
        datalith_free(r.s);
        break;
    case CLI_K_STRING:
    case CLI_K_BYTES:
        fwrite(r.s, 1, r.n, stdout);
        fputc('\n', stdout);
        datalith_free(r.s);
        break;
    case CLI_K_BOOL:
        puts(r.i ? "true" : "false");
        break;
    case CLI_K_INT:
        printf("%lld\n", (long long)r.i);
        break;
    case CLI_K_CSTRING:
        puts(r.cs ? r.cs : "");
        break;
    default:
        break;
    }
    return rc;
}

int main(int argc, char **argv) {
    cli_opts o = {DATALITH_FORMAT_EDN, DATALITH_FORMAT_EDN, NULL};
    const char *cmd = NULL;
    int help = 0, nrest = 0;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest) return EXIT_ENGINE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cmd && !strcmp(cmd, "convert")) {
            rest[nrest++] = argv[i];
        } else if (!strcmp(a, "-f") || !strcmp(a, "--format") || !strcmp(a, "-if") ||
                   !strcmp(a, "--input-format")) {
            int in = a[1] == 'i' || a[2] == 'i';
            if (i + 1 >= argc) {
                fprintf(stderr, "datalith: option %s needs a format\n", a);
                free(rest);
                return EXIT_USAGE;
            }
            int f = parse_format(argv[++i], !in);
            if (f < 0) {
                fprintf(stderr, "datalith: unknown %s format '%s' (%s)\n", in ? "input" : "output",
                        argv[i], in ? "edn, json, cbor" : "edn, json, pprint, cbor");
                free(rest);
                return EXIT_USAGE;
            }
            if (in) o.in_fmt = f; else o.out_fmt = f;
        } else if (!strcmp(a, "--tx-file")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "datalith: option --tx-file needs a path\n");
                free(rest);
                return EXIT_USAGE;
            }
            o.tx_file = argv[++i];
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            help = 1;
        } else if (!strcmp(a, "--version")) {
            printf("%s\n", datalith_version());
            free(rest);
            return 0;
        } else if (a[0] == '-' && a[1] && !(a[1] >= '0' && a[1] <= '9')) {
            fprintf(stderr, "datalith: unknown option '%s'; see `datalith --help`\n", a);
            free(rest);
            return EXIT_USAGE;
        } else if (!cmd) {
            cmd = a;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    int rc;
    if (!cmd || !strcmp(cmd, "help")) {
        const cli_op *c = cmd && nrest ? find_command(rest[0]) : NULL;
        if (c) command_help(stdout, c); else usage(cmd || help ? stdout : stderr);
        rc = cmd || help ? 0 : EXIT_USAGE;
    } else if (!strcmp(cmd, "convert")) {
        rc = cmd_convert(nrest, rest);
    } else if (!strcmp(cmd, "export") || !strcmp(cmd, "import")) {
        if (help) {
            fputs(cmd[0] == 'e' ? EXPORT_HELP : IMPORT_HELP, stdout);
            rc = 0;
        } else {
            rc = cmd[0] == 'e' ? cmd_export(&o, nrest, rest) : cmd_import(&o, nrest, rest);
        }
    } else {
        const cli_op *c = find_command(cmd);
        if (!c) {
            fprintf(stderr, "datalith: unknown command '%s'; `datalith --help` lists them\n", cmd);
            rc = EXIT_USAGE;
        } else if (help) {
            command_help(stdout, c);
            rc = 0;
        } else {
            rc = run_command(&o, c, nrest, rest);
        }
    }
    release_all();
    free(rest);
    return rc;
}
