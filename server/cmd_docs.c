/* cmd_docs.c: COMMAND DOCS. Turns the compact argument syntax of the
 * command table's args column (see cmd_table.h) into Redis 7's argument
 * maps (name, type, token, flags, arguments), which redis-cli reads to show
 * hints as the user types. */
#include "cmd.h"

#include "conn.h"
#include "reply.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define DOC_NODES_MAX    64 /* argument nodes per command */
#define DOC_CHILDREN_MAX 8  /* alternatives or members per group */
#define DOC_WORD_MAX     40 /* bytes of an argument name or token */

struct doc_node {
    char name[DOC_WORD_MAX];
    char token[DOC_WORD_MAX];
    const char *type; /* key string pure-token oneof block */
    bool optional, multiple;
    int nchildren;
    struct doc_node *children[DOC_CHILDREN_MAX];
};

struct doc_parser {
    const char *p;
    struct doc_node nodes[DOC_NODES_MAX];
    int used;
};

static struct doc_node *parse_elem(struct doc_parser *ps);

static struct doc_node *
new_node(struct doc_parser *ps)
{
    if (ps->used == DOC_NODES_MAX) {
        return NULL;
    }
    struct doc_node *n = &ps->nodes[ps->used++];
    memset(n, 0, sizeof(*n));
    return n;
}

static void
copy_word(struct doc_parser *ps, char *dst, bool lower)
{
    size_t i = 0;
    while (*ps->p != '\0' && strchr(" |)}]:.", *ps->p) == NULL) {
        char ch = lower ? (char)tolower((unsigned char)*ps->p) : *ps->p;
        if (i + 1 < DOC_WORD_MAX) {
            dst[i++] = ch;
        }
        ps->p++;
    }
    dst[i] = '\0';
}

/* Parses "a b c" up to `end` into n's children. */
static void
parse_group(struct doc_parser *ps, struct doc_node *n, char end, char sep)
{
    while (*ps->p != '\0' && *ps->p != end) {
        struct doc_node *child = parse_elem(ps);
        if (child != NULL && n->nchildren < DOC_CHILDREN_MAX) {
            n->children[n->nchildren++] = child;
        }
        if (*ps->p == sep) {
            ps->p++;
        } else if (*ps->p != end) {
            break;
        }
    }
    if (*ps->p == end) {
        ps->p++;
    }
}

static void
parse_word(struct doc_parser *ps, struct doc_node *n)
{
    bool upper = isupper((unsigned char)*ps->p);
    if (!upper) {
        copy_word(ps, n->name, false);
        n->type = strcmp(n->name, "key") == 0 ? "key" : "string";
        return;
    }
    const char *start = ps->p;
    copy_word(ps, n->token, false);
    ps->p = start;
    copy_word(ps, n->name, true);
    n->type = "pure-token";
    if (*ps->p == ':') {
        ps->p++;
        if (*ps->p == '{') {
            ps->p++;
            n->type = "block";
            parse_group(ps, n, '}', ' ');
        } else {
            copy_word(ps, n->name, false);
            n->type = "string";
        }
    }
}

static struct doc_node *
parse_elem(struct doc_parser *ps)
{
    struct doc_node *n = new_node(ps);
    if (n == NULL) {
        return NULL;
    }
    char c = *ps->p;
    if (c == '[') {
        ps->p++;
        struct doc_node *inner = parse_elem(ps);
        if (*ps->p == ']') {
            ps->p++;
        }
        if (inner != NULL) {
            *n = *inner;
        }
        n->optional = true;
    } else if (c == '(' || c == '{') {
        ps->p++;
        n->type = c == '(' ? "oneof" : "block";
        snprintf(n->name, sizeof(n->name), c == '(' ? "choice" : "data");
        parse_group(ps, n, c == '(' ? ')' : '}', c == '(' ? '|' : ' ');
    } else {
        parse_word(ps, n);
    }
    if (strncmp(ps->p, "...", 3) == 0) {
        ps->p += 3;
        n->multiple = true;
    }
    return n;
}

static void
emit_node(struct conn *c, const struct doc_node *n)
{
    bool has_token = n->token[0] != '\0';
    bool has_flags = n->optional || n->multiple;
    bool has_args = n->nchildren > 0;
    reply_map(c, 2 + has_token + has_flags + has_args);
    reply_bulk_cstr(c, "name");
    reply_bulk_cstr(c, n->name);
    reply_bulk_cstr(c, "type");
    reply_bulk_cstr(c, n->type);
    if (has_token) {
        reply_bulk_cstr(c, "token");
        reply_bulk_cstr(c, n->token);
    }
    if (has_flags) {
        reply_bulk_cstr(c, "flags");
        reply_set(c, (size_t)n->optional + n->multiple);
        if (n->optional) {
            reply_status(c, "optional");
        }
        if (n->multiple) {
            reply_status(c, "multiple");
        }
    }
    if (has_args) {
        reply_bulk_cstr(c, "arguments");
        reply_array(c, (size_t)n->nchildren);
        for (int i = 0; i < n->nchildren; i++) {
            emit_node(c, n->children[i]);
        }
    }
}

/* Emits `name` => {summary, since, group, arguments} for one command. */
static void
emit_docs(struct conn *c, const struct cmd_def *d)
{
    static struct doc_parser ps;
    memset(&ps, 0, sizeof(ps));
    ps.p = d->args;
    struct doc_node root = {.type = "block"};
    parse_group(&ps, &root, '\0', ' ');
    reply_bulk_cstr(c, cmd_name(d));
    reply_map(c, 3 + (root.nchildren > 0));
    reply_bulk_cstr(c, "summary");
    reply_bulk_cstr(c, d->summary);
    reply_bulk_cstr(c, "since");
    reply_bulk_cstr(c, d->since);
    reply_bulk_cstr(c, "group");
    reply_bulk_cstr(c, d->group);
    if (root.nchildren > 0) {
        reply_bulk_cstr(c, "arguments");
        reply_array(c, (size_t)root.nchildren);
        for (int i = 0; i < root.nchildren; i++) {
            emit_node(c, root.children[i]);
        }
    }
}

void
cmd_docs_reply(struct conn *c, const struct cmd_req *r)
{
    if (r->argc == 2) {
        reply_map(c, cmd_enabled_count());
        for (size_t i = 0; i < CMD_ID_COUNT; i++) {
            if (cmd_name(&cmd_table[i]) != NULL) {
                emit_docs(c, &cmd_table[i]);
            }
        }
        return;
    }
    void *h = reply_defer_len(c);
    size_t n = 0;
    for (int i = 2; i < r->argc; i++) {
        const struct cmd_def *d = cmd_lookup(r->argv[i].p, r->argv[i].len);
        if (d != NULL) {
            emit_docs(c, d);
            n++;
        }
    }
    reply_set_deferred(c, h, '%', n);
}
