/*
 * binding.c -- the Node-API binding of liboffheap.
 *
 * Async calls run on Node's own libuv loop, on the JS thread, and never
 * block it: liboffheap's async handle gets a libuv adapter (one uv_poll_t
 * and one uv_timer_t per server) through offheap_loop_t. A call formats its
 * command into the connection's buffer and returns a Promise; the poll
 * handle writes everything buffered in this tick in one go, reads replies
 * and settles the Promises inside a callback scope, so microtasks run as
 * they do after any I/O callback. No thread pool, no locks, no copies of
 * values beyond the one into the socket buffer.
 *
 * getSync/setSync/delSync use a second, blocking liboffheap handle
 * (created on first use): a round trip on a local Unix socket costs tens
 * of µs, cheap enough to stand in for a Map where a caller cannot await.
 *
 * Local reads: with a Unix-socket server (and localReads not false),
 * get and getSync first read the key from offheapd's shared mapping
 * through that handle (offheap_get_local), making the JS string or Buffer
 * straight from the mapping: one copy, no syscall; get's Promise is then
 * already settled, so its reactions run in this tick's microtasks. What
 * the mapping cannot answer (a large value, a loading or restarted
 * server) goes over the socket as before.
 *
 * Lifetime: struct client lives until both the JS wrapper is finalized and
 * every uv handle has been closed (uv_close is itself asynchronous);
 * `holds` counts those owners. Handles are unref'd while no Promise is
 * pending, so an idle client does not keep the process alive.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include "offheap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STACK_STR   256 /* bytes of a key or value converted on the stack */
#define MAX_SERVERS 256 /* as OFFHEAP_MAX_SERVERS */

struct client;

/* One server's libuv handles. */
struct uvslot {
    uv_poll_t *poll;   /* OWNED until its close callback, or NULL */
    uv_timer_t *timer; /* idem */
    int fd;
    struct client *cl;
    size_t index;
};

struct client {
    napi_env env;
    offheap_async_t *ac; /* OWNED; NULL after close */
    offheap_t *sync;     /* OWNED, created by the first *Sync call */
    offheap_options_t o; /* strings below are OWNED */
    char *servers, *password, *prefix;
    uv_loop_t *loop;
    struct uvslot slots[MAX_SERVERS];
    napi_async_context actx;
    napi_ref resource;
    size_t inflight; /* Promises not settled yet */
    int holds;       /* JS wrapper + open uv handles */
    bool local;      /* Unix-socket servers: GETs try the shared mapping */
};

/* How a reply becomes a JS value. */
enum kind {
    K_GET, /* string, Buffer or null */
    K_SET, /* true if stored, false if NX/XX said no */
    K_RAW, /* the reply as it is: string, number, array, null */
};

/* One pending Promise. */
struct req {
    struct client *cl;
    napi_deferred d;
    int kind;
    bool buffer; /* resolve strings as Buffers */
};

/* ---- lifetime ---- */

static void
release_hold(struct client *cl)
{
    if (--cl->holds > 0) {
        return;
    }
    offheap_close(cl->sync);
    free(cl->servers);
    free(cl->password);
    free(cl->prefix);
    free(cl);
}

static void
on_handle_closed(uv_handle_t *h)
{
    struct uvslot *s = h->data;

    free(h);
    release_hold(s->cl);
}

static void
close_handle(uv_handle_t *h)
{
    if (h != NULL) {
        uv_close(h, on_handle_closed);
    }
}

static void
apply_ref(struct client *cl, uv_handle_t *h)
{
    if (cl->inflight > 0) {
        uv_ref(h);
    } else {
        uv_unref(h);
    }
}

static void
set_inflight(struct client *cl, size_t n)
{
    bool was = cl->inflight > 0;

    cl->inflight = n;
    if (was == (n > 0)) {
        return;
    }
    for (size_t i = 0; i < MAX_SERVERS; i++) {
        if (cl->slots[i].poll != NULL) {
            apply_ref(cl, (uv_handle_t *)cl->slots[i].poll);
        }
        if (cl->slots[i].timer != NULL) {
            apply_ref(cl, (uv_handle_t *)cl->slots[i].timer);
        }
    }
}

