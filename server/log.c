/* log.c: see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static FILE *log_file; /* NULL: stderr */
static log_level log_min = LOG_LVL_NOTICE;
static bool log_journal; /* stderr is read by journald */

static const char *const level_names[] = {"debug", "verbose", "notice",
                                          "warning"};
static const char level_marks[] = {'.', '-', '*', '#'};
static const int level_syslog[] = {7, 7, 5, 4}; /* <N> priorities */

bool
log_set_level(const char *level)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(level, level_names[i]) == 0) {
            log_min = (log_level)i;
            return true;
        }
    }
    return false;
}

int
log_setup(const char *path, const char *level)
{
    log_teardown();
    if (level != NULL) {
        log_set_level(level);
    }
    log_journal = getenv("JOURNAL_STREAM") != NULL;
    if (path == NULL || path[0] == '\0') {
        return 0;
    }
    log_file = fopen(path, "a");
    return log_file != NULL ? 0 : -1;
}

void
log_teardown(void)
{
    if (log_file != NULL) {
        fclose(log_file);
        log_file = NULL;
    }
}

void
log_write(log_level lvl, const char *fmt, ...)
{
    if (lvl < log_min) {
        return;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    FILE *out = log_file != NULL ? log_file : stderr;
    if (log_file == NULL && log_journal) {
        fprintf(out, "<%d>%s\n", level_syslog[lvl], msg);
        fflush(out);
        return;
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char when[64];
    strftime(when, sizeof(when), "%d %b %Y %H:%M:%S", &tm);
    fprintf(out, "%d:M %s.%03d %c %s\n", (int)getpid(), when,
            (int)(tv.tv_usec / 1000), level_marks[lvl], msg);
    fflush(out);
}
