/* config.h: the configuration, built from the one option table in
 * options.h: defaults, the config file, command-line overrides, CONFIG
 * GET/SET and --help-config all go through it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "options.h"

/* The running configuration (owned by config.c). */
extern struct oh_config cfg;

/* client-output-buffer-limit, parsed (OPT_OBUF). Only the normal class
 * applies: offheapd has no replicas and no pub/sub clients. */
enum { OBUF_NORMAL, OBUF_REPLICA, OBUF_PUBSUB, OBUF_CLASSES };
struct obuf_limit {
    uint64_t hard, soft; /* bytes, 0: none */
    uint64_t soft_secs;  /* how long above `soft` is tolerated */
};
extern struct obuf_limit cfg_obuf[OBUF_CLASSES];

/* One row of the option table. */
struct cfg_opt {
    const char *name; /* C field name, '_' separated */
    opt_type type;
    uint64_t def_num;
    const char *def_str;
    uint64_t min, max;
    unsigned flags;
    const char *choices; /* OPT_ENUM: "a|b|c" */
    const char *desc;
    size_t offset;
};

extern const struct cfg_opt cfg_opts[];
extern const size_t cfg_opt_count;

/* Fills `cfg` with the defaults (strings are heap copies). */
void cfg_defaults(void);
/* Frees the strings held by `cfg`. */
void cfg_teardown(void);

/* Finds an option by its config name ("proto-max-bulk-len" or
 * "proto_max_bulk_len", case-insensitive). NULL if unknown. */
const struct cfg_opt *cfg_find(const char *name);
/* Writes the config name of `o` (dashes) into buf (>= 64 bytes). */
const char *cfg_name(const struct cfg_opt *o, char *buf, size_t cap);

/* Parses `value` for option `o` and stores it in cfg. Returns 0, or -1 with
 * a reason in err (cap bytes). `live` refuses OPT_STATIC options. */
int cfg_set(const struct cfg_opt *o, const char *value, bool live, char *err,
            size_t cap);
/* Formats the current value of `o` as CONFIG GET shows it into buf. */
const char *cfg_format(const struct cfg_opt *o, char *buf, size_t cap);

/* Loads a config file ("name value..." lines, # comments, quoted values).
 * Returns 0, or -1 after writing "file:line: reason" to err. */
int cfg_load_file(const char *path, char *err, size_t cap);
/* Applies "--name value..." command-line pairs from argv[first..argc).
 * Returns 0, or -1 with a reason in err. */
int cfg_load_args(int argc, char **argv, int first, char *err, size_t cap);
/* Prints every option with default and description (--help-config), in
 * config-file form. */
void cfg_describe(FILE *out);
/* Writes the running configuration to `path` atomically (CONFIG REWRITE).
 * Returns 0 or -1 with errno set. */
int cfg_rewrite(const char *path);
/* The config file given at start-up (NULL if none). */
extern const char *cfg_file_path;
