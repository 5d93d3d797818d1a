/*
 * offheap_async.c -- the non-blocking client, on any event loop.
 *
 * The handle never reads a clock-driven socket by itself: a loop adapter
 * (offheap_loop_t) watches one fd and one timer per server ("slot") and
 * calls offheap_async_on_io() / offheap_async_on_timer(). The libevent
 * adapter is at the end of this file; the Node binding has a libuv one.
 *
 *   submit ─► route ─► slot s: [obuf += command] ─► FIFO of requests
 *                         │ DOWN: open + queue AUTH/SELECT first
 *   WRITE ready ─► redisBufferWrite (all commands of this tick at once)
 *   READ ready  ─► redisBufferRead ─► one reply per FIFO head ─► its cb
 *   timer       ─► head past its deadline? fail the slot : re-arm for it
 *
 * Replies of one connection come in order, so a FIFO per slot matches
 * replies to callbacks. Commands are only buffered on submit and written
 * when the loop says the socket is writable, so all the commands issued
 * in one turn of the loop leave in one write (implicit pipelining).
 *
 * Deadlines: each request carries submit time + timeout. The slot timer is
 * armed for the oldest request only, and re-armed when it fires early, so
 * a busy slot costs one timer operation per timeout period, not per
 * request. A passed deadline fails every request of the slot (the stream
 * cannot be resynchronised) and drops the connection; the next submit
 * reconnects, replaying AUTH and SELECT. A refused connect backs off as in
 * the sync client, and submits fail fast with OFFHEAP_ERR_DOWN meanwhile.
 *
 * Re-entrancy: callbacks may submit or close. `depth` counts the library
 * frames on the stack; a close inside a callback only marks the handle,
 * and the outermost frame frees it.
 */
#include "offheap_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifndef OFFHEAP_NO_LIBEVENT
#include <event2/event.h>
#endif

/* One command waiting for its reply. */
struct request {
    struct request *next;
    offheap_async_cb *cb; /* NULL for AUTH/SELECT of the handshake */
    void *arg;
    int64_t deadline; /* ms, monotonic; -1: none */
};

/* Per-server state beside struct offheap_server. */
struct slot {
    struct request *head, *tail; /* OWNED FIFO */
    size_t n;
    int fd;     /* fd given to loop.watch, -1 if none */
    int events; /* events asked of loop.watch */
    bool timer_armed;
};

struct offheap_async {
    struct offheap_pool pool;
    struct offheap_error err;
    offheap_loop_t loop;
    struct slot *slots; /* OWNED, pool.nsrv */
    size_t pending;
    int depth;    /* library frames on the stack (callbacks may nest) */
    bool closing; /* offheap_async_close() was called */
};

static void destroy(offheap_async_t *ac);

/* ---- loop hooks ---- */

static void
set_watch(offheap_async_t *ac, size_t i, int fd, int events)
{
    struct slot *sl = &ac->slots[i];

    if (sl->fd == fd && sl->events == events) {
        return;
    }
    if (ac->loop.watch != NULL) {
        ac->loop.watch(ac->loop.data, i, fd, events);
    }
    sl->fd = events != 0 ? fd : -1;
    sl->events = events;
}

static void
arm_timer(offheap_async_t *ac, size_t i, int64_t ms)
{
    struct slot *sl = &ac->slots[i];

    if (ms < 0 && !sl->timer_armed) {
        return;
    }
    sl->timer_armed = ms >= 0;
    if (ac->loop.timer != NULL) {
        ac->loop.timer(ac->loop.data, i,
                       ms < 0 ? -1 : (int)(ms > INT32_MAX ? INT32_MAX : ms));
    }
}

/* ---- failing and dropping ---- */

/* Drops slot i's connection and fails all its requests with code. */
static void
fail_slot(offheap_async_t *ac, size_t i, int code, bool failed)
{
    struct slot *sl = &ac->slots[i];
    struct offheap_server *s = &ac->pool.srv[i];
    struct request *r = sl->head;

    if (s->rc != NULL) {
        set_watch(ac, i, s->rc->fd, 0);
    }
    arm_timer(ac, i, -1);
    offheap_server_drop(s, &ac->pool, failed);
    sl->head = sl->tail = NULL;
    ac->pending -= sl->n;
    sl->n = 0;
    ac->depth++;
    while (r != NULL) {
        struct request *next = r->next;

        if (r->cb != NULL) {
            r->cb(ac, code, NULL, r->arg);
        }
        free(r);
        r = next;
    }
    ac->depth--;
}

