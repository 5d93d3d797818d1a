/*
 * util.c -- glob matching and long double text conversion.
 *
 * Glob matching. A pattern is a sequence of elements: '*' (any run of
 * characters) and elements that each match exactly one character: '?',
 * '\x' (the literal x), a bracket class '[...]' and any other literal byte.
 * Because every element other than '*' consumes exactly one character and
 * its extent in the pattern does not depend on the subject, the classic
 * greedy algorithm is exact: run forward, and on a mismatch go back to the
 * most recent '*' and let it absorb one more character. An earlier '*'
 * never needs revisiting (a later '*' can absorb whatever a longer earlier
 * match would have shifted), so the cost is O(plen * slen) with no
 * recursion, whatever the number of stars.
 *
 * Edge rules kept from Redis so KEYS/SCAN answer alike:
 * - an empty subject matches only an empty pattern (Redis's KEYS and SCAN
 *   skip matching altogether for the pattern "*");
 * - in a class, "a-z" is a range (reversed ends are swapped), "\x" is a
 *   literal x compared case-sensitively, the class ends at the first ']'
 *   that is not the range end or escaped ("[]" is empty and "[^]" matches
 *   any character), and an unterminated class runs to the pattern's end;
 * - a '\' as the pattern's last byte is a literal backslash.
 * Bytes are compared as unsigned char (Redis compares plain char, whose
 * sign depends on the platform; only ranges with bytes >= 0x80 differ).
 *
 * Long doubles. INCRBYFLOAT keeps its value as text. It is printed with
 * "%.17Lf" and trailing zeros removed, so results never use an exponent
 * (10.5 + 0.1 -> "10.6"; 5.0e3 + 200 -> "5200"), and parsed with strtold(),
 * which also takes exponents, hex floats and "inf" (the sum then fails
 * INCRBYFLOAT's NaN/Infinity check, as in Redis).
 */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- glob matching ---- */

static inline unsigned char
fold(unsigned char ch, bool nocase)
{
    return nocase ? (unsigned char)tolower(ch) : ch;
}

/* Matches ch against the class body p[0..plen) (just after '['). Sets
 * *used to the bytes of the body, including the closing ']' if any. */
static bool
class_match(const char *p, size_t plen, unsigned char ch, bool nocase,
            size_t *used)
{
    size_t i = 0;
    bool negate = plen > 0 && p[0] == '^';
    bool hit = false;

    i = negate ? 1 : 0;
    while (i < plen && p[i] != ']') {
        if (p[i] == '\\' && plen - i >= 2) {
            hit |= (unsigned char)p[i + 1] == ch;
            i += 2;
        } else if (plen - i >= 3 && p[i + 1] == '-') {
            unsigned char lo = fold((unsigned char)p[i], nocase);
            unsigned char hi = fold((unsigned char)p[i + 2], nocase);
            unsigned char c = fold(ch, nocase);
            if (lo > hi) {
                unsigned char t = lo;
                lo = hi;
                hi = t;
            }
            hit |= c >= lo && c <= hi;
            i += 3;
        } else {
            hit |= fold((unsigned char)p[i], nocase) == fold(ch, nocase);
            i++;
        }
    }
    *used = i < plen ? i + 1 : plen;
    return negate ? !hit : hit;
}

/* Matches ch against the one-character element at p[0..plen), plen > 0,
 * p[0] != '*'. Sets *used to the element's length in the pattern. */
static bool
element_match(const char *p, size_t plen, unsigned char ch, bool nocase,
              size_t *used)
{
    size_t body;
    bool hit;

    switch (p[0]) {
    case '?':
        *used = 1;
        return true;
    case '[':
        hit = class_match(p + 1, plen - 1, ch, nocase, &body);
        *used = 1 + body;
        return hit;
    case '\\':
        if (plen >= 2) {
            *used = 2;
            return fold((unsigned char)p[1], nocase) == fold(ch, nocase);
        }
        break;
    default:
        break;
    }
    *used = 1;
    return fold((unsigned char)p[0], nocase) == fold(ch, nocase);
}

bool
util_glob_match(const char *p, size_t plen, const char *s, size_t slen,
                bool nocase)
{
    size_t pi = 0, si = 0, used = 0;
    size_t star_p = 0, star_s = 0; /* resume points after the last '*' */
    bool have_star = false;

    if (slen == 0) {
        return plen == 0;
    }
    while (si < slen) {
        if (pi < plen && p[pi] == '*') {
            while (pi < plen && p[pi] == '*') {
                pi++;
            }
            have_star = true;
            star_p = pi;
            star_s = si;
        } else if (pi < plen &&
                   element_match(p + pi, plen - pi, (unsigned char)s[si],
                                 nocase, &used)) {
            pi += used;
            si++;
        } else if (have_star) {
            pi = star_p;
            si = ++star_s;
        } else {
            return false;
        }
    }
    while (pi < plen && p[pi] == '*') {
        pi++;
    }
    return pi == plen;
}

/* ---- long double text ---- */

size_t
util_ld2str(char *dst, size_t cap, long double v)
{
    int n;
    size_t len;

    if (!isfinite(v) || cap == 0) {
        return 0;
    }
    n = snprintf(dst, cap, "%.17Lf", v);
    if (n < 0 || (size_t)n >= cap) {
        return 0;
    }
    len = (size_t)n;
    if (memchr(dst, '.', len) != NULL) {
        while (dst[len - 1] == '0') {
            len--;
        }
        if (dst[len - 1] == '.') {
            len--;
        }
    }
    if (len == 2 && dst[0] == '-' && dst[1] == '0') {
        dst[0] = '0';
        len = 1;
    }
    dst[len] = '\0';
    return len;
}

bool
util_str2ld(const char *s, size_t len, long double *out)
{
    char buf[UTIL_LD_MAX];
    char *end = NULL;
    long double v;

    if (len == 0 || len >= sizeof(buf) || isspace((unsigned char)s[0])) {
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    v = strtold(buf, &end);
    if (end != buf + len || isnan(v) || errno == EINVAL) {
        return false;
    }
    /* Out of range: overflow (±HUGE_VALL) or underflow to zero. */
    if (errno == ERANGE && (isinf(v) || v == 0)) {
        return false;
    }
    *out = v;
    return true;
}
