/* spawn.h: starts and stops a server for integration tests, and talks to it
 * over raw sockets where hiredis 0.14 cannot (RESP3, malformed input).
 *
 * spawn_start() runs $OFFHEAPD (default build/offheapd) on 127.0.0.1 with
 * an ephemeral port and waits until it answers PING. When OH_TEST_SERVER is
 * set to host:port, that running server is used instead and nothing is
 * spawned: tests then validate themselves against, say, a real
 * redis-server, and must skip what needs start-up options. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SPAWN_READY_MS 5000 /* ms to wait for PING after start */
#define SPAWN_STOP_MS  5000 /* ms to wait after SIGTERM before SIGKILL */

enum spawn_flavor {
    SPAWN_UNKNOWN, /* INFO could not be read (e.g. requirepass is set) */
    SPAWN_OFFHEAP, /* INFO server has an offheap_version field */
    SPAWN_REDIS,   /* INFO server has redis_version and no offheap field */
};

struct spawn_server {
    char host[64];
    int port;
    pid_t pid;    /* 0 when external (OH_TEST_SERVER) */
    char dir[64]; /* temp working directory of a spawned server */
    char log[96]; /* its stdout/stderr, dir/offheapd.log */
    enum spawn_flavor flavor;
    int major, minor; /* redis_version (or offheap_version) numbers */
    const char *exe;  /* BORROWED binary of a peer (spawn_start_exe), or
                         NULL: $OFFHEAPD */
};

/* Tells whether OH_TEST_SERVER names a server to use instead of spawning. */
bool spawn_external(void);

/* Starts a server with `extra` appended to its arguments (a NULL-terminated
 * list, or NULL), or fills `s` in from OH_TEST_SERVER (then `extra` is
 * ignored). Returns 0 when the server answers PING (or -NOAUTH), -1 on
 * failure after printing why and the server's log to stderr. */
int spawn_start(struct spawn_server *s, const char *const *extra);

/* Starts the binary `exe` (e.g. /usr/bin/redis-server, which takes the
 * same --port --bind --dir arguments) as spawn_start() would, even when
 * OH_TEST_SERVER is set: a peer for tests that move data between two
 * servers. `exe` must outlive `s`. Returns as spawn_start(). */
int spawn_start_exe(struct spawn_server *s, const char *exe,
                    const char *const *extra);

/* Stops a spawned server with SIGTERM (SIGKILL after SPAWN_STOP_MS) and
 * removes its temp directory; does nothing for an external server. Returns
 * 0 if the server exited cleanly (status 0 or killed by SIGTERM), -1 if it
 * had died, crashed, exited non-zero or had to be killed. */
int spawn_stop(struct spawn_server *s);

/* Tells whether a spawned server is still running (external: true). */
bool spawn_alive(struct spawn_server *s);

/* Tells whether the server is offheapd / real Redis, as INFO showed. */
bool spawn_is_offheap(const struct spawn_server *s);
bool spawn_is_redis(const struct spawn_server *s);

/* ---- raw sockets ---- */

/* A raw connection with its own receive buffer. */
struct raw_conn {
    int fd;
    char *buf; /* received, not yet consumed bytes */
    size_t len, cap;
    bool closed; /* EOF or reset seen */
};

/* Connects with TCP_NODELAY. `rcvbuf` > 0 sets SO_RCVBUF first (to keep the
 * kernel from absorbing a large reply). Returns an OWNED connection (release
 * with raw_close()) or NULL. */
struct raw_conn *raw_open(const char *host, int port, int rcvbuf);
/* Connects to a Unix socket; as raw_open(). */
struct raw_conn *raw_open_unix(const char *path);
/* Closes and frees *rc and sets it to NULL; NULL is a no-op. */
void raw_close(struct raw_conn **rc);

/* Sends all of buf. Returns 0, or -1 if the peer closed or reset. */
int raw_send(struct raw_conn *rc, const void *buf, size_t len);
/* Sends a C string. */
int raw_sends(struct raw_conn *rc, const char *s);

/* Reads until at least `want` bytes are buffered, the peer closes or
 * `timeout_ms` passes. Returns the number of bytes buffered. */
size_t raw_fill(struct raw_conn *rc, size_t want, int timeout_ms);

/* Waits for one complete RESP2/RESP3 reply and consumes it. Returns an
 * OWNED NUL-terminated copy (free() it) and its length in *len, or NULL on
 * timeout, close or unparsable input. */
char *raw_reply(struct raw_conn *rc, int timeout_ms, size_t *len);

/* Reads and discards input until the peer closes. Returns true if it closed
 * (EOF or reset) within timeout_ms; *discarded (if not NULL) gets the number
 * of bytes discarded, including those already buffered. */
bool raw_wait_closed(struct raw_conn *rc, int timeout_ms, size_t *discarded);

/* Returns the length of the complete RESP2/RESP3 value at p[0..len), 0 if
 * incomplete, -1 if it is not valid RESP. */
ssize_t resp_value_len(const char *p, size_t len);

/* Milliseconds on a monotonic clock. */
long long spawn_now_ms(void);
/* Sleeps for ms milliseconds. */
void spawn_sleep_ms(int ms);
