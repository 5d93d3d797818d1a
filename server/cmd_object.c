/*
 * cmd_object.c -- OBJECT ENCODING | REFCOUNT | HELP, answering as Redis 7.0
 * does for string values.
 *
 * offheapd stores every value as bytes; the encoding Redis would report is
 * derived from the bytes as Redis's tryObjectEncoding() chooses it for a
 * freshly SET value: "int" for a canonical 64-bit integer of at most 20
 * characters, "embstr" up to 44 bytes, "raw" beyond. (Redis reports "raw"
 * for a short value changed in place by APPEND/SETRANGE/SETBIT; offheapd
 * keeps no such history.) Values are never shared, so REFCOUNT is 1.
 * IDLETIME and FREQ need access times the engine does not expose: they are
 * not offered (unknown subcommand).
 */
#include "cmd.h"
#include "engine/engine.h"
#include "reply.h"

#include <stdio.h>
#include <string.h>

/* Declared in cmd.h's handler list too; repeated here so this file builds
 * before the table row is added. */

#define ENC_INT_MAX_LEN    20 /* longest value Redis tries as an integer */
#define ENC_EMBSTR_MAX_LEN 44 /* OBJ_ENCODING_EMBSTR_SIZE_LIMIT */

/* The encoding Redis gives a string value freshly stored by SET. */
static const char *
string_encoding(const char *v, size_t len)
{
    long long ll;
    char buf[32];

    if (len <= ENC_INT_MAX_LEN && resp_str2ll(v, len, &ll)) {
        /* only the canonical form ("12", not "012" or "+12") */
        int n = snprintf(buf, sizeof(buf), "%lld", ll);
        if (n > 0 && (size_t)n == len && memcmp(buf, v, len) == 0) {
            return "int";
        }
    }
    return len <= ENC_EMBSTR_MAX_LEN ? "embstr" : "raw";
}

static void
object_encoding(struct conn *c, const struct cmd_req *r)
{
    struct engine_item it;

    if (!engine_peek(r->argv[2].p, r->argv[2].len, r->now, &it)) {
        reply_null(c);
        return;
    }
    const char *enc = string_encoding(it.val, it.vlen);
    engine_release(&it);
    reply_bulk_cstr(c, enc);
}

static void
object_refcount(struct conn *c, const struct cmd_req *r)
{
    struct engine_item it;

    if (!engine_peek(r->argv[2].p, r->argv[2].len, r->now, &it)) {
        reply_null(c);
        return;
    }
    engine_release(&it);
    reply_int(c, 1);
}

static void
object_help(struct conn *c, const struct cmd_req *r)
{
    static const char *const lines[] = {
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to "
        "store the value",
        "    associated with a <key>.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with "
        "the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    };
    (void)r;
    reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

static const struct cmd_sub object_subs[] = {{"encoding", 3, object_encoding},
                                             {"refcount", 3, object_refcount},
                                             {"help", 2, object_help},
                                             {NULL, 0, NULL}};

void
cmd_object(struct conn *c, const struct cmd_req *r)
{
    cmd_sub_dispatch(c, r, "object", object_subs);
}