/* ---- the libuv adapter ---- */

/* Runs liboffheap's handler inside a callback scope, so settled Promises
 * run their continuations when it closes. */
static void
enter_js(struct client *cl, size_t slot, int events, bool timer)
{
    napi_handle_scope hs;
    napi_callback_scope cs;
    napi_value res;

    if (cl->ac == NULL) {
        return;
    }
    napi_open_handle_scope(cl->env, &hs);
    napi_get_reference_value(cl->env, cl->resource, &res);
    napi_open_callback_scope(cl->env, res, cl->actx, &cs);
    if (timer) {
        offheap_async_on_timer(cl->ac, slot);
    } else {
        offheap_async_on_io(cl->ac, slot, events);
    }
    napi_close_callback_scope(cl->env, cs);
    napi_close_handle_scope(cl->env, hs);
}

static void
on_poll(uv_poll_t *h, int status, int uvev)
{
    struct uvslot *s = h->data;
    int events;

    if (status < 0) {
        events = OFFHEAP_EV_READ | OFFHEAP_EV_WRITE; /* let the I/O fail */
    } else {
        events = ((uvev & UV_READABLE) ? OFFHEAP_EV_READ : 0) |
                 ((uvev & UV_WRITABLE) ? OFFHEAP_EV_WRITE : 0);
    }
    enter_js(s->cl, s->index, events, false);
}

static void
on_timer(uv_timer_t *h)
{
    struct uvslot *s = h->data;

    enter_js(s->cl, s->index, 0, true);
}

static void
loop_watch(void *data, size_t slot, int fd, int events)
{
    struct client *cl = data;
    struct uvslot *s = &cl->slots[slot];
    int uvev = ((events & OFFHEAP_EV_READ) ? UV_READABLE : 0) |
               ((events & OFFHEAP_EV_WRITE) ? UV_WRITABLE : 0);

    if (s->poll != NULL && (events == 0 || s->fd != fd)) {
        uv_poll_stop(s->poll);
        close_handle((uv_handle_t *)s->poll);
        s->poll = NULL;
    }
    if (events == 0) {
        return;
    }
    if (s->poll == NULL) {
        s->poll = malloc(sizeof(*s->poll));
        if (s->poll == NULL || uv_poll_init(cl->loop, s->poll, fd) != 0) {
            free(s->poll);
            s->poll = NULL;
            return;
        }
        s->poll->data = s;
        s->fd = fd;
        cl->holds++;
        apply_ref(cl, (uv_handle_t *)s->poll);
    }
    uv_poll_start(s->poll, uvev, on_poll);
}

static void
loop_timer(void *data, size_t slot, int ms)
{
    struct client *cl = data;
    struct uvslot *s = &cl->slots[slot];

    if (s->timer == NULL) {
        if (ms < 0) {
            return;
        }
        s->timer = malloc(sizeof(*s->timer));
        if (s->timer == NULL || uv_timer_init(cl->loop, s->timer) != 0) {
            free(s->timer);
            s->timer = NULL;
            return;
        }
        s->timer->data = s;
        cl->holds++;
        apply_ref(cl, (uv_handle_t *)s->timer);
    }
    if (ms < 0) {
        uv_timer_stop(s->timer);
    } else {
        uv_timer_start(s->timer, on_timer, (uint64_t)ms, 0);
    }
}

static void
loop_release(void *data)
{
    struct client *cl = data;

    for (size_t i = 0; i < MAX_SERVERS; i++) {
        struct uvslot *s = &cl->slots[i];

        if (s->poll != NULL) {
            uv_poll_stop(s->poll);
            close_handle((uv_handle_t *)s->poll);
            s->poll = NULL;
        }
        if (s->timer != NULL) {
            uv_timer_stop(s->timer);
            close_handle((uv_handle_t *)s->timer);
            s->timer = NULL;
        }
    }
}

/* ---- JS values ---- */

