/* log.h: leveled logging to stderr (journald-friendly "<N>" priority
 * prefixes when run under systemd) or to a file. */
#pragma once

#include <stdbool.h>

typedef enum {
    LOG_LVL_DEBUG = 0,
    LOG_LVL_VERBOSE = 1,
    LOG_LVL_NOTICE = 2,
    LOG_LVL_WARNING = 3,
} log_level;

/* Opens `path` for appending (NULL or "": stderr) and sets the level from
 * its name (debug|verbose|notice|warning). Returns 0, or -1 if the file
 * cannot be opened (stderr is kept). */
int log_setup(const char *path, const char *level);
/* Changes the level (CONFIG SET loglevel). Returns false for a bad name. */
bool log_set_level(const char *level);
/* Closes the log file. */
void log_teardown(void);
void log_write(log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...)   log_write(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_verbose(...) log_write(LOG_LVL_VERBOSE, __VA_ARGS__)
#define log_notice(...)  log_write(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_warn(...)    log_write(LOG_LVL_WARNING, __VA_ARGS__)
