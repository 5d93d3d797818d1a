/* cmd_args.c: the argument helpers of cmd.h, shared by every handler. */
#include "cmd.h"
#include "util.h"

#include <ctype.h>
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
