/*
 * localread.c -- local reads: the engine's memory handed to clients of the
 * Unix socket, and what they report back.
 *
 * LOCALREAD MAP, on a Unix-socket connection that passed AUTH, answers
 * `*2 :version :bytes` with two descriptors attached
 * (SCM_RIGHTS):
 *   1. the engine's memfd, reopened read-only through /proc/self/fd: the
 *      client can map it only PROT_READ and can neither resize it (it is
 *      sealed) nor punch holes in it;
 *   2. a fresh 64 KiB memfd of this client's own (struct shm_feedback),
 *      sealed against resizing, which the client writes and the server
 *      maps read-only: the hits it wants counted for eviction, and its
 *      hit/miss counters.
 * There is no name anywhere: whoever cannot use the socket (its mode,
 * unixsocketperm) or cannot AUTH cannot get the memory.
 *
 * The reply leaves by sendmsg(2) right away, outside the output queue, so
 * the descriptors arrive with its first byte; the command is refused when
 * other replies are still queued (the client sends it alone, after AUTH).
 *
 * Feedback: localread_cron() reads each region once a tick. The client is
 * not trusted: the ring's head is clamped to what could have been written
 * since the last drain, at most DRAIN_MAX hints are applied per client and
 * tick, and each hint only bumps the access bits of a slot that its hash's
 * chain really holds (engine_hint). Counters are taken as deltas; a
 * counter that goes backwards restarts the delta.
 */
#define _GNU_SOURCE /* memfd_create */
#include "localread.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cmd.h"
#include "conn.h"
#include "engine/engine.h"
#include "log.h"
#include "proto/shm.h"
#include "reply.h"
#include "snapshot.h"

#define DRAIN_MAX     1024         /* hints applied per client and tick */
#define DELTA_MAX     (1ull << 40) /* a counter's largest believable step */
#define LOCALREAD_VER SHM_VERSION

struct localread_stats localread_stats;

/* The feedback region of one client. */
struct localread_client {
    const struct shm_feedback *fb; /* mapped read-only */
    uint64_t tail;                 /* hints taken so far */
    uint64_t hits, misses;         /* counters seen at the last drain */
};

/* Returns a read-only descriptor of the engine's memfd, or -1. */
static int
reopen_readonly(int fd)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    return open(path, O_RDONLY | O_CLOEXEC);
}

/* Creates a client's feedback region. Returns its descriptor (to send)
 * and the server's read-only mapping in *out, or -1. */
static int
feedback_create(const struct shm_feedback **out)
{
    int fd = memfd_create("offheapd-feedback", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        return -1;
    }
    void *p = MAP_FAILED;
    if (ftruncate(fd, SHM_FEEDBACK_BYTES) == 0 &&
        fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) ==
            0) {
        p = mmap(NULL, SHM_FEEDBACK_BYTES, PROT_READ, MAP_SHARED, fd, 0);
    }
    if (p == MAP_FAILED) {
        close(fd);
        return -1;
    }
    *out = p;
    return fd;
}

/* Sends `msg` with descriptors fds[0..2) on c's socket. Returns 0 or -1. */
static int
send_with_fds(struct conn *c, const char *msg, size_t len, const int fds[2])
{
    char ctl[CMSG_SPACE(2 * sizeof(int))];
    memset(ctl, 0, sizeof(ctl));
    struct iovec iov = {(void *)msg, len};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = ctl,
                        .msg_controllen = sizeof(ctl)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
    memcpy(CMSG_DATA(cm), fds, 2 * sizeof(int));
    ssize_t n;
    do {
        n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0 || (size_t)n != len) {
        /* a socket that cannot take ~40 bytes at once: the client is gone
         * or misbehaves; half a reply would desynchronise it */
        conn_kill(c);
        return -1;
    }
    conn_stats.net_output_bytes += (uint64_t)n;
    return 0;
}

/* Why c may not map, or NULL. */
static const char *
refusal(const struct conn *c)
{
    if (!c->is_unix) {
        return "ERR LOCALREAD needs a Unix socket connection";
    }
    if (engine_share_fd() < 0) {
        return "ERR local reads are off (local-reads no, or no unixsocket)";
    }
    if (c->out_bytes > 0 || c->lr != NULL) {
        return c->lr != NULL
                   ? "ERR this connection already has a mapping"
                   : "ERR LOCALREAD MAP must be sent alone, not pipelined";
    }
    return NULL;
}