/* A key or value from JS: a string (as UTF-8), a number, or a Buffer. */
struct bytes {
    const char *p;
    size_t len;
    char *heap; /* OWNED when the text did not fit in stack */
    char stack[STACK_STR];
};

static bool
get_bytes(napi_env env, napi_value v, struct bytes *b)
{
    bool isbuf = false;
    napi_valuetype t;
    size_t len = 0;
    char *dst;

    b->heap = NULL;
    napi_is_buffer(env, v, &isbuf);
    if (isbuf) {
        void *data = NULL;

        napi_get_buffer_info(env, v, &data, &b->len);
        b->p = data != NULL ? data : "";
        return true;
    }
    napi_typeof(env, v, &t);
    if (t == napi_number) {
        napi_coerce_to_string(env, v, &v);
    } else if (t != napi_string) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                              "keys and values must be strings or Buffers");
        return false;
    }
    napi_get_value_string_utf8(env, v, NULL, 0, &len);
    dst = len < STACK_STR ? b->stack : (b->heap = malloc(len + 1));
    if (dst == NULL) {
        napi_throw_error(env, "ENOMEM", "out of memory");
        return false;
    }
    napi_get_value_string_utf8(env, v, dst, len + 1, &b->len);
    b->p = dst;
    return true;
}

static void
bytes_free(struct bytes *b)
{
    free(b->heap);
    b->heap = NULL;
}

/* The name of an offheap_rc: "OFFHEAP_TIMEOUT" for OFFHEAP_ERR_TIMEOUT. */
static const char *
rc_name(int rc)
{
    switch (rc) {
#define X(name, code, msg)                                                     \
    case (code):                                                               \
        return "OFFHEAP_" #name;
        OFFHEAP_ERRORS(X)
#undef X
    default:
        return "OFFHEAP_ERR";
    }
}

/* The JS function (code, message, rc) -> Error given by setErrorFactory(),
 * which makes the Error subclasses of index.js; per environment. */
struct addon {
    napi_ref make_error;
};

static void
addon_free(napi_env env, void *data, void *hint)
{
    struct addon *a = data;

    (void)hint;
    if (a->make_error != NULL) {
        napi_delete_reference(env, a->make_error);
    }
    free(a);
}

static napi_value
make_error(napi_env env, int status, const char *msg)
{
    napi_value m, code, rc, err = NULL, fn, global;
    struct addon *a = NULL;

    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
    napi_create_string_utf8(env, rc_name(status), NAPI_AUTO_LENGTH, &code);
    napi_create_int32(env, status, &rc);
    napi_get_instance_data(env, (void **)&a);
    if (a != NULL && a->make_error != NULL &&
        napi_get_reference_value(env, a->make_error, &fn) == napi_ok &&
        fn != NULL) {
        napi_value argv[3] = {code, m, rc};

        napi_get_global(env, &global);
        if (napi_call_function(env, global, fn, 3, argv, &err) != napi_ok) {
            bool pending = false;
            napi_value ignored;

            napi_is_exception_pending(env, &pending);
            if (pending) {
                napi_get_and_clear_last_exception(env, &ignored);
            }
            err = NULL;
        }
    }
    if (err == NULL) {
        napi_create_error(env, code, m, &err);
    }
    return err;
}

/* setErrorFactory(fn) */
static napi_value
js_set_error_factory(napi_env env, napi_callback_info info)
{
    napi_value a[1];
    size_t argc = 1;
    struct addon *ad = NULL;

    napi_get_cb_info(env, info, &argc, a, NULL, NULL);
    napi_get_instance_data(env, (void **)&ad);
    if (ad == NULL) {
        ad = calloc(1, sizeof(*ad));
        if (ad == NULL ||
            napi_set_instance_data(env, ad, addon_free, NULL) != napi_ok) {
            free(ad);
            napi_throw_error(env, "ENOMEM", "out of memory");
            return NULL;
        }
    }
    if (ad->make_error != NULL) {
        napi_delete_reference(env, ad->make_error);
        ad->make_error = NULL;
    }
    if (argc >= 1) {
        napi_create_reference(env, a[0], 1, &ad->make_error);
    }
    return NULL;
}

