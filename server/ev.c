/* ev.c: libevent glue. One event_base; a listener event per socket; one
 * persistent timer at `hz` ticks per second drives background work
 * (client timeouts, and engine_step slices of EV_STEP_BUDGET_US, each run
 * after the sockets were polled again so requests interleave with them);
 * SIGTERM/SIGINT stop the loop gracefully, SIGHUP reloads. The clock is
 * read here only: the engine gets a monotonic clock (engine_set_clock) that
 * it reads only inside engine_step, to end each slice at its deadline. */
#define _GNU_SOURCE /* accept4 */
#include "ev.h"

#include "config.h"
#include "conn.h"
#include "engine/engine.h"
#include "latency.h"
#include "log.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define EV_LISTENERS_MAX   16 /* bind addresses + unix socket */
/* µs of engine work per step slice: the engine stops at 60 % of it by the
 * clock (21 us), leaving room below 50 us for the interrupt and VM gaps
 * this machine charges to a running thread (20-50 us, ~150-250 a second):
 * with 50 (a 30 us deadline) 0.9-1.7 % of the steps of a delete, expiry or
 * eviction storm took over 50 us on-CPU, with 35 0.1-0.2 % (m5_latency.sh,
 * one run each) */
#define EV_STEP_BUDGET_US  35
/* slices per tick while work remains, each after the sockets were polled:
 * at most 57 x 35 us x hz(100) = 20 % of a core for background work */
#define EV_STEP_SLICES_MAX 57

struct listener {
    int fd;
    bool is_unix;
    struct event *ev;
};

static struct event_base *base;
static struct listener listeners[EV_LISTENERS_MAX];
static int nlisteners;
static int bound_port;
static struct event *tick_ev, *step_ev, *sig_term_ev, *sig_int_ev, *sig_hup_ev;
static struct event *soon_ev; /* ev_call_soon() */
static void (*soon_fn)(void);
static int step_slices; /* slices run since the last tick */
static oh_time now_ms;
static uint64_t start_us;
static uint64_t tick_hz;
void (*ev_on_reload)(void);
void (*ev_on_tick)(oh_time now);

oh_time
ev_clock_update(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    now_ms = (oh_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    return now_ms;
}

/* The clock engine_step() bounds its slices by (vDSO: ~20 ns a read). */
static uint64_t
step_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

oh_time
ev_now(void)
{
    return now_ms;
}

uint64_t
ev_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
ev_monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
ev_uptime(void)
{
    return (ev_monotonic_us() - start_us) / 1000000;
}

struct event_base *
ev_base(void)
{
    return base;
}

/* ---- background tick ---- */

static void
arm_tick(void)
{
    tick_hz = cfg.hz;
    struct timeval tv = {0, (suseconds_t)(1000000 / tick_hz)};
    event_add(tick_ev, &tv);
}

/* One slice of engine work. While work remains, the next slice is queued
 * as a zero-delay timer, which libevent runs only after polling the
 * sockets again: client requests are served between slices, so background
 * work never holds the loop for more than one slice. */
static void
on_step(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    oh_time now = ev_clock_update();
    uint64_t t0 = ev_monotonic_us();
    bool more = engine_step(now, EV_STEP_BUDGET_US);
    latency_record("engine-step", (ev_monotonic_us() - t0) / 1000, now);
    if (more && ++step_slices < EV_STEP_SLICES_MAX) {
        static const struct timeval zero = {0, 0};
        event_add(step_ev, &zero);
    }
}

static void
on_soon(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    void (*fn)(void) = soon_fn;
    soon_fn = NULL;
    if (fn != NULL) {
        fn();
    }
}

void
ev_call_soon(void (*fn)(void))
{
    static const struct timeval zero = {0, 0};
    soon_fn = fn;
    event_add(soon_ev, &zero);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    oh_time now = ev_clock_update();
    step_slices = 0;
    if (!event_pending(step_ev, EV_TIMEOUT, NULL)) {
        on_step(-1, EV_TIMEOUT, NULL);
    }
    conn_cron(now);
    if (ev_on_tick != NULL) {
        ev_on_tick(now);
    }
    if (tick_hz != cfg.hz) {
        arm_tick();
    }
}

/* ---- signals ---- */

static void
on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what, (void)arg;
    log_notice("received %s, shutting down",
               sig == SIGINT ? "SIGINT" : "SIGTERM");
    ev_stop();
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
    (void)sig, (void)what, (void)arg;
    log_notice("received SIGHUP, reloading the configuration");
    if (ev_on_reload != NULL) {
        ev_on_reload();
    }
}

