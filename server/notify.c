/*
 * notify.c -- systemd's readiness protocol without libsystemd.
 *
 * systemd (Type=notify) passes $NOTIFY_SOCKET, the address of a Unix
 * datagram socket. A service reports its state by sending one datagram of
 * newline-separated "KEY=value" assignments:
 *
 *   offheapd                                   systemd (PID 1)
 *   notify_setup()  -- reads env, opens fd
 *   notify_ready()  -- "READY=1\nMAINPID=42" -->  unit becomes "active"
 *   notify_watchdog_tick() -- "WATCHDOG=1" --->  resets WatchdogSec timer
 *   notify_stopping() ----- "STOPPING=1" ----->  unit "deactivating"
 *
 * The address is a filesystem path, or an abstract socket written with a
 * leading '@' (the '@' becomes a NUL byte and the address length counts
 * only the name, no trailing NUL). The socket is connectionless: each
 * message is one sendto(); we never wait for an answer, and a failed send
 * is logged once and otherwise ignored (a lost notification must never stop
 * the cache).
 *
 * The watchdog is armed when WATCHDOG_USEC is set and WATCHDOG_PID is unset
 * or equals our pid (a forked child must not ping on our behalf). We ping
 * at half the interval, as sd_watchdog_enabled() callers conventionally do.
 *
 * Invariants: every public call is a no-op while disabled; the fd is
 * close-on-exec so children started later never inherit it.
 * Rejected: linking libsystemd (a dependency for 60 lines of code, and the
 * tests want to fake the socket anyway); unsetting NOTIFY_SOCKET after
 * reading it (harmless to keep, useful for debugging with /proc/PID/environ).
 */
#include "notify.h"

#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define NOTIFY_MSG_MAX 1024 /* bytes of one notification datagram */

static struct {
    int fd; /* -1 while disabled */
    struct sockaddr_un addr;
    socklen_t addrlen;
    uint64_t watchdog_us; /* ping interval (half of WATCHDOG_USEC); 0: none */
    uint64_t last_ping_us;
    bool warned; /* a send failure was logged already */
} nt = {.fd = -1};

/* Fills nt.addr from $NOTIFY_SOCKET. Returns 0, or -1 if unusable. */
static int
parse_address(const char *path)
{
    size_t len = strlen(path);
    memset(&nt.addr, 0, sizeof(nt.addr));
    nt.addr.sun_family = AF_UNIX;
    if ((path[0] != '/' && path[0] != '@') || len < 2 ||
        len >= sizeof(nt.addr.sun_path)) {
        return -1;
    }
    memcpy(nt.addr.sun_path, path, len);
    if (path[0] == '@') {
        nt.addr.sun_path[0] = '\0';
        nt.addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    } else {
        nt.addrlen =
            (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
    }
    return 0;
}

/* Reads WATCHDOG_USEC / WATCHDOG_PID into nt.watchdog_us. */
static void
parse_watchdog(void)
{
    const char *usec = getenv("WATCHDOG_USEC");
    const char *pid = getenv("WATCHDOG_PID");
    nt.watchdog_us = 0;
    if (usec == NULL || usec[0] == '\0') {
        return;
    }
    if (pid != NULL && pid[0] != '\0' &&
        strtol(pid, NULL, 10) != (long)getpid()) {
        return;
    }
    char *end;
    unsigned long long v = strtoull(usec, &end, 10);
    if (*end == '\0' && v > 0) {
        nt.watchdog_us = v / 2 > 0 ? v / 2 : 1;
    }
}

int
notify_setup(void)
{
    notify_teardown();
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || path[0] == '\0') {
        return 0;
    }
    if (parse_address(path) != 0) {
        log_warn("NOTIFY_SOCKET '%s' is not a usable address; "
                 "systemd notifications are off",
                 path);
        return -1;
    }
    nt.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (nt.fd < 0) {
        log_warn("notify socket: %s", strerror(errno));
        return -1;
    }
    parse_watchdog();
    nt.last_ping_us = 0;
    nt.warned = false;
    return 0;
}

void
notify_teardown(void)
{
    if (nt.fd >= 0) {
        close(nt.fd);
    }
    nt.fd = -1;
    nt.watchdog_us = 0;
}

bool
notify_enabled(void)
{
    return nt.fd >= 0;
}

int
notify_send(const char *msg)
{
    if (nt.fd < 0) {
        return -1;
    }
    ssize_t n;
    do {
        n = sendto(nt.fd, msg, strlen(msg), MSG_NOSIGNAL,
                   (const struct sockaddr *)&nt.addr, nt.addrlen);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (!nt.warned) {
            log_warn("cannot notify systemd: %s", strerror(errno));
            nt.warned = true;
        }
        return -1;
    }
    return 0;
}

void
notify_ready(void)
{
    char msg[64];
    snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%ld", (long)getpid());
    notify_send(msg);
}

void
notify_status(const char *fmt, ...)
{
    if (nt.fd < 0) {
        return;
    }
    char msg[NOTIFY_MSG_MAX];
    int n = snprintf(msg, sizeof(msg), "STATUS=");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
    va_end(ap);
    for (char *p = msg + n; *p != '\0'; p++) {
        if (*p == '\n' || *p == '\r') {
            *p = ' ';
        }
    }
    notify_send(msg);
}

void
notify_stopping(void)
{
    notify_send("STOPPING=1");
}

void
notify_reloading(uint64_t monotonic_us)
{
    char msg[64];
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)monotonic_us);
    notify_send(msg);
}

void
notify_extend_timeout(uint64_t us)
{
    char msg[64];
    snprintf(msg, sizeof(msg), "EXTEND_TIMEOUT_USEC=%llu",
             (unsigned long long)us);
    notify_send(msg);
}

uint64_t
notify_watchdog_interval_us(void)
{
    return nt.fd >= 0 ? nt.watchdog_us : 0;
}

void
notify_watchdog(void)
{
    if (notify_watchdog_interval_us() != 0) {
        notify_send("WATCHDOG=1");
    }
}

void
notify_watchdog_tick(uint64_t monotonic_us)
{
    uint64_t every = notify_watchdog_interval_us();
    if (every == 0 || monotonic_us - nt.last_ping_us < every) {
        return;
    }
    nt.last_ping_us = monotonic_us;
    notify_send("WATCHDOG=1");
}