static napi_value
str_value(napi_env env, const offheap_reply_t *r, bool buffer)
{
    napi_value v;

    if (buffer) {
        napi_create_buffer_copy(env, r->len, r->str, NULL, &v);
    } else {
        napi_create_string_utf8(env, r->str, r->len, &v);
    }
    return v;
}

static napi_value
raw_value(napi_env env, const offheap_reply_t *r, bool buffer)
{
    napi_value v;

    switch (r->type) {
    case OFFHEAP_REPLY_STRING:
        return str_value(env, r, buffer);
    case OFFHEAP_REPLY_STATUS:
        return str_value(env, r, false);
    case OFFHEAP_REPLY_INTEGER:
        napi_create_int64(env, r->integer, &v);
        return v;
    case OFFHEAP_REPLY_ARRAY:
        napi_create_array_with_length(env, r->elements, &v);
        for (size_t i = 0; i < r->elements; i++) {
            napi_set_element(env, v, (uint32_t)i,
                             raw_value(env, r->element[i], buffer));
        }
        return v;
    default:
        napi_get_null(env, &v);
        return v;
    }
}

static napi_value
reply_value(napi_env env, int kind, const offheap_reply_t *r, bool buffer)
{
    napi_value v;

    switch (kind) {
    case K_SET:
        napi_get_boolean(env, r->type == OFFHEAP_REPLY_STATUS, &v);
        return v;
    default:
        return raw_value(env, r, buffer);
    }
}

/* ---- async calls ---- */

static void
set_pending(struct client *cl, size_t n)
{
    if (cl->inflight == 0 && n > 0) {
        napi_reference_ref(cl->env, cl->resource, NULL);
    } else if (cl->inflight > 0 && n == 0) {
        napi_reference_unref(cl->env, cl->resource, NULL);
    }
    set_inflight(cl, n);
}

static void
on_reply(offheap_async_t *ac, int status, offheap_reply_t *r, void *arg)
{
    struct req *q = arg;
    napi_env env = q->cl->env;

    if (status != 0) {
        napi_reject_deferred(env, q->d,
                             make_error(env, status, offheap_async_errstr(ac)));
    } else if (r->type == OFFHEAP_REPLY_ERROR) {
        napi_reject_deferred(env, q->d,
                             make_error(env, OFFHEAP_ERR_SERVER, r->str));
    } else {
        napi_resolve_deferred(env, q->d,
                              reply_value(env, q->kind, r, q->buffer));
    }
    set_pending(q->cl, q->cl->inflight - 1);
    free(q);
}

/* Sends argv; returns a Promise settled by on_reply. */
static napi_value
submit(napi_env env, struct client *cl, int kind, bool buffer, int argc,
       const char *const *argv, const size_t *lens, int key_index)
{
    napi_value promise;
    struct req *q = malloc(sizeof(*q));
    int rc;

    if (q == NULL) {
        napi_throw_error(env, "ENOMEM", "out of memory");
        return NULL;
    }
    napi_create_promise(env, &q->d, &promise);
    q->cl = cl;
    q->kind = kind;
    q->buffer = buffer;
    if (cl->ac == NULL) {
        napi_reject_deferred(
            env, q->d, make_error(env, OFFHEAP_ERR_CLOSED, "client is closed"));
        free(q);
        return promise;
    }
    set_pending(cl, cl->inflight + 1);
    rc = offheap_async_command_argv(cl->ac, argc, argv, lens, key_index,
                                    on_reply, q);
    if (rc != 0) {
        napi_reject_deferred(env, q->d,
                             make_error(env, rc, offheap_async_errstr(cl->ac)));
        set_pending(cl, cl->inflight - 1);
        free(q);
    }
    return promise;
}

