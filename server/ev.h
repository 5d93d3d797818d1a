/* ev.h: the event loop: libevent base, listeners, the background tick,
 * signals, and the clock (the only place that reads it). */
#pragma once

#include <stdbool.h>

#include "oh_time.h"
#include "options.h"

struct event_base;

/* Creates the event base and installs signal handlers. Returns 0 or -1. */
int ev_setup(void);
/* Closes listeners, frees the base. */
void ev_teardown(void);
/* The base, for conn.c. BORROWED until ev_teardown(). */
struct event_base *ev_base(void);

/* Opens the TCP listeners (cfg->bind, cfg->port) and the Unix socket
 * (cfg->unixsocket, cfg->unixsocketperm). Returns 0, or -1 after logging
 * the reason. */
int ev_listen(const struct oh_config *c);
/* Stops accepting connections (shutdown). */
void ev_close_listeners(void);
/* The TCP port actually bound (useful with port 0), 0 if none. */
int ev_port(void);

/* Runs the loop until ev_stop(). Returns 0. */
int ev_run(void);
/* Asks the loop to stop after the current iteration. */
void ev_stop(void);

/* The time of the current tick (ms since the epoch). */
oh_time ev_now(void);
/* Reads the clock again; called once at the start of each batch of work. */
oh_time ev_clock_update(void);
/* Microseconds since the epoch, read now (TIME). */
uint64_t ev_wall_us(void);
/* Microseconds from a monotonic clock (for command latency stats). */
uint64_t ev_monotonic_us(void);
/* Seconds since start-up. */
uint64_t ev_uptime(void);
/* Called on SIGHUP: reloads the config file. Set by main.c. */
extern void (*ev_on_reload)(void);
/* Called at the end of every tick with the tick's time: service work
 * (watchdog, snapshots, the start-up load). Set by main.c; NULL: none. */
extern void (*ev_on_tick)(oh_time now);
/* Calls fn once from the loop as soon as it has polled the sockets (a
 * zero-delay timer): long work in slices, e.g. the start-up load, runs
 * back to back while clients are still served between slices. One pending
 * call at a time: a second replaces the first. */
void ev_call_soon(void (*fn)(void));