/* Records s's hiredis error text, then fails the slot. */
static void
fail_io(offheap_async_t *ac, size_t i, int code, bool failed)
{
    struct offheap_server *s = &ac->pool.srv[i];
    const char *why =
        s->rc != NULL && s->rc->err ? s->rc->errstr : "connection closed";

    offheap_fail(&ac->err, code, "%s: %s", s->name, why);
    fail_slot(ac, i, code, failed);
}

/* ---- connecting ---- */

static int
push_request(offheap_async_t *ac, size_t i, offheap_async_cb *cb, void *arg)
{
    struct slot *sl = &ac->slots[i];
    struct request *r = malloc(sizeof(*r));

    if (r == NULL) {
        return offheap_fail(&ac->err, OFFHEAP_ERR_NOMEM, "out of memory");
    }
    r->next = NULL;
    r->cb = cb;
    r->arg = arg;
    r->deadline =
        ac->pool.timeout_ms > 0 ? offheap_now_ms() + ac->pool.timeout_ms : -1;
    if (sl->tail != NULL) {
        sl->tail->next = r;
    } else {
        sl->head = r;
        if (ac->pool.timeout_ms > 0 && !sl->timer_armed) {
            arm_timer(ac, i, ac->pool.timeout_ms);
        }
    }
    sl->tail = r;
    sl->n++;
    ac->pending++;
    return 0;
}

/* Opens slot i's connection and queues its handshake. */
static int
open_slot(offheap_async_t *ac, size_t i)
{
    struct offheap_server *s = &ac->pool.srv[i];
    int rc = offheap_server_check_backoff(s, &ac->err, offheap_now_ms());
    int n;

    if (rc != 0) {
        return rc;
    }
    rc = offheap_server_open(s, &ac->err);
    if (rc != 0) {
        offheap_server_drop(s, &ac->pool, true);
        return rc;
    }
    n = offheap_server_handshake(s, &ac->pool);
    for (int k = 0; k < n && rc == 0; k++) {
        rc = push_request(ac, i, NULL, NULL);
    }
    if (n < 0 || rc != 0) {
        fail_slot(ac, i, OFFHEAP_ERR_NOMEM, false);
        return offheap_fail(&ac->err, OFFHEAP_ERR_NOMEM, "out of memory");
    }
    set_watch(ac, i, s->rc->fd, OFFHEAP_EV_READ | OFFHEAP_EV_WRITE);
    return 0;
}