/* Reads up to n arguments and the client of argument 0. */
static struct client *
args(napi_env env, napi_callback_info info, size_t n, napi_value *argv)
{
    size_t argc = n;
    void *cl = NULL;

    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    for (size_t i = argc; i < n; i++) {
        napi_get_undefined(env, &argv[i]);
    }
    if (napi_unwrap(env, argv[0], &cl) != napi_ok || cl == NULL) {
        napi_throw_type_error(env, NULL, "not an offheap client");
        return NULL;
    }
    return cl;
}

static bool
get_bool(napi_env env, napi_value v)
{
    bool b = false;

    napi_get_value_bool(env, v, &b);
    return b;
}

static int64_t
get_int(napi_env env, napi_value v)
{
    int64_t n = 0;

    napi_get_value_int64(env, v, &n);
    return n;
}

static int local_get(napi_env env, struct client *cl, const struct bytes *k,
                     bool buffer, napi_value *v);

/* get(h, key, buffer) */
static napi_value
js_get(napi_env env, napi_callback_info info)
{
    napi_value a[3], p;
    struct client *cl = args(env, info, 3, a);
    struct bytes k;

    if (cl == NULL || !get_bytes(env, a[1], &k)) {
        return NULL;
    }
    napi_value v;
    if (local_get(env, cl, &k, get_bool(env, a[2]), &v) >= 0) {
        /* settled now: its reactions run in this tick's microtasks */
        napi_deferred d;
        bytes_free(&k);
        napi_create_promise(env, &d, &p);
        napi_resolve_deferred(env, d, v);
        return p;
    }
    const char *argv[2] = {"GET", k.p};
    size_t lens[2] = {3, k.len};
    p = submit(env, cl, K_GET, get_bool(env, a[2]), 2, argv, lens, 1);
    bytes_free(&k);
    return p;
}

/* Formats SET key value [PX ttl] [NX|XX] into argv; returns argc. */
static int
set_argv(const struct bytes *k, const struct bytes *v, int64_t ttl, int cond,
         char *ttlbuf, const char **argv, size_t *lens)
{
    int argc = 3;

    argv[0] = "SET";
    lens[0] = 3;
    argv[1] = k->p;
    lens[1] = k->len;
    argv[2] = v->p;
    lens[2] = v->len;
    if (ttl > 0) {
        argv[argc] = "PX";
        lens[argc++] = 2;
        argv[argc] = ttlbuf;
        lens[argc++] = (size_t)snprintf(ttlbuf, 24, "%lld", (long long)ttl);
    }
    if (cond != 0) {
        argv[argc] = cond == OFFHEAP_NX ? "NX" : "XX";
        lens[argc++] = 2;
    }
    return argc;
}

/* set(h, key, value, ttlMs, cond) with cond 0, OFFHEAP_NX or OFFHEAP_XX */
static napi_value
js_set(napi_env env, napi_callback_info info)
{
    napi_value a[5], p = NULL;
    struct client *cl = args(env, info, 5, a);
    struct bytes k, v;
    const char *argv[6];
    size_t lens[6];
    char ttl[24];

    if (cl == NULL || !get_bytes(env, a[1], &k)) {
        return NULL;
    }
    if (get_bytes(env, a[2], &v)) {
        int argc = set_argv(&k, &v, get_int(env, a[3]), (int)get_int(env, a[4]),
                            ttl, argv, lens);

        p = submit(env, cl, K_SET, false, argc, argv, lens, 1);
        bytes_free(&v);
    }
    bytes_free(&k);
    return p;
}

/* command(h, [name, args...], keyIndex, buffer) */
static napi_value
js_command(napi_env env, napi_callback_info info)
{
    napi_value a[4], p = NULL;
    struct client *cl = args(env, info, 4, a);
    uint32_t n = 0;

    if (cl == NULL || napi_get_array_length(env, a[1], &n) != napi_ok ||
        n == 0 || n > 4096) {
        if (cl != NULL) {
            napi_throw_type_error(env, NULL, "want a non-empty array");
        }
        return NULL;
    }
    struct bytes *b = calloc(n, sizeof(*b));
    const char **argv = calloc(n, sizeof(*argv));
    size_t *lens = calloc(n, sizeof(*lens));
    uint32_t got = 0;

    for (; b != NULL && argv != NULL && lens != NULL && got < n; got++) {
        napi_value e;

        napi_get_element(env, a[1], got, &e);
        if (!get_bytes(env, e, &b[got])) {
            break;
        }
        argv[got] = b[got].p;
        lens[got] = b[got].len;
    }
    if (got == n) {
        p = submit(env, cl, K_RAW, get_bool(env, a[3]), (int)n, argv, lens,
                   (int)get_int(env, a[2]));
    }
    for (uint32_t i = 0; b != NULL && i < got; i++) {
        bytes_free(&b[i]);
    }
    free(b);
    free(argv);
    free(lens);
    return p;
}