static void
localread_map(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    const char *why = refusal(c);
    if (why != NULL) {
        reply_error(c, why);
        return;
    }
    struct localread_client *lr = calloc(1, sizeof(*lr));
    int fds[2] = {reopen_readonly(engine_share_fd()), -1};
    if (lr == NULL || fds[0] < 0 || (fds[1] = feedback_create(&lr->fb)) < 0) {
        log_warn("localread: cannot share with client %" PRIu64 ": %s", c->id,
                 strerror(errno));
        if (fds[0] >= 0) {
            close(fds[0]);
        }
        free(lr);
        reply_error(c, "ERR cannot share memory with this client");
        return;
    }
    char msg[64];
    off_t bytes = lseek(fds[0], 0, SEEK_END);
    int len = snprintf(msg, sizeof(msg), "*2\r\n:%u\r\n:%lld\r\n",
                       LOCALREAD_VER, (long long)bytes);
    int rc = send_with_fds(c, msg, (size_t)len, fds);
    close(fds[0]);
    close(fds[1]);
    if (rc != 0) {
        munmap((void *)lr->fb, SHM_FEEDBACK_BYTES);
        free(lr);
        return;
    }
    c->lr = lr;
    localread_stats.maps++;
    localread_stats.clients++;
}

static void
localread_status(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    reply_map(c, 3);
    reply_bulk(c, "enabled", 7);
    reply_int(c, engine_share_fd() >= 0);
    reply_bulk(c, "mapped", 6);
    reply_int(c, c->lr != NULL);
    reply_bulk(c, "clients", 7);
    reply_int(c, (long long)localread_stats.clients);
}

static const struct cmd_sub localread_subs[] = {
    {"map", 2, localread_map, 0},
    {"status", 2, localread_status, 0},
    {NULL, 0, NULL, 0}};

void
cmd_localread(struct conn *c, const struct cmd_req *r)
{
    cmd_sub_dispatch(c, r, "localread", localread_subs);
}

/* ---- feedback ---- */

/* Adds the step of an untrusted counter since *seen to *total. */
static void
take_delta(uint64_t now, uint64_t *seen, uint64_t *total)
{
    if (now >= *seen && now - *seen <= DELTA_MAX) {
        *total += now - *seen;
    }
    *seen = now;
}

static void
drain(struct localread_client *lr)
{
    const struct shm_feedback *fb = lr->fb;
    uint64_t head = atomic_load_explicit(&fb->head, memory_order_acquire);
    if (head - lr->tail > SHM_RING) {
        lr->tail = head - SHM_RING; /* overwritten, or nonsense */
    }
    for (unsigned i = 0; i < DRAIN_MAX && lr->tail != head; i++) {
        const struct shm_hint *h = &fb->ring[lr->tail % SHM_RING];
        engine_hint(h->hash, h->slot);
        lr->tail++;
        localread_stats.hints++;
    }
    take_delta(atomic_load_explicit(&fb->hits, memory_order_relaxed), &lr->hits,
               &localread_stats.hits);
    take_delta(atomic_load_explicit(&fb->misses, memory_order_relaxed),
               &lr->misses, &localread_stats.misses);
}

void
localread_cron(oh_time now)
{
    (void)now;
    engine_share_ready(!snapshot_loading());
    if (localread_stats.clients == 0) {
        return; /* no walk over every connection for nothing */
    }
    for (struct conn *c = conn_first(); c != NULL; c = c->next) {
        if (c->lr != NULL) {
            drain(c->lr);
        }
    }
}

void
localread_resetstat(void)
{
    localread_stats.hits = localread_stats.misses = 0;
    localread_stats.hints = localread_stats.maps = 0;
}

void
localread_detach(struct conn *c)
{
    if (c->lr == NULL) {
        return;
    }
    drain(c->lr);
    munmap((void *)c->lr->fb, SHM_FEEDBACK_BYTES);
    free(c->lr);
    c->lr = NULL;
    localread_stats.clients--;
}