/* Completes a non-blocking connect; false if it failed (slot failed). */
static bool
finish_connect(offheap_async_t *ac, size_t i)
{
    struct offheap_server *s = &ac->pool.srv[i];
    int soerr = 0;
    socklen_t len = sizeof(soerr);

    if (getsockopt(s->rc->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) {
        soerr = errno;
    }
    if (soerr != 0) {
        offheap_fail(&ac->err, OFFHEAP_ERR_IO, "%s: connect: %s", s->name,
                     strerror(soerr));
        fail_slot(ac, i, OFFHEAP_ERR_IO, true);
        return false;
    }
    s->state = OFFHEAP_UP;
    s->backoff_ms = ac->pool.backoff_min_ms;
    return true;
}

/* ---- I/O ---- */

/* Hands one reply to the head request. false if the slot failed. */
static bool
dispatch(offheap_async_t *ac, size_t i, offheap_reply_t *reply)
{
    struct slot *sl = &ac->slots[i];
    struct request *r = sl->head;

    if (r == NULL) {
        offheap_fail(&ac->err, OFFHEAP_ERR_PROTOCOL, "%s: unexpected reply",
                     ac->pool.srv[i].name);
        fail_slot(ac, i, OFFHEAP_ERR_PROTOCOL, false);
        return false;
    }
    sl->head = r->next;
    if (sl->head == NULL) {
        sl->tail = NULL;
    }
    sl->n--;
    ac->pending--;
    if (r->cb == NULL && reply->type == OFFHEAP_REPLY_ERROR) {
        offheap_fail(&ac->err, OFFHEAP_ERR_SERVER, "%s: %s",
                     ac->pool.srv[i].name, reply->str);
        free(r);
        fail_slot(ac, i, OFFHEAP_ERR_SERVER, true);
        return false;
    }
    if (r->cb != NULL) {
        r->cb(ac, 0, reply, r->arg);
    }
    free(r);
    return true;
}

static void
do_read(offheap_async_t *ac, size_t i)
{
    struct offheap_server *s = &ac->pool.srv[i];
    unsigned epoch = s->epoch;

    if (redisBufferRead(s->rc) != REDIS_OK) {
        fail_io(ac, i, OFFHEAP_ERR_IO, false);
        return;
    }
    while (!ac->closing && s->epoch == epoch) {
        void *reply = NULL;

        if (redisGetReplyFromReader(s->rc, &reply) != REDIS_OK) {
            fail_io(ac, i, OFFHEAP_ERR_PROTOCOL, false);
            return;
        }
        if (reply == NULL) {
            return;
        }
        offheap_reply_t *r = reply;
        bool ok = dispatch(ac, i, r);

        offheap_reply_free(&r);
        if (!ok) {
            return;
        }
    }
}

static void
do_write(offheap_async_t *ac, size_t i)
{
    struct offheap_server *s = &ac->pool.srv[i];
    int done = 0;

    if (redisBufferWrite(s->rc, &done) != REDIS_OK) {
        fail_io(ac, i, OFFHEAP_ERR_IO, false);
        return;
    }
    if (done) {
        set_watch(ac, i, s->rc->fd, OFFHEAP_EV_READ);
    }
}

void
offheap_async_on_io(offheap_async_t *ac, size_t i, int events)
{
    struct offheap_server *s;

    if (ac == NULL || i >= ac->pool.nsrv || ac->closing) {
        return;
    }
    s = &ac->pool.srv[i];
    ac->depth++;
    if (s->state == OFFHEAP_CONNECTING && (events & OFFHEAP_EV_WRITE)) {
        finish_connect(ac, i);
    }
    if (s->state == OFFHEAP_UP && (events & OFFHEAP_EV_WRITE)) {
        do_write(ac, i);
    }
    if (s->state == OFFHEAP_UP && (events & OFFHEAP_EV_READ) && !ac->closing) {
        do_read(ac, i);
    }
    ac->depth--;
    if (ac->closing && ac->depth == 0) {
        destroy(ac);
    }
}

void
offheap_async_on_timer(offheap_async_t *ac, size_t i)
{
    struct slot *sl;
    int64_t now = offheap_now_ms();

    if (ac == NULL || i >= ac->pool.nsrv || ac->closing) {
        return;
    }
    sl = &ac->slots[i];
    sl->timer_armed = false;
    if (sl->head == NULL) {
        return;
    }
    if (sl->head->deadline < 0 || sl->head->deadline > now) {
        if (sl->head->deadline >= 0) {
            arm_timer(ac, i, sl->head->deadline - now);
        }
        return;
    }
    offheap_fail(&ac->err, OFFHEAP_ERR_TIMEOUT, "%s: deadline exceeded",
                 ac->pool.srv[i].name);
    ac->depth++;
    fail_slot(ac, i, OFFHEAP_ERR_TIMEOUT, false);
    ac->depth--;
    if (ac->closing && ac->depth == 0) {
        destroy(ac);
    }
}

/* ---- handle ---- */

offheap_async_t *
offheap_async_create(const offheap_loop_t *loop, const offheap_options_t *o)
{
    offheap_async_t *ac = calloc(1, sizeof(*ac));

    if (ac == NULL || loop == NULL) {
        free(ac);
        return NULL;
    }
    ac->loop = *loop;
    if (offheap_pool_init(&ac->pool, o, &ac->err) != 0) {
        offheap_pool_deinit(&ac->pool);
        free(ac);
        return NULL;
    }
    ac->slots = calloc(ac->pool.nsrv, sizeof(*ac->slots));
    if (ac->slots == NULL) {
        offheap_pool_deinit(&ac->pool);
        free(ac);
        return NULL;
    }
    for (size_t i = 0; i < ac->pool.nsrv; i++) {
        ac->slots[i].fd = -1;
        open_slot(ac, i); /* a failure is retried on first use */
    }
    return ac;
}

static void
destroy(offheap_async_t *ac)
{
    for (size_t i = 0; i < ac->pool.nsrv; i++) {
        struct offheap_server *s = &ac->pool.srv[i];

        if (s->rc != NULL) {
            set_watch(ac, i, s->rc->fd, 0);
        }
        arm_timer(ac, i, -1);
    }
    if (ac->loop.release != NULL) {
        ac->loop.release(ac->loop.data);
    }
    offheap_pool_deinit(&ac->pool);
    free(ac->slots);
    free(ac);
}

void
offheap_async_close(offheap_async_t *ac)
{
    if (ac == NULL || ac->closing) {
        return;
    }
    ac->closing = true;
    ac->depth++;
    for (size_t i = 0; i < ac->pool.nsrv; i++) {
        if (ac->slots[i].n > 0) {
            offheap_fail(&ac->err, OFFHEAP_ERR_CLOSED, "handle closed");
            fail_slot(ac, i, OFFHEAP_ERR_CLOSED, false);
        }
    }
    ac->depth--;
    if (ac->depth == 0) {
        destroy(ac);
    }
}

int
offheap_async_command_argv(offheap_async_t *ac, int argc,
                           const char *const *argv, const size_t *argvlen,
                           int key_index, offheap_async_cb *cb, void *arg)
{
    size_t i;
    struct offheap_server *s;
    int rc;

    if (ac == NULL || ac->closing) {
        return OFFHEAP_ERR_CLOSED;
    }
    if (argc <= 0 || argc > OFFHEAP_MAX_ARGS || argv == NULL ||
        argvlen == NULL || cb == NULL) {
        return offheap_fail(&ac->err, OFFHEAP_ERR_INVAL, "bad argv");
    }
    i = offheap_route_argv(&ac->pool, argc, argv, argvlen, key_index);
    s = &ac->pool.srv[i];
    if (s->state == OFFHEAP_DOWN && (rc = open_slot(ac, i)) != 0) {
        return rc;
    }
    rc = offheap_append_cmd(s->rc, &ac->pool, argc, argv, argvlen, key_index);
    if (rc == 0) {
        rc = push_request(ac, i, cb, arg);
    }
    if (rc != 0) {
        /* a buffered command without a request would shift replies */
        fail_slot(ac, i, rc, false);
        return offheap_fail(&ac->err, rc, "out of memory");
    }
    if (s->state == OFFHEAP_UP) {
        set_watch(ac, i, s->rc->fd, OFFHEAP_EV_READ | OFFHEAP_EV_WRITE);
    }
    return 0;
}

int
offheap_async_get(offheap_async_t *ac, const char *key, size_t klen,
                  offheap_async_cb *cb, void *arg)
{
    const char *argv[2] = {"GET", key};
    size_t lens[2] = {3, klen};

    return offheap_async_command_argv(ac, 2, argv, lens, 1, cb, arg);
}

int
offheap_async_set(offheap_async_t *ac, const char *key, size_t klen,
                  const void *val, size_t vlen, int64_t ttl_ms,
                  offheap_async_cb *cb, void *arg)
{
    char ttl[24];
    const char *argv[5] = {"SET", key, val, "PX", ttl};
    size_t lens[5] = {3, klen, vlen, 2, 0};

    if (ttl_ms > 0) {
        lens[4] = (size_t)snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
    }
    return offheap_async_command_argv(ac, ttl_ms > 0 ? 5 : 3, argv, lens, 1, cb,
                                      arg);
}

int
offheap_async_del(offheap_async_t *ac, const char *key, size_t klen,
                  offheap_async_cb *cb, void *arg)
{
    const char *argv[2] = {"DEL", key};
    size_t lens[2] = {3, klen};

    return offheap_async_command_argv(ac, 2, argv, lens, 1, cb, arg);
}

size_t
offheap_async_pending(const offheap_async_t *ac)
{
    return ac->pending;
}

int
offheap_async_err(const offheap_async_t *ac)
{
    return ac->err.code;
}

const char *
offheap_async_errstr(const offheap_async_t *ac)
{
    return ac->err.str;
}

size_t
offheap_async_server_of(const offheap_async_t *ac, const char *key, size_t klen)
{
    return offheap_pool_route(&ac->pool, key, klen);
}

/* ---- the libevent adapter ---- */

#ifndef OFFHEAP_NO_LIBEVENT

/* One slot's events; `ac` is set once the handle exists. */
struct ev_slot {
    struct event *io; /* OWNED, or NULL */
    struct event *tm; /* OWNED, or NULL */
    struct ev_adapter *ad;
    size_t slot;
};

struct ev_adapter {
    struct event_base *base;
    offheap_async_t *ac;
    struct ev_slot **slots; /* OWNED array of OWNED, n */
    size_t n;
};

static struct ev_slot *
ev_slot_get(struct ev_adapter *ad, size_t slot)
{
    if (slot >= ad->n) {
        struct ev_slot **ns = realloc(ad->slots, (slot + 1) * sizeof(*ns));

        if (ns == NULL) {
            return NULL;
        }
        for (size_t i = ad->n; i <= slot; i++) {
            ns[i] = NULL;
        }
        ad->slots = ns;
        ad->n = slot + 1;
    }
    if (ad->slots[slot] == NULL) {
        ad->slots[slot] = calloc(1, sizeof(struct ev_slot));
        if (ad->slots[slot] != NULL) {
            ad->slots[slot]->ad = ad;
            ad->slots[slot]->slot = slot;
        }
    }
    return ad->slots[slot];
}

static void
ev_io_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ev_slot *es = arg;
    int events = ((what & EV_READ) ? OFFHEAP_EV_READ : 0) |
                 ((what & EV_WRITE) ? OFFHEAP_EV_WRITE : 0);

    (void)fd;
    offheap_async_on_io(es->ad->ac, es->slot, events);
}