/* ---- sync calls ---- */

static offheap_t *
sync_handle(napi_env env, struct client *cl)
{
    if (cl->ac == NULL) {
        napi_throw(env,
                   make_error(env, OFFHEAP_ERR_CLOSED, "client is closed"));
        return NULL;
    }
    if (cl->sync == NULL) {
        cl->sync = offheap_connect_with(&cl->o);
        if (cl->sync == NULL) {
            napi_throw_error(env, "ENOMEM", "out of memory");
        }
    }
    return cl->sync;
}

static napi_value
throw_sync(napi_env env, offheap_t *c, int rc)
{
    napi_throw(env, make_error(env, rc, offheap_errstr(c)));
    return NULL;
}

/* ---- local reads ---- */

/* The JS value a local read makes straight from the mapping (one copy). */
struct local_out {
    napi_env env;
    bool buffer;
    napi_value v;
};

static int
local_copy(void *arg, const char *val, size_t vlen)
{
    struct local_out *o = arg;
    napi_status st =
        o->buffer ? napi_create_buffer_copy(o->env, vlen, val, NULL, &o->v)
                  : napi_create_string_utf8(o->env, val, vlen, &o->v);
    return st == napi_ok ? 0 : OFFHEAP_ERR_NOMEM;
}

/* Reads key from the server's shared mapping when the client may: 1 with
 * *v set, 0 on a miss, or OFFHEAP_ERR_NOLOCAL (ask the server; any other
 * failure is left for that path to report). */
static int
local_get(napi_env env, struct client *cl, const struct bytes *k, bool buffer,
          napi_value *v)
{
    if (!cl->local || cl->ac == NULL) {
        return OFFHEAP_ERR_NOLOCAL;
    }
    offheap_t *c = sync_handle(env, cl);
    if (c == NULL) {
        return OFFHEAP_ERR_NOLOCAL;
    }
    struct local_out o = {env, buffer, NULL};
    int rc = offheap_get_local(c, k->p, k->len, local_copy, &o);
    if (rc == 1) {
        *v = o.v;
    } else if (rc == 0) {
        napi_get_null(env, v);
    } else {
        offheap_clear_err(c);
        rc = OFFHEAP_ERR_NOLOCAL;
    }
    return rc;
}

/* getSync(h, key, buffer) */
static napi_value
js_get_sync(napi_env env, napi_callback_info info)
{
    napi_value a[3], v;
    struct client *cl = args(env, info, 3, a);
    offheap_t *c = cl != NULL ? sync_handle(env, cl) : NULL;
    struct bytes k;
    void *val = NULL;
    size_t vlen = 0;

    if (c == NULL || !get_bytes(env, a[1], &k)) {
        return NULL;
    }
    if (local_get(env, cl, &k, get_bool(env, a[2]), &v) >= 0) {
        bytes_free(&k);
        return v;
    }
    int rc = offheap_get(c, k.p, k.len, &val, &vlen);
    bytes_free(&k);
    if (rc < 0) {
        return throw_sync(env, c, rc);
    }
    if (rc == 0) {
        napi_get_null(env, &v);
    } else {
        offheap_reply_t r = {
            .type = OFFHEAP_REPLY_STRING, .str = val, .len = vlen};

        v = str_value(env, &r, get_bool(env, a[2]));
    }
    offheap_free_value(val);
    return v;
}

