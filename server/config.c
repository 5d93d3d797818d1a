/* config.c: the option table made real. Every operation (defaults, file,
 * command line, CONFIG GET/SET/REWRITE, --help-config) iterates over
 * cfg_opts[], which is generated from OH_OPTIONS in options.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct oh_config cfg;
struct obuf_limit cfg_obuf[OBUF_CLASSES];
const char *cfg_file_path;

#define CFG_LINE_MAX  4096 /* bytes per config-file line */
#define CFG_WORDS_MAX 64   /* words per config-file line */

/* clang-format off */
const struct cfg_opt cfg_opts[] = {
#define X(name, type, num, str, min, max, flags, choices, desc)               \
    {#name, type, (uint64_t)(num), str, (uint64_t)(min), (uint64_t)(max),     \
     flags, choices, desc, offsetof(struct oh_config, name)},
    OH_OPTIONS(X)
#undef X
};
/* clang-format on */
const size_t cfg_opt_count = sizeof(cfg_opts) / sizeof(cfg_opts[0]);

static bool
is_string_type(opt_type t)
{
    return t == OPT_STR || t == OPT_ENUM || t == OPT_LIST || t == OPT_OBUF;
}

static uint64_t *
num_field(const struct cfg_opt *o)
{
    return (uint64_t *)(void *)((char *)&cfg + o->offset);
}

static char **
str_field(const struct cfg_opt *o)
{
    return (char **)(void *)((char *)&cfg + o->offset);
}

static char *
dup_or_die(const char *s)
{
    char *d = strdup(s != NULL ? s : "");
    if (d == NULL) {
        abort();
    }
    return d;
}

void
cfg_defaults(void)
{
    char err[128];
    cfg_teardown();
    memset(cfg_obuf, 0, sizeof(cfg_obuf));
    for (size_t i = 0; i < cfg_opt_count; i++) {
        const struct cfg_opt *o = &cfg_opts[i];
        if (o->type == OPT_OBUF) {
            *str_field(o) = NULL;
            if (cfg_set(o, o->def_str, false, err, sizeof(err)) != 0) {
                abort(); /* the table's default does not parse */
            }
        } else if (is_string_type(o->type)) {
            *str_field(o) = dup_or_die(o->def_str);
        } else {
            *num_field(o) = o->def_num;
        }
    }
}

void
cfg_teardown(void)
{
    for (size_t i = 0; i < cfg_opt_count; i++) {
        const struct cfg_opt *o = &cfg_opts[i];
        if (is_string_type(o->type)) {
            free(*str_field(o));
            *str_field(o) = NULL;
        }
    }
}

const char *
cfg_name(const struct cfg_opt *o, char *buf, size_t cap)
{
    size_t i = 0;
    for (; o->name[i] != '\0' && i + 1 < cap; i++) {
        buf[i] = o->name[i] == '_' ? '-' : o->name[i];
    }
    buf[i] = '\0';
    return buf;
}

const struct cfg_opt *
cfg_find(const char *name)
{
    char buf[64];
    for (size_t i = 0; i < cfg_opt_count; i++) {
        if (strcasecmp(name, cfg_name(&cfg_opts[i], buf, sizeof(buf))) == 0 ||
            strcasecmp(name, cfg_opts[i].name) == 0) {
            return &cfg_opts[i];
        }
    }
    return NULL;
}

/* ---- value parsing ---- */

/* Parses "123", "10kb", "1gb" (k/m/g: powers of 1000; kb/mb/gb: of 1024). */
static bool
parse_bytes(const char *s, uint64_t *out)
{
    static const struct {
        const char *suffix;
        uint64_t mult;
    } units[] = {{"", 1},
                 {"b", 1},
                 {"k", 1000},
                 {"kb", 1024},
                 {"m", 1000 * 1000},
                 {"mb", 1024 * 1024},
                 {"g", 1000ULL * 1000 * 1000},
                 {"gb", 1024ULL * 1024 * 1024}};
    if (!isdigit((unsigned char)s[0])) {
        return false;
    }
    errno = 0;
    char *end;
    unsigned long long n = strtoull(s, &end, 10);
    if (errno != 0) {
        return false;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(end, units[i].suffix) == 0) {
            if (n != 0 && units[i].mult > UINT64_MAX / n) {
                return false;
            }
            *out = n * units[i].mult;
            return true;
        }
    }
    return false;
}