static void
ev_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ev_slot *es = arg;

    (void)fd;
    (void)what;
    offheap_async_on_timer(es->ad->ac, es->slot);
}

static void
ev_watch(void *data, size_t slot, int fd, int events)
{
    struct ev_slot *es = ev_slot_get(data, slot);
    short what = EV_PERSIST;

    if (es == NULL) {
        return;
    }
    if (es->io != NULL) {
        event_free(es->io);
        es->io = NULL;
    }
    if (events == 0) {
        return;
    }
    what |= (events & OFFHEAP_EV_READ) ? EV_READ : 0;
    what |= (events & OFFHEAP_EV_WRITE) ? EV_WRITE : 0;
    es->io = event_new(es->ad->base, fd, what, ev_io_cb, es);
    if (es->io != NULL) {
        event_add(es->io, NULL);
    }
}

static void
ev_timer(void *data, size_t slot, int ms)
{
    struct ev_slot *es = ev_slot_get(data, slot);
    struct timeval tv;

    if (es == NULL) {
        return;
    }
    if (es->tm == NULL) {
        es->tm = evtimer_new(es->ad->base, ev_timer_cb, es);
        if (es->tm == NULL) {
            return;
        }
    }
    if (ms < 0) {
        evtimer_del(es->tm);
        return;
    }
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    evtimer_add(es->tm, &tv);
}