int
ev_setup(void)
{
    ev_teardown();
    base = event_base_new();
    if (base == NULL) {
        return -1;
    }
    start_us = ev_monotonic_us();
    ev_clock_update();
    engine_set_clock(step_clock_ns);
    signal(SIGPIPE, SIG_IGN);
    tick_ev = event_new(base, -1, EV_PERSIST, on_tick, NULL);
    step_ev = evtimer_new(base, on_step, NULL);
    soon_ev = evtimer_new(base, on_soon, NULL);
    sig_term_ev = evsignal_new(base, SIGTERM, on_stop_signal, NULL);
    sig_int_ev = evsignal_new(base, SIGINT, on_stop_signal, NULL);
    sig_hup_ev = evsignal_new(base, SIGHUP, on_hup, NULL);
    evsignal_add(sig_term_ev, NULL);
    evsignal_add(sig_int_ev, NULL);
    evsignal_add(sig_hup_ev, NULL);
    arm_tick();
    return 0;
}

void
ev_close_listeners(void)
{
    for (int i = 0; i < nlisteners; i++) {
        event_free(listeners[i].ev);
        close(listeners[i].fd);
    }
    nlisteners = 0;
}

void
ev_teardown(void)
{
    if (base == NULL) {
        return;
    }
    ev_close_listeners();
    struct event **evs[] = {&tick_ev,     &step_ev,    &soon_ev,
                            &sig_term_ev, &sig_int_ev, &sig_hup_ev};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
        if (*evs[i] != NULL) {
            event_free(*evs[i]);
            *evs[i] = NULL;
        }
    }
    if (cfg.unixsocket != NULL && cfg.unixsocket[0] != '\0') {
        unlink(cfg.unixsocket);
    }
    event_base_free(base);
    base = NULL;
}

/* ---- listeners ---- */

static void
on_accept(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct listener *l = arg;
    ev_clock_update();
    for (int i = 0; i < 64; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                log_warn("accept: %s", strerror(errno));
            }
            return;
        }
        conn_accept(cfd, l->is_unix);
    }
}

static int
add_listener(int fd, bool is_unix)
{
    if (nlisteners == EV_LISTENERS_MAX) {
        close(fd);
        log_warn("too many listeners");
        return -1;
    }
    struct listener *l = &listeners[nlisteners++];
    l->fd = fd;
    l->is_unix = is_unix;
    l->ev = event_new(base, fd, EV_READ | EV_PERSIST, on_accept, l);
    event_add(l->ev, NULL);
    return 0;
}

static int
listen_tcp_addr(const char *addr, uint64_t port, int backlog)
{
    struct addrinfo hints = {0}, *res;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    const char *host = addr;
    if (strcmp(addr, "*") == 0) {
        host = NULL;
        hints.ai_family = AF_INET;
    }
    int gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0) {
        log_warn("bind %s: %s", addr, gai_strerror(gai));
        return -1;
    }
    int fd =
        socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (res->ai_family == AF_INET6) {
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        }
    }
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
        listen(fd, backlog) != 0) {
        log_warn("could not listen on %s:%s: %s", addr, portstr,
                 strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        bound_port = ntohs(ss.ss_family == AF_INET6
                               ? ((struct sockaddr_in6 *)&ss)->sin6_port
                               : ((struct sockaddr_in *)&ss)->sin_port);
    }
    log_notice("listening on %s:%d", addr, bound_port);
    return add_listener(fd, false);
}

static int
listen_unix(const char *path, uint64_t perm, int backlog)
{
    struct sockaddr_un sa = {0};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        log_warn("unixsocket path too long: %s", path);
        return -1;
    }
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    mode_t old = umask(0177); /* never world-accessible, even briefly */
    int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc != 0 || chmod(path, (mode_t)perm) != 0 || listen(fd, backlog) != 0) {
        log_warn("could not listen on unix socket %s: %s", path,
                 strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    log_notice("listening on unix socket %s", path);
    return add_listener(fd, true);
}

int
ev_listen(const struct oh_config *c)
{
    int backlog = (int)c->tcp_backlog;
    if (c->port != 0) {
        char *addrs = strdup(c->bind);
        char *save = NULL;
        int rc = 0;
        for (char *a = strtok_r(addrs, " ", &save); a != NULL && rc == 0;
             a = strtok_r(NULL, " ", &save)) {
            rc = listen_tcp_addr(a, c->port, backlog);
        }
        free(addrs);
        if (rc != 0) {
            return -1;
        }
    }
    if (c->unixsocket[0] != '\0' &&
        listen_unix(c->unixsocket, c->unixsocketperm, backlog) != 0) {
        return -1;
    }
    if (nlisteners == 0) {
        log_warn("no listener configured (port 0 and no unixsocket)");
        return -1;
    }
    return 0;
}

int
ev_port(void)
{
    return bound_port;
}

int
ev_run(void)
{
    event_base_dispatch(base);
    return 0;
}

void
ev_stop(void)
{
    event_base_loopbreak(base);
}
