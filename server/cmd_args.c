/* cmd_args.c: the argument helpers of cmd.h, shared by every handler. */
#include "cmd.h"
#include "util.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>

bool
cmd_arg_is(const struct resp_str *a, const char *word)
{
    size_t n = strlen(word);

    if (a->len != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (tolower((unsigned char)a->p[i]) != (unsigned char)word[i]) {
            return false;
        }
    }
    return true;
}

bool
cmd_arg_ll(const struct resp_str *a, long long *out)
{
    return resp_str2ll(a->p, a->len, out);
}

bool
cmd_arg_ld(const struct resp_str *a, long double *out)
{
    return util_str2ld(a->p, a->len, out);
}

bool
cmd_expiry_ms(long long v, bool secs, bool relative, oh_time now,
              long long *out)
{
    if (secs && (v > LLONG_MAX / 1000 || v < LLONG_MIN / 1000)) {
        return false;
    }
    v = secs ? v * 1000 : v;
    if (relative && ((now > 0 && v > LLONG_MAX - now) ||
                     (now < 0 && v < LLONG_MIN - now))) {
        return false;
    }
    *out = relative ? v + now : v;
    return true;
}
