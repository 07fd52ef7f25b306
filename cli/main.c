/*
** main.c — the `datalith` command line.
**
**   datalith version
**   datalith convert [--from edn|json|cbor] [--to edn|json|cbor] [FILE]
**
** Reads FILE (or standard input), prints the result to standard output.
** Exit status: 0 ok, 1 the input was rejected (message on stderr), 2 usage.
** Database commands arrive with the database issue; their table will be
** generated from spec/api.edn.
*/
#include "datalith.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fputs("usage: datalith <command> [options]\n"
          "\n"
          "commands:\n"
          "  version                         print the library version\n"
          "  convert [--from F] [--to F] [FILE]\n"
          "                                  read a value (default EDN) and print it\n"
          "                                  (default canonical EDN); F is edn, json or cbor\n"
          "  help                            this text\n",
          f);
}

static int parse_format(const char *s) {
    if (!strcmp(s, "edn")) return DATALITH_FORMAT_EDN;
    if (!strcmp(s, "json")) return DATALITH_FORMAT_JSON;
    if (!strcmp(s, "cbor")) return DATALITH_FORMAT_CBOR;
    return -1;
}

static char *read_all(FILE *f, size_t *len) {
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    for (;;) {
        if (n == cap) {
            char *p = realloc(buf, cap *= 2);
            if (!p) { free(buf); return NULL; }
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    *len = n;
    return buf;
}

static int cmd_convert(int argc, char **argv) {
    int from = DATALITH_FORMAT_EDN, to = DATALITH_FORMAT_EDN;
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        if ((!strcmp(argv[i], "--from") || !strcmp(argv[i], "--to")) && i + 1 < argc) {
            int f = parse_format(argv[i + 1]);
            if (f < 0) {
                fprintf(stderr, "datalith: unknown format '%s' (edn, json, cbor)\n", argv[i + 1]);
                return 2;
            }
            if (argv[i][2] == 'f') from = f; else to = f;
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "datalith: unknown option '%s'\n", argv[i]);
            return 2;
        } else {
            path = argv[i];
        }
    }
    FILE *f = stdin;
    if (path && strcmp(path, "-")) {
        f = fopen(path, "rb");
        if (!f) {
            fprintf(stderr, "datalith: cannot open '%s'\n", path);
            return 1;
        }
    }
    size_t len;
    char *in = read_all(f, &len);
    if (f != stdin) fclose(f);
    if (!in) {
        fprintf(stderr, "datalith: out of memory\n");
        return 1;
    }
    char *out = NULL;
    size_t out_len = 0;
    int rc = datalith_value_convert(in, len, from, to, &out, &out_len);
    free(in);
    if (rc) {
        fprintf(stderr, "datalith: %s\n", datalith_error_last()->message);
        return 1;
    }
    fwrite(out, 1, out_len, stdout);
    if (to != DATALITH_FORMAT_CBOR) fputc('\n', stdout);
    datalith_free(out);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("%s\n", datalith_version());
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "convert")) return cmd_convert(argc - 2, argv + 2);
    fprintf(stderr, "datalith: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
