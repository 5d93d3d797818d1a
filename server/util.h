/* util.h: small string helpers shared by the server's modules. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Matches string s[0..slen) against the glob pattern p[0..plen) with
 * Redis's rules: * ? [abc] [^a-z] and \ escapes. nocase folds ASCII case.
 * Bounded: patterns with many stars cannot make it exponential. */
bool util_glob_match(const char *p, size_t plen, const char *s, size_t slen,
                     bool nocase);
/* Writes a long double as INCRBYFLOAT replies it (%.17Lf, no exponent,
 * trailing zeros removed) into dst of `cap` bytes (UTIL_LD_MAX always
 * suffices). Returns the length, or 0 if it does not fit. */
#define UTIL_LD_MAX 5120
size_t util_ld2str(char *dst, size_t cap, long double v);
/* Parses s[0..len) as a long double (no spaces, not NaN; inf allowed). */
bool util_str2ld(const char *s, size_t len, long double *out);
