/*
 * offheap_local.c -- local reads: GET from offheapd's shared mapping, with
 * no round trip, for handles connected over a Unix socket.
 *
 * After AUTH on a Unix-socket connection the handle sends LOCALREAD MAP
 * itself and takes the reply with recvmsg(2): two descriptors come with
 * it, the server's memory (read-only) and this connection's feedback
 * region (proto/shm.h). It maps both; a server that refuses (local reads
 * off, a TCP server, an older server) just leaves the handle on the
 * socket path.
 *
 * A read: shm_find() locates the entry, the value is copied, then
 * shm_still_valid() checks that nothing moved meanwhile; else it is read
 * again (RETRY_MAX times, then the socket answers). A found entry whose
 * access bits are not yet at their top is reported in the feedback ring,
 * so that the server counts the read for eviction; hits and misses are
 * counted there too, for INFO.
 *
 * Staleness: shm_find() reports SHM_STALE once the server stopped or died
 * (the header's state, the robust mutex); the mapping is then dropped with
 * the connection, and the next call reconnects and maps the new server.
 */
#define _GNU_SOURCE /* recvmsg, MSG_CMSG_CLOEXEC */
#include "offheap_int.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../proto/shm.h"

#define RETRY_MAX 64  /* reads of one key before the socket answers */
#define REPLY_MAX 128 /* bytes of LOCALREAD MAP's reply we accept */
#define FREQ_TOP  3u  /* access bits at which a hit needs no hint */

struct offheap_local {
    struct shm_map map;
    void *base;
    uint64_t bytes;
    struct shm_feedback *fb;
};

static const char MAP_CMD[] = "*2\r\n$9\r\nLOCALREAD\r\n$3\r\nMAP\r\n";

/* Reads the reply to LOCALREAD MAP into buf (NUL-terminated) with the
 * descriptors that come with it. Returns the number of descriptors taken
 * (0-2), or -1. */
static int
recv_reply(int fd, char *buf, size_t cap, int fds[2], int64_t deadline)
{
    size_t got = 0;
    int nfds = 0;
    for (;;) {
        char ctl[CMSG_SPACE(2 * sizeof(int))];
        struct iovec iov = {buf + got, cap - 1 - got};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = ctl,
                            .msg_controllen = sizeof(ctl)};
        if (got >= cap - 1) {
            return -1;
        }
        int wait = deadline < 0 ? -1 : (int)(deadline - offheap_now_ms());
        struct pollfd p = {fd, POLLIN, 0};
        if (wait < 0 && deadline >= 0) {
            return -1;
        }
        if (poll(&p, 1, wait) <= 0) {
            return -1;
        }
        ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        if (n <= 0) {
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
                continue;
            }
            return -1;
        }
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL;
             cm = CMSG_NXTHDR(&mh, cm)) {
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
                size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k; i++) {
                    int f;
                    memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                    if (nfds < 2) {
                        fds[nfds++] = f;
                    } else {
                        close(f);
                    }
                }
            }
        }
        got += (size_t)n;
        buf[got] = '\0';
        if (buf[0] != '*') {
            break; /* an error line: one line */
        }
        /* "*2\r\n:v\r\n:bytes\r\n": three lines */
        int lines = 0;
        for (size_t i = 0; i < got; i++) {
            lines += buf[i] == '\n';
        }
        if (lines >= 3) {
            break;
        }
    }
    return nfds;
}