/* setSync(h, key, value, ttlMs) */
static napi_value
js_set_sync(napi_env env, napi_callback_info info)
{
    napi_value a[4];
    struct client *cl = args(env, info, 4, a);
    offheap_t *c = cl != NULL ? sync_handle(env, cl) : NULL;
    struct bytes k, v;
    int rc = 0;

    if (c == NULL || !get_bytes(env, a[1], &k)) {
        return NULL;
    }
    if (!get_bytes(env, a[2], &v)) {
        bytes_free(&k);
        return NULL;
    }
    rc = offheap_set(c, k.p, k.len, v.p, v.len, get_int(env, a[3]));
    bytes_free(&k);
    bytes_free(&v);
    return rc < 0 ? throw_sync(env, c, rc) : NULL;
}

/* delSync(h, key) */
static napi_value
js_del_sync(napi_env env, napi_callback_info info)
{
    napi_value a[2], v;
    struct client *cl = args(env, info, 2, a);
    offheap_t *c = cl != NULL ? sync_handle(env, cl) : NULL;
    struct bytes k;

    if (c == NULL || !get_bytes(env, a[1], &k)) {
        return NULL;
    }
    int rc = offheap_del(c, k.p, k.len);
    bytes_free(&k);
    if (rc < 0) {
        return throw_sync(env, c, rc);
    }
    napi_get_boolean(env, rc > 0, &v);
    return v;
}

/* ---- create and close ---- */

static void
close_client(struct client *cl)
{
    offheap_async_t *ac = cl->ac;

    if (ac != NULL) {
        offheap_async_close(ac); /* pending Promises reject, then release */
        cl->ac = NULL;
    }
}

/* Frees what lives in the JS engine; only while env is alive (the uv close
 * callbacks may run after the environment is gone, at exit). */
static void
drop_js(struct client *cl)
{
    if (cl->actx != NULL) {
        napi_async_destroy(cl->env, cl->actx);
        cl->actx = NULL;
    }
    if (cl->resource != NULL) {
        napi_delete_reference(cl->env, cl->resource);
        cl->resource = NULL;
    }
}

static void
finalize(napi_env env, void *data, void *hint)
{
    struct client *cl = data;

    (void)env;
    (void)hint;
    close_client(cl);
    drop_js(cl);
    release_hold(cl);
}

static char *
opt_string(napi_env env, napi_value obj, const char *name)
{
    napi_value v;
    napi_valuetype t;
    size_t len = 0;
    char *s;

    if (napi_get_named_property(env, obj, name, &v) != napi_ok ||
        napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
        return NULL;
    }
    napi_get_value_string_utf8(env, v, NULL, 0, &len);
    s = malloc(len + 1);
    if (s != NULL) {
        napi_get_value_string_utf8(env, v, s, len + 1, &len);
    }
    return s;
}

static int
opt_int(napi_env env, napi_value obj, const char *name, int def)
{
    napi_value v;
    napi_valuetype t;
    int32_t n = def;

    if (napi_get_named_property(env, obj, name, &v) == napi_ok &&
        napi_typeof(env, v, &t) == napi_ok && t == napi_number) {
        napi_get_value_int32(env, v, &n);
    }
    return n;
}

/* True unless obj.name is the boolean false. */
static bool
opt_not_false(napi_env env, napi_value obj, const char *name)
{
    napi_value v;
    napi_valuetype t;
    bool b = true;

    if (napi_get_named_property(env, obj, name, &v) == napi_ok &&
        napi_typeof(env, v, &t) == napi_ok && t == napi_boolean) {
        napi_get_value_bool(env, v, &b);
    }
    return b;
}