static void
ev_release(void *data)
{
    struct ev_adapter *ad = data;

    for (size_t i = 0; i < ad->n; i++) {
        if (ad->slots[i] != NULL) {
            if (ad->slots[i]->io != NULL) {
                event_free(ad->slots[i]->io);
            }
            if (ad->slots[i]->tm != NULL) {
                event_free(ad->slots[i]->tm);
            }
            free(ad->slots[i]);
        }
    }
    free(ad->slots);
    free(ad);
}

offheap_async_t *
offheap_async_connect_with(struct event_base *base, const offheap_options_t *o)
{
    struct ev_adapter *ad = calloc(1, sizeof(*ad));
    offheap_loop_t loop = {ad, ev_watch, ev_timer, ev_release};
    offheap_async_t *ac;

    if (ad == NULL || base == NULL) {
        free(ad);
        return NULL;
    }
    ad->base = base;
    ac = offheap_async_create(&loop, o);
    if (ac == NULL) {
        ev_release(ad);
        return NULL;
    }
    ad->ac = ac;
    return ac;
}

offheap_async_t *
offheap_async_connect(struct event_base *base, const char *servers,
                      int timeout_ms)
{
    offheap_options_t o;

    offheap_options_init(&o);
    o.servers = servers;
    o.timeout_ms = timeout_ms;
    return offheap_async_connect_with(base, &o);
}

#endif /* OFFHEAP_NO_LIBEVENT */
