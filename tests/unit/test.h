/*
** test.h — the tiny test harness every C test uses.
**
**   TEST(name) { CHECK(x == 1); CHECK_EQ_INT(a, b); CHECK_STR(s, "x"); }
**   int main(void) { RUN(name); ...; return test_summary(); }
**
** A failed CHECK prints file:line and the expression and marks the current
** test failed (the test keeps running).  test_summary() prints
** "N passed, N failed" and returns non-zero if anything failed.
*/
#ifndef DL_TEST_H
#define DL_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_passed, test_failed, test_cur_failed, test_checks;
static const char *test_cur_name;

#define TEST(name) static void name(void)

#define RUN(name)                                                            \
    do {                                                                     \
        test_cur_name = #name;                                               \
        test_cur_failed = 0;                                                 \
        name();                                                              \
        if (test_cur_failed) {                                               \
            test_failed++;                                                   \
            fprintf(stderr, "FAIL %s\n", #name);                             \
        } else {                                                             \
            test_passed++;                                                   \
        }                                                                    \
    } while (0)

#define CHECK(cond)                                                          \
    do {                                                                     \
        test_checks++;                                                       \
        if (!(cond)) {                                                       \
            test_cur_failed = 1;                                             \
            fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__,       \
                    __LINE__, test_cur_name, #cond);                         \
        }                                                                    \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                   \
    do {                                                                     \
        long long va_ = (long long)(a), vb_ = (long long)(b);                \
        test_checks++;                                                       \
        if (va_ != vb_) {                                                    \
            test_cur_failed = 1;                                             \
            fprintf(stderr, "%s:%d: %s: %s == %s failed: %lld != %lld\n",    \
                    __FILE__, __LINE__, test_cur_name, #a, #b, va_, vb_);    \
        }                                                                    \
    } while (0)

#define CHECK_STR(a, b)                                                      \
    do {                                                                     \
        const char *sa_ = (a), *sb_ = (b);                                   \
        test_checks++;                                                       \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                         \
            test_cur_failed = 1;                                             \
            fprintf(stderr, "%s:%d: %s: %s == %s failed:\n  got:      %s\n"  \
                    "  expected: %s\n", __FILE__, __LINE__, test_cur_name,   \
                    #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");     \
        }                                                                    \
    } while (0)

/* Substring check, for error messages. */
#define CHECK_CONTAINS(hay, needle)                                          \
    do {                                                                     \
        const char *h_ = (hay), *n_ = (needle);                              \
        test_checks++;                                                       \
        if (!h_ || !strstr(h_, n_)) {                                        \
            test_cur_failed = 1;                                             \
            fprintf(stderr, "%s:%d: %s: expected \"%s\" to contain \"%s\"\n",\
                    __FILE__, __LINE__, test_cur_name, h_ ? h_ : "(null)",   \
                    n_);                                                     \
        }                                                                    \
    } while (0)

static inline int test_summary(void) {
    printf("%d checks\n%d passed, %d failed\n", test_checks, test_passed,
           test_failed);
    return test_failed ? 1 : 0;
}

/* A scratch directory for tests that touch the file system: $DL_TEST_TMP
** or /tmp, plus a unique suffix.  Returns a static buffer. */
static inline const char *test_tmpdir(const char *tag) {
    static char path[512];
    const char *base = getenv("DL_TEST_TMP");
    char cmd[700];
    if (!base || !*base) base = "/tmp";
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", base);
    if (system(cmd) != 0) return NULL;
    snprintf(path, sizeof path, "%s/%s-%ld-XXXXXX", base, tag, (long)rand());
    return path;
}

#endif