static bool
init_client(napi_env env, struct client *cl, napi_value opts)
{
    offheap_loop_t loop = {cl, loop_watch, loop_timer, loop_release};
    napi_value name;

    cl->env = env;
    napi_get_uv_event_loop(env, &cl->loop);
    offheap_options_init(&cl->o);
    cl->servers = opt_string(env, opts, "servers");
    cl->password = opt_string(env, opts, "password");
    cl->prefix = opt_string(env, opts, "prefix");
    cl->o.servers = cl->servers;
    cl->o.password = cl->password;
    cl->o.prefix = cl->prefix;
    cl->o.timeout_ms = opt_int(env, opts, "timeout", OFFHEAP_TIMEOUT_MS);
    cl->o.db = opt_int(env, opts, "db", 0);
    cl->o.hash = opt_int(env, opts, "hash", OFFHEAP_HASH_FNV1A_64);
    cl->local = cl->servers != NULL && strstr(cl->servers, "unix:") != NULL &&
                opt_not_false(env, opts, "localReads");
    cl->o.local_reads = cl->local ? OFFHEAP_LOCAL_AUTO : OFFHEAP_LOCAL_OFF;
    for (size_t i = 0; i < MAX_SERVERS; i++) {
        cl->slots[i].cl = cl;
        cl->slots[i].index = i;
    }
    napi_create_string_utf8(env, "offheap", NAPI_AUTO_LENGTH, &name);
    if (napi_async_init(env, NULL, name, &cl->actx) != napi_ok) {
        return false;
    }
    cl->ac = offheap_async_create(&loop, &cl->o);
    return cl->ac != NULL;
}

/* create({servers, timeout, password, db, prefix, hash}) */
static napi_value
js_create(napi_env env, napi_callback_info info)
{
    napi_value a[1], obj;
    size_t argc = 1;
    struct client *cl = calloc(1, sizeof(*cl));

    napi_get_cb_info(env, info, &argc, a, NULL, NULL);
    if (cl == NULL) {
        napi_throw_error(env, "ENOMEM", "out of memory");
        return NULL;
    }
    cl->holds = 1;
    if (argc < 1 || !init_client(env, cl, a[0])) {
        napi_throw(env, make_error(env, OFFHEAP_ERR_INVAL,
                                   "bad servers (want host:port, unix:/path "
                                   "or a comma-separated list)"));
        close_client(cl);
        drop_js(cl);
        release_hold(cl);
        return NULL;
    }
    napi_create_object(env, &obj);
    napi_wrap(env, obj, cl, finalize, NULL, NULL);
    napi_create_reference(env, obj, 0, &cl->resource);
    return obj;
}

/* close(h) */
static napi_value
js_close(napi_env env, napi_callback_info info)
{
    napi_value a[1];
    struct client *cl = args(env, info, 1, a);

    if (cl != NULL) {
        close_client(cl);
        offheap_close(cl->sync);
        cl->sync = NULL;
    }
    return NULL;
}

/* serverOf(h, key): the index of the server key is routed to */
static napi_value
js_server_of(napi_env env, napi_callback_info info)
{
    napi_value a[2], v;
    struct client *cl = args(env, info, 2, a);
    struct bytes k;

    if (cl == NULL || cl->ac == NULL || !get_bytes(env, a[1], &k)) {
        return NULL;
    }
    napi_create_uint32(
        env, (uint32_t)offheap_async_server_of(cl->ac, k.p, k.len), &v);
    bytes_free(&k);
    return v;
}

static napi_value
init(napi_env env, napi_value exports)
{
    napi_property_descriptor props[] = {
        {"create", NULL, js_create, NULL, NULL, NULL, napi_default, NULL},
        {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
        {"get", NULL, js_get, NULL, NULL, NULL, napi_default, NULL},
        {"set", NULL, js_set, NULL, NULL, NULL, napi_default, NULL},
        {"command", NULL, js_command, NULL, NULL, NULL, napi_default, NULL},
        {"getSync", NULL, js_get_sync, NULL, NULL, NULL, napi_default, NULL},
        {"setSync", NULL, js_set_sync, NULL, NULL, NULL, napi_default, NULL},
        {"delSync", NULL, js_del_sync, NULL, NULL, NULL, napi_default, NULL},
        {"serverOf", NULL, js_server_of, NULL, NULL, NULL, napi_default, NULL},
        {"setErrorFactory", NULL, js_set_error_factory, NULL, NULL, NULL,
         napi_default, NULL},
    };

    napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]),
                           props);
    return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
