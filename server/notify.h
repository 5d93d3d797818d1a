/* notify.h: the systemd notification protocol (sd_notify), spoken directly:
 * one datagram of "KEY=value\n" lines to the Unix socket named by
 * $NOTIFY_SOCKET (a path, or an abstract name written "@name"). No
 * libsystemd. Every call is a no-op when $NOTIFY_SOCKET is unset, so the
 * server runs the same outside systemd. Event-loop thread only. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from the environment
 * and opens the datagram socket. Called twice, re-reads. Returns 0, or -1
 * (logged) if NOTIFY_SOCKET is set but unusable; the server then runs on
 * without notifications. */
int notify_setup(void);
/* Closes the socket. Without setup, does nothing. */
void notify_teardown(void);
/* Tells whether NOTIFY_SOCKET was set and usable at setup. */
bool notify_enabled(void);

/* Sends raw "KEY=value" lines (newline-separated). Returns 0, or -1 if the
 * datagram could not be sent (or notifications are off). */
int notify_send(const char *msg);
/* Sends READY=1 (and MAINPID): the server is listening and serving. */
void notify_ready(void);
/* Sends STATUS=<text> (printf formatting; newlines become spaces). */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Sends STOPPING=1: shutdown has begun. */
void notify_stopping(void);
/* Sends RELOADING=1 with MONOTONIC_USEC=monotonic_us (CLOCK_MONOTONIC µs):
 * a configuration reload has begun. Follow with notify_ready(). */
void notify_reloading(uint64_t monotonic_us);
/* Sends EXTEND_TIMEOUT_USEC=us: asks for more time while starting or
 * stopping (a long snapshot load or save). */
void notify_extend_timeout(uint64_t us);

/* Returns how often to send WATCHDOG=1, in µs: half of WATCHDOG_USEC, or 0
 * if no watchdog is armed for this process (unset, or WATCHDOG_PID names
 * another process). */
uint64_t notify_watchdog_interval_us(void);
/* Sends WATCHDOG=1 now (no-op if no watchdog is armed). */
void notify_watchdog(void);
/* Sends WATCHDOG=1 if at least the interval has passed since the last one;
 * call it from every tick with a monotonic clock reading in µs. */
void notify_watchdog_tick(uint64_t monotonic_us);
