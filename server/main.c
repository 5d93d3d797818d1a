/* main.c: offheapd's entry point. Parses argv (config file, then
 * --option value overrides, like redis-server), and is the only place that
 * orders module setup and teardown (teardown in reverse). */
#include "cmd.h"
#include "config.h"
#include "conn.h"
#include "engine/engine.h"
#include "ev.h"
#include "log.h"
#include "version.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

static void
usage(FILE *out)
{
    fprintf(
        out,
        "Usage: offheapd [config-file] [--option value ...]\n"
        "       offheapd --help-config    every option, default and "
        "description\n"
        "       offheapd --check-config [config-file] [--option value ...]\n"
        "       offheapd --version\n"
        "Options given on the command line override the file.\n");
}

/* Loads the configuration from argv. Exits on a bad file or option. */
static void
load_config(int argc, char **argv)
{
    char err[1024];
    cfg_defaults();
    int first = 1;
    if (argc > 1 && strncmp(argv[1], "--", 2) != 0) {
        cfg_file_path = argv[1];
        first = 2;
        if (cfg_load_file(argv[1], err, sizeof(err)) != 0) {
            fprintf(stderr, "offheapd: bad configuration: %s\n", err);
            exit(EX_CONFIG);
        }
    }
    if (cfg_load_args(argc, argv, first, err, sizeof(err)) != 0) {
        fprintf(stderr, "offheapd: bad command-line option: %s\n", err);
        usage(stderr);
        exit(EX_USAGE);
    }
}

static void
handle_info_flags(int argc, char **argv)
{
    if (argc == 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        exit(EX_OK);
    }
    if (argc == 2 &&
        (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0)) {
        printf("offheapd %s (Redis protocol %s)\n", OH_VERSION,
               OH_REDIS_COMPAT);
        exit(EX_OK);
    }
    if (argc == 2 && strcmp(argv[1], "--help-config") == 0) {
        cfg_describe(stdout);
        exit(EX_OK);
    }
}

/* SIGHUP: re-reads the config file and applies the live options. */
static void
reload(void)
{
    if (cfg_file_path == NULL) {
        return;
    }
    char err[1024];
    if (cfg_load_file(cfg_file_path, err, sizeof(err)) != 0) {
        log_warn("reload failed, keeping the running configuration: %s", err);
        return;
    }
    log_set_level(cfg.loglevel);
    engine_reconfigure(&cfg);
}

int
main(int argc, char **argv)
{
    handle_info_flags(argc, argv);
    bool check_only = argc > 1 && strcmp(argv[1], "--check-config") == 0;
    if (check_only) {
        argv[1] = argv[0];
        argc--;
        argv++;
    }
    load_config(argc, argv);
    if (check_only) {
        printf("configuration ok\n");
        cfg_teardown();
        return EX_OK;
    }
    if (log_setup(cfg.logfile, cfg.loglevel) != 0) {
        fprintf(stderr, "offheapd: cannot open logfile %s: %s\n", cfg.logfile,
                strerror(errno));
        return EX_CANTCREAT;
    }
    if (chdir(cfg.dir) != 0) {
        log_warn("cannot change to dir %s: %s", cfg.dir, strerror(errno));
        return EX_CONFIG;
    }
    if (engine_setup(&cfg) != 0) {
        log_warn("cannot create the engine: out of memory");
        return EX_OSERR;
    }
    if (ev_setup() != 0 || ev_listen(&cfg) != 0) {
        return EX_UNAVAILABLE;
    }
    conn_setup();
    ev_on_reload = reload;
    log_notice("offheapd %s ready to accept connections (pid %d)", OH_VERSION,
               (int)getpid());
    ev_run();
    log_notice("offheapd exiting");
    conn_teardown();
    ev_teardown();
    engine_teardown();
    log_teardown();
    cfg_teardown();
    return EX_OK;
}
