/* cmd_monitor.c: MONITOR. Every executed request (queued ones when EXEC
 * runs them) is written, as a status line with the time, the client's
 * address and the quoted arguments, to each client that asked for it.
 * Admin commands are not shown, and the passwords of AUTH and HELLO AUTH
 * show as "(redacted)". Costs one branch per request while nobody
 * monitors. */
#include "cmd.h"

#include "conn.h"
#include "ev.h"
#include "reply.h"

#include <stdio.h>
#include <string.h>

#define MONITOR_LINE_MAX 4096 /* bytes of one line; longer args are cut */

static size_t monitors;

void
cmd_monitor(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    if (c->in_exec) {
        reply_error(c, "ERR MONITOR isn't allowed for DENY BLOCKING client");
        return;
    }
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

/* True if argument i of the request is a password to hide: every argument
 * of AUTH, and the two after HELLO's AUTH token. */
static bool
is_secret(const struct cmd_req *r, int i)
{
    if (cmd_arg_is(&r->argv[0], "auth")) {
        return i > 0;
    }
    if (!cmd_arg_is(&r->argv[0], "hello")) {
        return false;
    }
    for (int j = 2; j < i; j++) {
        if (cmd_arg_is(&r->argv[j], "auth") && i - j <= 2) {
            return true;
        }
    }
    return false;
}

void
cmd_monitor_feed(const struct conn *from, const struct cmd_req *r)
{
    if (monitors == 0) {
        return;
    }
    char line[MONITOR_LINE_MAX];
    uint64_t us = ev_wall_us();
    int n = snprintf(line, sizeof(line), "+%llu.%06llu [0 %s]",
                     (unsigned long long)(us / 1000000),
                     (unsigned long long)(us % 1000000), from->addr);
    size_t used = n > 0 ? (size_t)n : 0;
    for (int i = 0; i < r->argc && used + 16 < sizeof(line); i++) {
        line[used++] = ' ';
        if (is_secret(r, i)) {
            used =
                append_quoted(line, used, sizeof(line) - 2, "(redacted)", 10);
        } else {
            used = append_quoted(line, used, sizeof(line) - 2, r->argv[i].p,
                                 r->argv[i].len);
        }
    }
    memcpy(line + used, "\r\n", 2);
    used += 2;
    for (struct conn *m = conn_first(); m != NULL; m = m->next) {
        if (m->monitor) {
            conn_out_append(m, line, used);
            conn_out_push(m);
        }
    }
}
