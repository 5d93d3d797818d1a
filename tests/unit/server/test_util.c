/* test_util.c: glob matching and long double text (server/util.c). */
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* ---- glob ---- */

static bool
glob(const char *p, const char *s)
{
    return util_glob_match(p, strlen(p), s, strlen(s), false);
}

static bool
glob_nocase(const char *p, const char *s)
{
    return util_glob_match(p, strlen(p), s, strlen(s), true);
}

static void
test_util_glob_literal_and_wildcards(void **state)
{
    (void)state;
    assert_true(glob("hello", "hello"));
    assert_false(glob("hello", "hell"));
    assert_false(glob("hell", "hello"));
    assert_true(glob("h?llo", "hallo"));
    assert_false(glob("h?llo", "hllo"));
    assert_true(glob("h*llo", "hllo"));
    assert_true(glob("h*llo", "heeeello"));
    assert_true(glob("*", "x"));
    assert_true(glob("**", "abc"));
    assert_true(glob("a*", "a"));
    assert_true(glob("a*b*c", "aXbYc"));
    assert_true(glob("a*b*c", "abbbc"));
    assert_false(glob("a*b*c", "abcd"));
    assert_true(glob("*c", "abcabc"));
    assert_false(glob("*d", "abcabc"));
    assert_true(glob("user:*:name", "user:42:name"));
    assert_false(glob("user:*:name", "user:42:age"));
}

static void
test_util_glob_empty(void **state)
{
    (void)state;
    /* An empty subject matches only an empty pattern (as Redis). */
    assert_true(glob("", ""));
    assert_false(glob("*", ""));
    assert_false(glob("?", ""));
    assert_false(glob("", "a"));
}

static void
test_util_glob_classes(void **state)
{
    (void)state;
    assert_true(glob("h[ae]llo", "hello"));
    assert_true(glob("h[ae]llo", "hallo"));
    assert_false(glob("h[ae]llo", "hillo"));
    assert_true(glob("h[^e]llo", "hallo"));
    assert_false(glob("h[^e]llo", "hello"));
    assert_true(glob("h[a-b]llo", "hbllo"));
    assert_false(glob("h[a-b]llo", "hcllo"));
    assert_true(glob("h[b-a]llo", "hallo")); /* reversed range */
    assert_true(glob("[0-9][0-9]", "42"));
    assert_false(glob("[0-9]", "a"));
    assert_false(glob("[]x", "x"));  /* empty class */
    assert_true(glob("[^]", "q"));   /* negated empty class */
    assert_true(glob("[\\]]", "]")); /* escaped ] */
    assert_true(glob("[a\\-z]", "-"));
    assert_false(glob("[a\\-z]", "b"));
    assert_true(glob("[abc", "b")); /* unterminated: runs to the end */
    assert_false(glob("[abc", "d"));
    assert_false(glob("x[", "x"));
}

static void
test_util_glob_escapes(void **state)
{
    (void)state;
    assert_true(glob("a\\*b", "a*b"));
    assert_false(glob("a\\*b", "axb"));
    assert_true(glob("a\\?", "a?"));
    assert_false(glob("a\\?", "ab"));
    assert_true(glob("\\[x]", "[x]"));
    assert_true(glob("a\\", "a\\")); /* trailing backslash is literal */
}

static void
test_util_glob_nocase(void **state)
{
    (void)state;
    assert_true(glob_nocase("HeLLo", "hello"));
    assert_false(glob("HeLLo", "hello"));
    assert_true(glob_nocase("h[A-C]*", "Hbx"));
    assert_true(glob_nocase("[^A]", "b"));
    assert_false(glob_nocase("[^A]", "a"));
}

static void
test_util_glob_binary(void **state)
{
    const char s[] = {'a', '\0', 'b'};
    const char p[] = {'a', '\0', '*'};

    (void)state;
    assert_true(util_glob_match(p, sizeof(p), s, sizeof(s), false));
    assert_true(util_glob_match("a?b", 3, s, sizeof(s), false));
    assert_false(util_glob_match("ab", 2, s, sizeof(s), false));
}

