/* cmd_monitor.c: MONITOR. Every admitted request is written, as a status
 * line with the time, the client's address and the quoted arguments, to
 * each client that asked for it. AUTH and HELLO are never shown (they may
 * carry a password). Costs one branch per request while nobody monitors. */
#include "cmd.h"

#include "conn.h"
#include "reply.h"

#include <stdio.h>
#include <string.h>

#define MONITOR_LINE_MAX 4096 /* bytes of one line; longer args are cut */

static size_t monitors;

void
cmd_monitor(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    if (!c->monitor) {
        c->monitor = true;
        monitors++;
    }
    reply_ok(c);
}

void
cmd_monitor_forget(struct conn *c)
{
    if (c->monitor) {
        c->monitor = false;
        monitors--;
    }
}

/* Appends s[0..len) quoted, escaping what is not printable. Returns the
 * new length of line (never beyond cap - 1). */
static size_t
append_quoted(char *line, size_t used, size_t cap, const char *s, size_t len)
{
    static const char esc_from[] = "\\\"\n\r\t\a\b";
    static const char esc_to[] = "\\\"nrtab";
    char buf[8];
    line[used++] = '"';
    for (size_t i = 0; i < len && used + 8 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        const char *e = ch != 0 ? strchr(esc_from, ch) : NULL;
        if (e != NULL) {
            snprintf(buf, sizeof(buf), "\\%c", esc_to[e - esc_from]);
        } else if (ch < 0x20 || ch >= 0x7f) {
            snprintf(buf, sizeof(buf), "\\x%02x", ch);
        } else {
            buf[0] = (char)ch;
            buf[1] = '\0';
        }
        size_t n = strlen(buf);
        memcpy(line + used, buf, n);
        used += n;
    }
    line[used++] = '"';
    return used;
}

static bool
is_secret(const struct cmd_req *r)
{
    return cmd_arg_is(&r->argv[0], "auth") || cmd_arg_is(&r->argv[0], "hello");
}

void
cmd_monitor_feed(const struct conn *from, const struct cmd_req *r)
{
    if (monitors == 0 || is_secret(r)) {
        return;
    }
    char line[MONITOR_LINE_MAX];
    int n = snprintf(line, sizeof(line), "+%lld.%06lld [0 %s]",
                     (long long)(r->now / 1000),
                     (long long)(r->now % 1000) * 1000, from->addr);
    size_t used = n > 0 ? (size_t)n : 0;
    for (int i = 0; i < r->argc && used + 16 < sizeof(line); i++) {
        line[used++] = ' ';
        used = append_quoted(line, used, sizeof(line) - 2, r->argv[i].p,
                             r->argv[i].len);
    }
    memcpy(line + used, "\r\n", 2);
    used += 2;
    for (struct conn *m = conn_first(); m != NULL; m = m->next) {
        if (m->monitor && m != from) {
            conn_out_append(m, line, used);
            conn_out_push(m);
        }
    }
}
