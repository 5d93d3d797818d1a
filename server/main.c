/* main.c: offheapd's entry point. Parses argv (config file, then
 * --option value overrides, like redis-server), and is the only place that
 * orders module setup and teardown (teardown in reverse). */
#include "cmd.h"
#include "config.h"
#include "conn.h"
#include "engine/engine.h"
#include "ev.h"
#include "latency.h"
#include "localread.h"
#include "log.h"
#include "notify.h"
#include "slowlog.h"
#include "snapshot.h"
#include "version.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#define MAIN_LOAD_STEP_BYTES (1u << 20) /* snapshot bytes per load step */
#define MAIN_LOAD_SLICE_US   20000      /* µs of loading per slice */
#define MAIN_EXTEND_US       30000000   /* µs asked of systemd per progress */
#define MAIN_FLUSH_MS        2000       /* ms to finish replies at shutdown */

static int exit_status = EX_OK;

/* jemalloc reads this at start-up: a background thread returns freed pages
 * to the OS, so purging never runs inside a free() on the event loop (it
 * showed as 0.1-1 ms stalls in engine steps). */
const char *malloc_conf = "background_thread:true";

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

/* Hands the service options to their modules (start-up and reload; CONFIG
 * SET goes through cmd_server.c's config_apply). */
static void
apply_service_options(void)
{
    snapshot_reconfigure(cfg.snapshot_file, cfg.save,
                         strcmp(cfg.snapshot_on_corrupt, "refuse") == 0);
    slowlog_reconfigure(cfg.slowlog_log_slower_than, cfg.slowlog_max_len);
    latency_reconfigure(cfg.latency_monitor_threshold);
}

/* SIGHUP: re-reads the config file and applies the live options. */
static void
reload(void)
{
    if (cfg_file_path == NULL) {
        return;
    }
    notify_reloading(ev_monotonic_us());
    char err[1024];
    if (cfg_load_file(cfg_file_path, err, sizeof(err)) != 0) {
        log_warn("reload failed, keeping the running configuration: %s", err);
        notify_ready();
        notify_status("Reload failed: %s", err);
        return;
    }
    log_set_level(cfg.loglevel);
    engine_reconfigure(&cfg);
    apply_service_options();
    notify_ready();
    notify_status("Ready: configuration reloaded");
}

/* A long snapshot save or load: feeds the watchdog and asks systemd for
 * more start/stop time (ignored while running). */
static void
on_snapshot_progress(uint64_t done, uint64_t total)
{
    notify_watchdog();
    notify_extend_timeout(MAIN_EXTEND_US);
    if (total != 0) {
        notify_status("Loading the snapshot: %llu%%",
                      (unsigned long long)(done * 100 / total));
    } else {
        notify_status("Saving the snapshot: %llu MiB written",
                      (unsigned long long)(done >> 20));
    }
}

static void
serving(void)
{
    log_notice("offheapd %s ready to accept connections (pid %d)", OH_VERSION,
               (int)getpid());
    notify_ready();
    notify_status("Ready: %llu keys", (unsigned long long)engine_count());
}

/* Loads the start-up snapshot for up to MAIN_LOAD_SLICE_US, so clients are
 * served (INFO, PING; -LOADING for data) between slices. Each 1 MiB step
 * gets the current time: entries that expire during the load are dropped,
 * and the load's reported duration includes its last slice. */
static void
load_slice(void)
{
    uint64_t t0 = ev_monotonic_us();
    oh_time now;
    int rc;
    do {
        now = ev_clock_update();
        rc = snapshot_load_step(now, MAIN_LOAD_STEP_BYTES);
    } while (rc == 1 && ev_monotonic_us() - t0 < MAIN_LOAD_SLICE_US);
    latency_record("snapshot-load", (ev_monotonic_us() - t0) / 1000, now);
    if (rc == SNAPSHOT_REFUSED) {
        exit_status = EX_DATAERR;
        notify_status("Refusing to start: bad snapshot %s", snapshot_file());
        ev_stop();
    } else if (rc == 0) {
        serving();
    }
}

/* The start-up load's slices run back to back (ev_call_soon), each after
 * the loop has polled the sockets, rather than one per tick: waiting for
 * the next tick after each 100 ms slice added ~15 % to a restart. */
static void
load_next(void)
{
    load_slice();
    if (snapshot_loading()) {
        ev_call_soon(load_next);
    }
}

/* Every tick: the watchdog, background saves. */
static void
on_tick(oh_time now)
{
    notify_watchdog_tick(ev_monotonic_us());
    cmd_info_sample();
    snapshot_cron(now);
    localread_cron(now);
}

/* Starts loading the snapshot; says "ready" now if there is none. Returns
 * 0, or -1 if a bad snapshot makes the server refuse to start. */
static int
start_loading(void)
{
    int rc = snapshot_load_begin(ev_now());
    if (rc == SNAPSHOT_REFUSED) {
        notify_status("Refusing to start: bad snapshot %s", snapshot_file());
        return -1;
    }
    if (snapshot_loading()) {
        notify_status("Loading the snapshot %s", snapshot_file());
        ev_call_soon(load_next);
    } else {
        serving();
    }
    return 0;
}

/* A second SIGTERM/SIGINT while saving at shutdown: stop the save (the old
 * snapshot stays as it was) and exit promptly. */
static void
on_second_stop(int sig)
{
    (void)sig;
    snapshot_interrupt();
}

static void
shut_down(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_second_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    ev_close_listeners();
    conn_flush_all(MAIN_FLUSH_MS);
    notify_stopping();
    log_notice("offheapd exiting");
    if (exit_status == EX_OK) {
        notify_status("Stopping: saving the snapshot");
        uint64_t t0 = ev_monotonic_us();
        snapshot_shutdown(ev_clock_update());
        latency_record("snapshot-save", (ev_monotonic_us() - t0) / 1000,
                       ev_now());
    }
    snapshot_teardown();
    slowlog_teardown();
    conn_teardown();
    ev_teardown();
    engine_teardown();
    notify_teardown();
    log_teardown();
    cmd_teardown();
    cfg_teardown();
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
    char err[256];
    if (cmd_setup(&cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "offheapd: bad configuration: %s\n", err);
        return EX_CONFIG;
    }
    if (check_only) {
        printf("configuration ok\n");
        cmd_teardown();
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
    if (cfg.local_reads && (cfg.unixsocket == NULL || !cfg.unixsocket[0])) {
        cfg.local_reads = 0; /* only Unix-socket clients may map */
    }
    if (engine_setup(&cfg) != 0) {
        log_warn("cannot create the engine: out of memory");
        return EX_OSERR;
    }
    notify_setup();
    if (ev_setup() != 0 || ev_listen(&cfg) != 0) {
        notify_status("Failed: cannot listen (see the log)");
        return EX_UNAVAILABLE;
    }
    conn_setup();
    apply_service_options();
    snapshot_setup(ev_now());
    snapshot_on_progress = on_snapshot_progress;
    ev_on_reload = reload;
    ev_on_tick = on_tick;
    if (start_loading() != 0) {
        exit_status = EX_DATAERR;
    } else {
        ev_run();
    }
    shut_down();
    return exit_status;
}