/* Many stars against a long near-miss must stay polynomial. */
static void
test_util_glob_no_blowup(void **state)
{
    char pat[64], *str;
    size_t slen = 100000;
    clock_t t0;

    (void)state;
    for (size_t i = 0; i < 30; i++) {
        pat[2 * i] = 'a';
        pat[2 * i + 1] = '*';
    }
    pat[60] = 'b';
    str = malloc(slen);
    assert_non_null(str);
    memset(str, 'a', slen);
    t0 = clock();
    assert_false(util_glob_match(pat, 61, str, slen, false));
    str[slen - 1] = 'b';
    assert_true(util_glob_match(pat, 61, str, slen, false));
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 2.0);
    free(str);
}

/* ---- long double text ---- */

static void
assert_ld2str(long double v, const char *want)
{
    char buf[UTIL_LD_MAX];
    size_t n = util_ld2str(buf, sizeof(buf), v);

    assert_int_equal(n, strlen(want));
    assert_string_equal(buf, want);
}

static void
test_util_ld2str_format(void **state)
{
    (void)state;
    assert_ld2str(10.5L + 0.1L, "10.6");
    assert_ld2str(5.0e3L + 200, "5200");
    assert_ld2str(0, "0");
    assert_ld2str(-0.0L, "0");
    assert_ld2str(-1.5L, "-1.5");
    assert_ld2str(3.0L, "3");
    assert_ld2str(1e20L, "100000000000000000000");
    assert_ld2str(0.000001L, "0.000001");
}

static void
test_util_ld2str_limits(void **state)
{
    char buf[UTIL_LD_MAX], small[4];

    (void)state;
    assert_int_equal(util_ld2str(buf, sizeof(buf), INFINITY), 0);
    assert_int_equal(util_ld2str(buf, sizeof(buf), NAN), 0);
    assert_int_equal(util_ld2str(small, sizeof(small), 12345.0L), 0);
    /* the largest long double still fits UTIL_LD_MAX */
    assert_true(util_ld2str(buf, sizeof(buf), 1.0e4900L) > 4900);
}

static bool
str2ld(const char *s, long double *v)
{
    return util_str2ld(s, strlen(s), v);
}

static void
test_util_str2ld_accepts(void **state)
{
    long double v;

    (void)state;
    assert_true(str2ld("1.5", &v));
    assert_true(v == 1.5L);
    assert_true(str2ld("-3", &v));
    assert_true(v == -3.0L);
    assert_true(str2ld("5.0e3", &v));
    assert_true(v == 5000.0L);
    assert_true(str2ld("0x10", &v));
    assert_true(v == 16.0L);
    assert_true(str2ld("1e400", &v)); /* beyond double, fine as long double */
    assert_true(str2ld("inf", &v));   /* then INCRBYFLOAT refuses the sum */
    assert_true(isinf(v));
}

static void
test_util_str2ld_rejects(void **state)
{
    long double v;

    (void)state;
    assert_false(str2ld("", &v));
    assert_false(str2ld(" 1", &v));
    assert_false(str2ld("1 ", &v));
    assert_false(str2ld("1x", &v));
    assert_false(str2ld("abc", &v));
    assert_false(str2ld("nan", &v));
    assert_false(str2ld("1e99999", &v));  /* overflow */
    assert_false(str2ld("1e-99999", &v)); /* underflow to zero */
    assert_false(util_str2ld("1\0", 2, &v));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_util_glob_literal_and_wildcards),
        cmocka_unit_test(test_util_glob_empty),
        cmocka_unit_test(test_util_glob_classes),
        cmocka_unit_test(test_util_glob_escapes),
        cmocka_unit_test(test_util_glob_nocase),
        cmocka_unit_test(test_util_glob_binary),
        cmocka_unit_test(test_util_glob_no_blowup),
        cmocka_unit_test(test_util_ld2str_format),
        cmocka_unit_test(test_util_ld2str_limits),
        cmocka_unit_test(test_util_str2ld_accepts),
        cmocka_unit_test(test_util_str2ld_rejects),
    };

    return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