static bool
parse_uint(const char *s, int base, uint64_t *out)
{
    if (!isdigit((unsigned char)s[0])) {
        return false;
    }
    errno = 0;
    char *end;
    unsigned long long n = strtoull(s, &end, base);
    if (errno != 0 || *end != '\0') {
        return false;
    }
    *out = n;
    return true;
}

static bool
enum_has(const char *choices, const char *v)
{
    size_t vlen = strlen(v);
    const char *p = choices;
    while (p != NULL && *p != '\0') {
        const char *bar = strchr(p, '|');
        size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);
        if (len == vlen && strncasecmp(p, v, len) == 0) {
            return true;
        }
        p = bar != NULL ? bar + 1 : NULL;
    }
    return false;
}

/* ---- client output buffer limits (OPT_OBUF) ---- */

static const char *const obuf_class_names[OBUF_CLASSES] = {"normal", "replica",
                                                           "pubsub"};

static int
obuf_class(const char *name)
{
    if (strcasecmp(name, "slave") == 0) { /* Redis's older name */
        return OBUF_REPLICA;
    }
    for (int i = 0; i < OBUF_CLASSES; i++) {
        if (strcasecmp(name, obuf_class_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

/* Parses `value` into `lim` (which holds the current limits: classes the
 * value does not name keep theirs). */
static int
obuf_parse(const char *value, struct obuf_limit *lim, char *err, size_t cap)
{
    char copy[CFG_LINE_MAX], *words[CFG_WORDS_MAX], *save = NULL;
    int n = 0;
    snprintf(copy, sizeof(copy), "%s", value);
    for (char *w = strtok_r(copy, " \t", &save); w != NULL && n < CFG_WORDS_MAX;
         w = strtok_r(NULL, " \t", &save)) {
        words[n++] = w;
    }
    if (n == 1 && parse_bytes(words[0], &lim[OBUF_NORMAL].hard)) {
        lim[OBUF_NORMAL].soft = lim[OBUF_NORMAL].soft_secs = 0;
        return 0;
    }
    if (n == 0 || n % 4 != 0) {
        snprintf(err, cap, "expected groups of 'class hard soft seconds'");
        return -1;
    }
    for (int i = 0; i < n; i += 4) {
        int k = obuf_class(words[i]);
        struct obuf_limit l;
        if (k < 0) {
            snprintf(err, cap,
                     "unknown client class '%s' (normal, replica, "
                     "pubsub)",
                     words[i]);
            return -1;
        }
        if (!parse_bytes(words[i + 1], &l.hard) ||
            !parse_bytes(words[i + 2], &l.soft) ||
            !parse_uint(words[i + 3], 10, &l.soft_secs)) {
            snprintf(err, cap, "bad hard, soft or seconds for class '%s'",
                     words[i]);
            return -1;
        }
        lim[k] = l;
    }
    return 0;
}

/* Stores `value` in cfg_obuf and the option's canonical text. */
static int
set_obuf(const struct cfg_opt *o, const char *value, char *err, size_t cap)
{
    struct obuf_limit lim[OBUF_CLASSES];
    char text[256];
    size_t used = 0;
    memcpy(lim, cfg_obuf, sizeof(lim));
    if (obuf_parse(value, lim, err, cap) != 0) {
        return -1;
    }
    for (int i = 0; i < OBUF_CLASSES; i++) {
        used += (size_t)snprintf(text + used, sizeof(text) - used,
                                 "%s%s %" PRIu64 " %" PRIu64 " %" PRIu64,
                                 i ? " " : "", obuf_class_names[i], lim[i].hard,
                                 lim[i].soft, lim[i].soft_secs);
    }
    memcpy(cfg_obuf, lim, sizeof(lim));
    free(*str_field(o));
    *str_field(o) = dup_or_die(text);
    return 0;
}

static int
set_number(const struct cfg_opt *o, const char *value, char *err, size_t cap)
{
    uint64_t n = 0;
    bool ok;
    switch (o->type) {
    case OPT_BYTES:
        ok = parse_bytes(value, &n);
        break;
    case OPT_BOOL:
        ok = strcasecmp(value, "yes") == 0 || strcasecmp(value, "no") == 0;
        n = strcasecmp(value, "yes") == 0;
        break;
    case OPT_OCTAL:
        ok = parse_uint(value, 8, &n);
        break;
    default:
        ok = parse_uint(value, 10, &n);
        break;
    }
    if (!ok) {
        snprintf(err, cap,
                 o->type == OPT_BOOL ? "argument must be 'yes' or 'no'"
                                     : "argument couldn't be parsed into an "
                                       "integer");
        return -1;
    }
    if (n < o->min || n > o->max) {
        snprintf(err, cap,
                 "argument must be between %" PRIu64 " and %" PRIu64
                 " inclusive",
                 o->min, o->max);
        return -1;
    }
    *num_field(o) = n;
    return 0;
}

/* Adds one entry to a list option (an empty value adds nothing). */
static int
list_append(const struct cfg_opt *o, const char *value)
{
    char *old = *str_field(o);
    if (value[0] == '\0') {
        return 0;
    }
    size_t olen = old != NULL ? strlen(old) : 0;
    char *joined = malloc(olen + strlen(value) + 2);
    if (joined == NULL) {
        abort();
    }
    snprintf(joined, olen + strlen(value) + 2, "%s%s%s", olen ? old : "",
             olen ? "\n" : "", value);
    free(old);
    *str_field(o) = joined;
    return 0;
}

int
cfg_set(const struct cfg_opt *o, const char *value, bool live, char *err,
        size_t cap)
{
    if (live && !(o->flags & OPT_LIVE)) {
        snprintf(err, cap, "can't set immutable config");
        return -1;
    }
    if (!is_string_type(o->type)) {
        return set_number(o, value, err, cap);
    }
    if (o->type == OPT_ENUM && !enum_has(o->choices, value)) {
        snprintf(err, cap, "argument(s) must be one of the following: %s",
                 o->choices);
        return -1;
    }
    if (o->type == OPT_LIST) {
        return list_append(o, value);
    }
    if (o->type == OPT_OBUF) {
        return set_obuf(o, value, err, cap);
    }
    char *copy = dup_or_die(value);
    for (char *p = copy; o->type == OPT_ENUM && *p != '\0'; p++) {
        *p = (char)tolower((unsigned char)*p);
    }
    free(*str_field(o));
    *str_field(o) = copy;
    return 0;
}

const char *
cfg_format(const struct cfg_opt *o, char *buf, size_t cap)
{
    switch (o->type) {
    case OPT_STR:
    case OPT_ENUM:
    case OPT_LIST:
    case OPT_OBUF:
        snprintf(buf, cap, "%s", *str_field(o) != NULL ? *str_field(o) : "");
        break;
    case OPT_BOOL:
        snprintf(buf, cap, "%s", *num_field(o) ? "yes" : "no");
        break;
    case OPT_OCTAL:
        snprintf(buf, cap, "%" PRIo64, *num_field(o));
        break;
    default:
        snprintf(buf, cap, "%" PRIu64, *num_field(o));
        break;
    }
    return buf;
}

/* ---- config file ---- */

/* Splits a line into words in place: spaces separate; "..." allows escapes
 * \n \t \\ \" and '...' is literal. Returns the count, or -1 on unbalanced
 * quotes. */
static int
split_words(char *line, char **words, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        while (isspace((unsigned char)*p)) {
            p++;
        }
        if (*p == '\0') {
            return n;
        }
        char quote = (*p == '"' || *p == '\'') ? *p++ : 0;
        char *out = p;
        words[n++] = out;
        while (*p != '\0' &&
               (quote ? *p != quote : !isspace((unsigned char)*p))) {
            if (quote == '"' && *p == '\\' && p[1] != '\0') {
                p++;
                *out++ = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
                p++;
                continue;
            }
            *out++ = *p++;
        }
        if (quote && *p != quote) {
            return -1;
        }
        char *next = *p != '\0' ? p + 1 : p;
        *out = '\0';
        p = next;
    }
    return n;
}

/* Applies one option given as words[0] = name, words[1..n) = value words
 * (joined by spaces, for bind). */
static int
apply_words(char **words, int n, char *err, size_t cap)
{
    const struct cfg_opt *o = cfg_find(words[0]);
    if (o == NULL) {
        snprintf(err, cap, "unknown option '%s'", words[0]);
        return -1;
    }
    if (n < 2) {
        snprintf(err, cap, "option '%s' needs a value", words[0]);
        return -1;
    }
    char value[CFG_LINE_MAX];
    size_t used = 0;
    value[0] = '\0';
    for (int i = 1; i < n; i++) {
        int w = snprintf(value + used, sizeof(value) - used, "%s%s",
                         i > 1 ? " " : "", words[i]);
        if (w < 0 || (size_t)w >= sizeof(value) - used) {
            snprintf(err, cap, "value of '%s' too long", words[0]);
            return -1;
        }
        used += (size_t)w;
    }
    char why[256];
    if (cfg_set(o, value, false, why, sizeof(why)) != 0) {
        snprintf(err, cap, "option '%s' value '%s': %s", words[0], value, why);
        return -1;
    }
    return 0;
}

/* Empties the list options, so that a file read again (SIGHUP) replaces
 * their entries instead of adding them twice. */
static void
reset_lists(void)
{
    for (size_t i = 0; i < cfg_opt_count; i++) {
        if (cfg_opts[i].type == OPT_LIST) {
            free(*str_field(&cfg_opts[i]));
            *str_field(&cfg_opts[i]) = dup_or_die("");
        }
    }
}

int
cfg_load_file(const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "r");
    reset_lists();
    if (f == NULL) {
        snprintf(err, cap, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[CFG_LINE_MAX];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        char *words[CFG_WORDS_MAX];
        char *hash = line;
        while (isspace((unsigned char)*hash)) {
            hash++;
        }
        if (*hash == '#' || *hash == '\0') {
            continue;
        }
        int n = split_words(line, words, CFG_WORDS_MAX);
        char why[512];
        if (n < 0) {
            snprintf(why, sizeof(why), "unbalanced quotes");
            rc = -1;
        } else if (n > 0 && apply_words(words, n, why, sizeof(why)) != 0) {
            rc = -1;
        }
        if (rc != 0) {
            snprintf(err, cap, "%s:%d: %s", path, lineno, why);
        }
    }
    fclose(f);
    return rc;
}

int
cfg_load_args(int argc, char **argv, int first, char *err, size_t cap)
{
    int i = first;
    while (i < argc) {
        if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0') {
            snprintf(err, cap, "expected --option, got '%s'", argv[i]);
            return -1;
        }
        char *words[CFG_WORDS_MAX];
        int n = 0;
        words[n++] = argv[i++] + 2;
        while (i < argc && strncmp(argv[i], "--", 2) != 0 &&
               n < CFG_WORDS_MAX) {
            words[n++] = argv[i++];
        }
        if (apply_words(words, n, err, cap) != 0) {
            return -1;
        }
    }
    return 0;
}

static void
describe_default(const struct cfg_opt *o, char *buf, size_t cap)
{
    switch (o->type) {
    case OPT_STR:
    case OPT_ENUM:
    case OPT_LIST:
    case OPT_OBUF:
        snprintf(buf, cap, "\"%s\"", o->def_str != NULL ? o->def_str : "");
        break;
    case OPT_BOOL:
        snprintf(buf, cap, "%s", o->def_num ? "yes" : "no");
        break;
    case OPT_OCTAL:
        snprintf(buf, cap, "%" PRIo64, o->def_num);
        break;
    default:
        snprintf(buf, cap, "%" PRIu64, o->def_num);
        break;
    }
}

void
cfg_describe(FILE *out)
{
    for (size_t i = 0; i < cfg_opt_count; i++) {
        const struct cfg_opt *o = &cfg_opts[i];
        char name[64], def[256];
        describe_default(o, def, sizeof(def));
        fprintf(out, "# %s%s%s%s\n", o->desc,
                o->type == OPT_ENUM ? " (one of " : "",
                o->type == OPT_ENUM ? o->choices : "",
                o->type == OPT_ENUM ? ")" : "");
        fprintf(out, "# %s\n",
                (o->flags & OPT_LIVE) ? "CONFIG SET changes it at run time"
                                      : "read at start-up only");
        fprintf(out, "%s %s\n\n", cfg_name(o, name, sizeof(name)), def);
    }
}

/* ---- CONFIG REWRITE ---- */

/* Writes each entry of a list option on a line of its own. */
static void
write_list(FILE *f, const struct cfg_opt *o)
{
    char name[64];
    const char *p = *str_field(o);
    cfg_name(o, name, sizeof(name));
    while (p != NULL && *p != '\0') {
        size_t n = strcspn(p, "\n");
        fprintf(f, "%s %.*s\n", name, (int)n, p);
        p += n + (p[n] == '\n');
    }
}

static void
write_option(FILE *f, const struct cfg_opt *o)
{
    char name[64], val[CFG_LINE_MAX];
    if (o->type == OPT_LIST) {
        write_list(f, o);
        return;
    }
    cfg_format(o, val, sizeof(val));
    if (is_string_type(o->type)) {
        fprintf(f, "%s \"", cfg_name(o, name, sizeof(name)));
        for (const char *p = val; *p != '\0'; p++) {
            if (*p == '"' || *p == '\\') {
                fputc('\\', f);
            }
            fputc(*p, f);
        }
        fputs("\"\n", f);
    } else {
        fprintf(f, "%s %s\n", cfg_name(o, name, sizeof(name)), val);
    }
}

/* Copies `in` to `out`, replacing the first line of each option with its
 * current value and dropping repeats; marks written options in `done`. */
static void
rewrite_lines(FILE *in, FILE *out, bool *done)
{
    char line[CFG_LINE_MAX], copy[CFG_LINE_MAX];
    while (fgets(line, sizeof(line), in) != NULL) {
        memcpy(copy, line, sizeof(copy));
        char *words[CFG_WORDS_MAX];
        int n = split_words(copy, words, CFG_WORDS_MAX);
        const struct cfg_opt *o = NULL;
        if (n > 0 && words[0][0] != '#') {
            o = cfg_find(words[0]);
        }
        if (o == NULL) {
            fputs(line, out);
            continue;
        }
        size_t idx = (size_t)(o - cfg_opts);
        if (!done[idx]) {
            write_option(out, o);
            done[idx] = true;
        }
    }
}

static bool
is_default(const struct cfg_opt *o)
{
    if (is_string_type(o->type)) {
        return strcmp(*str_field(o), o->def_str != NULL ? o->def_str : "") == 0;
    }
    return *num_field(o) == o->def_num;
}

int
cfg_rewrite(const char *path)
{
    char tmp[4096];
    struct stat st;
    snprintf(tmp, sizeof(tmp), "%s.tmp-rewrite", path);
    FILE *in = fopen(path, "r");
    if (in == NULL && errno != ENOENT) {
        return -1; /* never rewrite a file we cannot read: its comments */
    }
    FILE *out = fopen(tmp, "w");
    if (out == NULL) {
        int e = errno;
        if (in != NULL) {
            fclose(in);
        }
        errno = e;
        return -1;
    }
    if (in != NULL && fstat(fileno(in), &st) == 0) {
        fchmod(fileno(out), st.st_mode & 07777); /* keep its permissions */
    }
    bool done[sizeof(cfg_opts) / sizeof(cfg_opts[0])] = {false};
    if (in != NULL) {
        rewrite_lines(in, out, done);
        fclose(in);
    }
    for (size_t i = 0; i < cfg_opt_count; i++) {
        if (!done[i] && !is_default(&cfg_opts[i])) {
            write_option(out, &cfg_opts[i]);
        }
    }
    int rc = fflush(out) == 0 && fsync(fileno(out)) == 0 ? 0 : -1;
    if (fclose(out) != 0) {
        rc = -1;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
    }
    if (rc != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
    }
    return rc;
}