/* Maps what LOCALREAD MAP sent. Returns the state, or NULL. */
static struct offheap_local *
map_fds(const int fds[2], uint64_t bytes)
{
    struct stat st;
    if (fstat(fds[0], &st) != 0 || (uint64_t)st.st_size != bytes) {
        return NULL;
    }
    struct offheap_local *l = calloc(1, sizeof(*l));
    if (l == NULL) {
        return NULL;
    }
    l->bytes = bytes;
    l->base =
        mmap(NULL, bytes, PROT_READ, MAP_SHARED | MAP_NORESERVE, fds[0], 0);
    void *fb = mmap(NULL, SHM_FEEDBACK_BYTES, PROT_READ | PROT_WRITE,
                    MAP_SHARED, fds[1], 0);
    if (l->base == MAP_FAILED || fb == MAP_FAILED ||
        shm_map_init(&l->map, l->base, bytes) != 0) {
        if (l->base != MAP_FAILED) {
            munmap(l->base, bytes);
        }
        if (fb != MAP_FAILED) {
            munmap(fb, SHM_FEEDBACK_BYTES);
        }
        free(l);
        return NULL;
    }
    l->fb = fb;
    return l;
}

int
offheap_local_attach(struct offheap_server *s, int64_t deadline)
{
    char buf[REPLY_MAX];
    int fds[2] = {-1, -1};
    unsigned long long ver = 0, bytes = 0;

    if (s->path == NULL || s->rc == NULL) {
        return 0;
    }
    ssize_t w = send(s->rc->fd, MAP_CMD, sizeof(MAP_CMD) - 1, MSG_NOSIGNAL);
    if (w != (ssize_t)sizeof(MAP_CMD) - 1) {
        return -1; /* the socket broke: the caller drops it */
    }
    int n = recv_reply(s->rc->fd, buf, sizeof(buf), fds, deadline);
    if (n < 0) {
        return -1;
    }
    if (n == 2 && sscanf(buf, "*2\r\n:%llu\r\n:%llu\r\n", &ver, &bytes) == 2 &&
        ver == SHM_VERSION) {
        s->local = map_fds(fds, bytes);
    }
    for (int i = 0; i < n; i++) {
        close(fds[i]);
    }
    return 0; /* refused or unusable: the socket serves */
}

void
offheap_local_detach(struct offheap_server *s)
{
    struct offheap_local *l = s->local;
    if (l == NULL) {
        return;
    }
    munmap(l->base, l->bytes);
    munmap(l->fb, SHM_FEEDBACK_BYTES);
    free(l);
    s->local = NULL;
}

static int64_t
realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reports a hit whose access bits can still rise. */
static void
hint(struct offheap_local *l, const struct shm_found *f)
{
    if (((f->slot & SHM_SLOT_FREQ_MASK) >> SHM_SLOT_FREQ_SHIFT) >= FREQ_TOP) {
        return;
    }
    struct shm_feedback *fb = l->fb;
    uint64_t h = atomic_load_explicit(&fb->head, memory_order_relaxed);
    fb->ring[h % SHM_RING].hash = f->hash;
    fb->ring[h % SHM_RING].slot = f->slot;
    atomic_store_explicit(&fb->head, h + 1, memory_order_release);
}

static void
count(struct offheap_local *l, bool hit)
{
    _Atomic uint64_t *n = hit ? &l->fb->hits : &l->fb->misses;
    atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

int
offheap_local_read(struct offheap_server *s, const char *key, size_t klen,
                   offheap_copy_fn *copy, void *arg)
{
    struct offheap_local *l = s->local;
    struct shm_found f;
    int64_t now = realtime_ms();
    for (int i = 0; i < RETRY_MAX; i++) {
        int rc = shm_find(&l->map, key, klen, now, &f);
        if (rc == SHM_MISS) {
            count(l, false);
            return 0;
        }
        if (rc == SHM_STALE) {
            return OFFHEAP_LOCAL_STALE;
        }
        if (rc == SHM_FALLBACK) {
            return OFFHEAP_LOCAL_SOCKET;
        }
        if (rc == SHM_HIT) {
            int crc = copy(arg, f.val, f.vlen);
            if (crc < 0) {
                return crc;
            }
            if (shm_still_valid(&l->map, &f)) {
                count(l, true);
                hint(l, &f);
                return 1;
            }
        }
    }
    return OFFHEAP_LOCAL_SOCKET; /* a change storm: ask the server */
}
