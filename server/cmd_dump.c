/*
 * cmd_dump.c -- DUMP and RESTORE: a key's value as Redis's serialized
 * payload (the codec is rdbstr.c), so keys move between redis-server and
 * offheapd with DUMP/RESTORE-based tools, both ways.
 *
 * DUMP reads through a PINNED item, builds the payload in a temporary
 * buffer and answers it as a bulk string (nil if the key is absent).
 *
 * RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f] checks,
 * in Redis 7's order (so the errors match): the options (syntax error,
 * IDLETIME/FREQ range), then BUSYKEY, then the TTL, then the payload
 * (version/CRC, then body). ttl 0 means no expiry; otherwise it is
 * relative ms, or with ABSTTL a Unix time in ms. A time already past
 * creates nothing and answers OK; with REPLACE it removes the old key, as
 * Redis does.
 *
 * IDLETIME and FREQ are validated as Redis does and then ignored:
 * offheapd keeps no per-key idle clock or LFU counter (eviction works on
 * generations), so there is nothing to set.
 *
 * offheapd sends no keyspace notifications (no other write command does),
 * so RESTORE only signals WATCH through cmd_key_modified().
 */
#include "cmd.h"
#include "config.h"
#include "engine/engine.h"
#include "rdbstr.h"
#include "reply.h"

#define BUSYKEY_ERR "BUSYKEY Target key name already exists."

#define RESTORE_FREQ_MAX 255 /* LFU counter ceiling (Redis's) */

/* ---- DUMP ---- */

/* The value bytes go out from the engine as GET's do (no copy): only the
 * head (type, length) and the footer (version, CRC-64) are built here. */
void
cmd_dump(struct conn *c, const struct cmd_req *r)
{
    struct engine_item it;
    char head[RDBSTR_HEAD_MAX], foot[RDBSTR_FOOTER_BYTES];
    bool with_value;

    if (!engine_get(r->argv[1].p, r->argv[1].len, r->now, &it)) {
        reply_null(c);
        return;
    }
    size_t hn = rdbstr_dump_head(it.val, it.vlen, head, &with_value);
    uint64_t crc = rdbstr_crc64(0, head, hn);
    if (with_value) {
        crc = rdbstr_crc64(crc, it.val, it.vlen);
    } else {
        engine_release(&it);
    }
    rdbstr_dump_foot(crc, foot);
    reply_bulk_framed(c, head, hn, with_value ? &it : NULL, foot, sizeof(foot));
}

/* ---- RESTORE ---- */

struct restore_opts {
    bool replace, absttl;
    long long idle, freq; /* -1: not given; validated, then ignored */
};

/* Parses the value of IDLETIME (min 0) or FREQ (0..255); answers if bad. */
static bool
parse_lru_arg(struct conn *c, const struct resp_str *a, bool freq,
              long long *out)
{
    if (!cmd_arg_ll(a, out)) {
        reply_error_notint(c);
        return false;
    }
    if (freq && (*out < 0 || *out > RESTORE_FREQ_MAX)) {
        reply_error(c, "ERR Invalid FREQ value, must be >= 0 and <= 255");
        return false;
    }
    if (!freq && *out < 0) {
        reply_error(c, "ERR Invalid IDLETIME value, must be >= 0");
        return false;
    }
    return true;
}

/* Parses the options from argv[4]; answers if bad. IDLETIME and FREQ
 * exclude each other (a syntax error, as in Redis). */
static bool
parse_restore_opts(struct conn *c, const struct cmd_req *r,
                   struct restore_opts *o)
{
    *o = (struct restore_opts){false, false, -1, -1};
    for (int j = 4; j < r->argc; j++) {
        const struct resp_str *a = &r->argv[j];
        bool more = j + 1 < r->argc;
        if (cmd_arg_is(a, "replace")) {
            o->replace = true;
        } else if (cmd_arg_is(a, "absttl")) {
            o->absttl = true;
        } else if (cmd_arg_is(a, "idletime") && more && o->freq == -1) {
            if (!parse_lru_arg(c, &r->argv[++j], false, &o->idle)) {
                return false;
            }
        } else if (cmd_arg_is(a, "freq") && more && o->idle == -1) {
            if (!parse_lru_arg(c, &r->argv[++j], true, &o->freq)) {
                return false;
            }
        } else {
            reply_error_syntax(c);
            return false;
        }
    }
    return true;
}

/* Converts the TTL argument to an absolute expiry (OH_TIME_NONE for 0);
 * answers if bad. The result may be at or before now. */
static bool
restore_expire_at(struct conn *c, const struct cmd_req *r,
                  const struct restore_opts *o, oh_time *out)
{
    long long ttl;

    if (!cmd_arg_ll(&r->argv[2], &ttl)) {
        reply_error_notint(c);
        return false;
    }
    if (ttl < 0) {
        reply_error(c, "ERR Invalid TTL value, must be >= 0");
        return false;
    }
    if (ttl != 0 && !cmd_expiry_ms(ttl, false, !o->absttl, r->now, &ttl)) {
        reply_error(c, "ERR invalid expire time in 'restore' command");
        return false;
    }
    *out = ttl == 0 ? OH_TIME_NONE : (oh_time)ttl;
    return true;
}

/* Decodes the payload argv[3]; answers with Redis's error if bad. */
static bool
restore_decode(struct conn *c, const struct cmd_req *r, struct rdbstr_value *v)
{
    int rc =
        rdbstr_load(r->argv[3].p, r->argv[3].len, cfg.proto_max_bulk_len, v);

    switch (rc) {
    case RDBSTR_OK:
        return true;
    case RDBSTR_EVERIFY:
        reply_error(c, "ERR DUMP payload version or checksum are wrong");
        break;
    case RDBSTR_ETOOBIG:
        reply_error(c, "ERR string exceeds maximum allowed size "
                       "(proto-max-bulk-len)");
        break;
    case RDBSTR_ENOMEM:
        reply_error_oom(c);
        break;
    default:
        reply_error(c, "ERR Bad data format");
    }
    return false;
}

/* Stores the decoded value; answers OK, BUSYKEY or the engine's error. */
static void
restore_store(struct conn *c, const struct resp_str *key,
              const struct rdbstr_value *v, oh_time at, bool replace,
              oh_time now)
{
    int rc;

    if (at != OH_TIME_NONE && at <= now) {
        /* already expired: nothing to create; REPLACE still removes */
        if (replace && engine_del(key->p, key->len, now) > 0) {
            cmd_key_modified(key->p, key->len);
        }
        reply_ok(c);
        return;
    }
    rc = engine_set(key->p, key->len, v->p, v->len, at,
                    replace ? 0 : ENGINE_SET_NX, now);
    if (rc < 0) {
        reply_engine_error(c, rc);
    } else if (rc == 0) {
        reply_error(c, BUSYKEY_ERR);
    } else {
        cmd_key_modified(key->p, key->len);
        reply_ok(c);
    }
}

void
cmd_restore(struct conn *c, const struct cmd_req *r)
{
    const struct resp_str *key = &r->argv[1];
    struct restore_opts o;
    struct rdbstr_value v;
    struct engine_item it;
    oh_time at;

    if (!parse_restore_opts(c, r, &o)) {
        return;
    }
    if (!o.replace && engine_peek(key->p, key->len, r->now, &it)) {
        engine_release(&it);
        reply_error(c, BUSYKEY_ERR);
        return;
    }
    if (!restore_expire_at(c, r, &o, &at) || !restore_decode(c, r, &v)) {
        return;
    }
    restore_store(c, key, &v, at, o.replace, r->now);
    rdbstr_value_deinit(&v);
}
