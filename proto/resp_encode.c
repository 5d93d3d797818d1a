/*
 * resp_encode.c -- the text of RESP headers and numbers.
 *
 * Problem: every reply carries headers ("*3\r\n", "$5\r\n", ":42\r\n") and
 * some carry doubles; these run once per reply element, so they must not
 * go through printf for integers, and doubles must print exactly as Redis
 * prints them: the shortest text that reads back as the same value.
 *
 * Layout: each function writes into a caller's fixed-size buffer and
 * returns the length written, NUL-terminated:
 *
 *   resp_fmt_header(dst, '$', 5)   dst: '$' '5' '\r' '\n' '\0'   -> 4
 *   resp_fmt_ll(dst, LLONG_MIN)    "-9223372036854775808"        -> 20
 *   resp_fmt_double(dst, 0.1)      "0.1" (not "0.10000000000000001")
 *
 * Invariants: output never exceeds the sizes the header states (a long
 * long is at most 20 characters; %.17g of a double at most 24); the
 * integer path never negates a negative long long (LLONG_MIN has no
 * positive twin), it works on the unsigned magnitude.
 *
 * A double is printed with the fewest significant digits that read back
 * as the same value, in the notation %.17g would choose (exponent form
 * only below 1e-4 or from 1e17): 3 -> "3", 100 -> "100", 0.1 -> "0.1",
 * 1e300 -> "1e+300", 1e-5 -> "1e-05".
 *
 * Cost: integers are one division per digit. A double tries 1 to 17
 * digits with snprintf("%.*e") and strtod until one reads back equal: up
 * to 17 of each plus one snprintf, microseconds, acceptable as doubles are
 * rare in replies.
 *
 * Rejected: "%.17g" alone (prints 0.1 as 0.10000000000000001, unlike
 * Redis); a shortest-digits algorithm such as Ryu or Grisu (hundreds of
 * lines and tables for a rare reply type); snprintf for integers (slower
 * and locale-aware for no gain).
 */

#include "resp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOUBLE_MAX_DIGITS 17 /* significant digits that always round-trip */
#define DOUBLE_TEXT_MAX   32 /* bytes of dst, as resp.h requires */

size_t
resp_fmt_ll(char *dst, long long v)
{
    char digits[20];
    size_t n = 0, len = 0;
    unsigned long long u = (unsigned long long)v;

    if (v < 0) {
        u = 0 - u;
        dst[len++] = '-';
    }
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    while (n > 0) {
        dst[len++] = digits[--n];
    }
    dst[len] = '\0';
    return len;
}

size_t
resp_fmt_header(char *dst, char type, long long n)
{
    size_t len = 1;

    dst[0] = type;
    len += resp_fmt_ll(dst + 1, n);
    dst[len++] = '\r';
    dst[len++] = '\n';
    dst[len] = '\0';
    return len;
}

/* Copies the NUL-terminated s into dst; returns its length. */
static size_t
put(char *dst, const char *s)
{
    size_t len = strlen(s);

    memcpy(dst, s, len + 1);
    return len;
}

/* Returns the fewest significant digits (1 to DOUBLE_MAX_DIGITS) that read
 * back as v, and in *exp10 the decimal exponent of v so rounded. tmp holds
 * DOUBLE_TEXT_MAX bytes. */
static int
shortest_digits(char *tmp, double v, int *exp10)
{
    int digits = 1;

    for (;; digits++) {
        snprintf(tmp, DOUBLE_TEXT_MAX, "%.*e", digits - 1, v);
        if (digits == DOUBLE_MAX_DIGITS || strtod(tmp, NULL) == v) {
            break;
        }
    }
    *exp10 = atoi(strchr(tmp, 'e') + 1);
    return digits;
}

size_t
resp_fmt_double(char *dst, double v)
{
    int digits, exp10;

    if (isnan(v)) {
        return put(dst, "nan");
    }
    if (isinf(v)) {
        return put(dst, v > 0 ? "inf" : "-inf");
    }
    digits = shortest_digits(dst, v, &exp10);
    /* Where %.17g would print fixed notation, print enough digits for %g
     * to do so too: 100 is "100", not "1e+02". Those extra digits are
     * zeros of an integral value, so the text stays exact. */
    if (exp10 >= -4 && exp10 < DOUBLE_MAX_DIGITS && digits <= exp10) {
        digits = exp10 + 1;
    }
    return (size_t)snprintf(dst, DOUBLE_TEXT_MAX, "%.*g", digits, v);
}
