/*
 * snapshot.c -- warm restart: the keyspace to a file and back.
 *
 * Problem: a cache that comes back empty after every restart (a deploy, a
 * kernel update, a crash) hammers its backend. offheapd writes its entries
 * with their absolute expiry to a snapshot on shutdown, on SAVE/BGSAVE and
 * every save-interval seconds, and reads it back at start.
 *
 * Layout (snapshot.h has the byte-level format):
 *
 *   [ header 32 B ][ E klen vlen exp key val ][ E ... ] ... [ END count crc ]
 *                  |<------------- CRC-32C covers everything up to crc -->|
 *
 * Save: engine_scan() lists the keys a batch at a time into `struct batch`
 * (the scan callback must not call into the engine), then engine_peek()
 * pins each one while its bytes are copied into a 4 MiB write buffer (the
 * index bucket of the key SNAP_AHEAD further is hinted to the engine
 * first, so the look-ups' cache misses overlap).
 * Values of 1 MiB or more are written straight from engine memory. The
 * file is "<path>.tmp-<pid>", fdatasync()ed, rename()d over <path>, and the
 * directory fsync()ed, so <path> is always a whole snapshot: the old one or
 * the new one. BGSAVE forks: the child sees a copy-on-write image of the
 * engine, writes it with the same code and _exit()s; it never touches
 * libevent, sockets or the notify socket, and its signals are reset so a
 * SIGTERM from systemd kills it. snapshot_poll_child() reaps it from the
 * tick.
 *
 * Load: the file is read() in 512 KiB blocks (no syscall per entry; a
 * block stays in the L2 cache while it is parsed, summed and copied); an
 * entry that straddles a block is moved to the front and the block
 * refilled, and the buffer grows for an entry larger than itself. The
 * header's key count goes to engine_reserve() (the index is sized once,
 * segments are pre-faulted) and each entry to engine_set(ENGINE_SET_LOAD)
 * (straight into the old generation) unless it expired meanwhile.
 *
 *   buf: [ consumed, summed | consumed | E E E E E E E E | E E ... ]
 *          crc_pos -------^      pos -^  hinted: ring --^ ahead
 *
 * The index insert is a cache miss or two per key (bucket, overflow
 * bucket), which stalled the load. hint_ahead() parses the headers of the
 * next SNAP_AHEAD entries already in the buffer and hands their key
 * hashes to engine_prefetch(), then the overflow bucket of the entry
 * SNAP_AHEAD_CHAIN ahead, so the misses of several inserts overlap; the
 * hash is kept in a ring and given to engine_set_hashed(), so each key is
 * hashed once (hashing was a quarter of a load of small values). The
 * CRC is taken every SNAP_CRC_BYTES of consumed entries, while they are
 * still cached, and runs three crc32 lanes in parallel (crc_lanes()).
 * Loading is incremental: snapshot_load_step() does a byte budget per
 * call, so the server listens, answers INFO (loading:1) and PING, and
 * refuses data commands with -LOADING until it is done.
 *
 * Measured (GB=1 tests/bench/restart.sh, 1 KB values, this 2-core VM):
 * about half of the load is the kernel faulting in segment pages
 * (MADV_POPULATE_WRITE, ~1 us per 4 KiB page: allocation, zeroing, memcg);
 * the rest is reading the file, the CRC, hashing and inserting.
 *
 * Invariants: the engine never keeps part of a bad file (any error flushes
 * it); a bad file is renamed aside (policy "empty") or left in place for an
 * operator (policy "refuse", the server exits EX_DATAERR); nothing is saved
 * at shutdown while a load is unfinished, so an interrupted start never
 * overwrites a good snapshot with a partial one.
 *
 * Cost: parsing and CRC run at several GB/s (CRC-32C uses the SSE4.2
 * instruction on three lanes when present, slicing-by-8 otherwise);
 * engine_set() and the page faults of new segments dominate.
 *
 * Rejected: mmap() of the file (with MAP_POPULATE it was ~3 % faster than
 * 512 KiB reads, not worth a SIGBUS if the file is truncated under us); an
 * 8 MiB read buffer (evicted from L2 before it is summed and copied: ~5 %
 * slower); loading segment images straight into engine segments (would
 * tie the file to the engine's item layout and segment size); a checksum
 * per entry (costs more, and one for the whole file detects the same
 * damage since we refuse the whole file anyway); verifying the checksum
 * before loading (a second pass over the data: the load budget is
 * 0.5 s/GB); writing the entry count in the header (it would have to be
 * patched after the scan, outside the CRC's single forward pass).
 */
#define _GNU_SOURCE /* pipe2 */
#include "snapshot.h"

#include "cmd.h"
#include "conn.h"
#include "engine/engine.h"
#include "ev.h"
#include "log.h"
#include "reply.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define SNAP_HAVE_SSE42 1
#endif

#define SNAP_WBUF_BYTES     (4u << 20)   /* bytes buffered before write() */
#define SNAP_DIRECT_BYTES   (1u << 20)   /* values this big bypass the buffer */
#define SNAP_RBUF_BYTES     (512u << 10) /* bytes read() per refill */
#define SNAP_CRC_BYTES      (64u << 10)  /* loaded bytes summed at a time */
#define SNAP_SCAN_COUNT     1024         /* index slots per engine_scan() */
#define SNAP_PROGRESS_BYTES (64u << 20)  /* bytes between progress calls */
#define SNAP_ENTRY_HDR_MAX  31           /* op byte + 3 varints of 10 */
#define SNAP_PATH_MAX       PATH_MAX
#define SNAP_RING           16 /* look-ahead ring (power of two) */
#define SNAP_AHEAD          8  /* entries whose index bucket is hinted */
#define SNAP_AHEAD_CHAIN    4  /* ... whose overflow bucket is hinted */

void (*snapshot_on_progress)(uint64_t done, uint64_t total);

const char *
snapshot_strerror(int rc)
{
    switch (rc) {
#define X(name, code, msg)                                                     \
    case (code):                                                               \
        return (msg);
        SNAPSHOT_ERRORS(X)
#undef X
    default:
        return "unknown snapshot error";
    }
}

/* ---- CRC-32C ---- */

#define CRC_POLY  0x82F63B78u /* Castagnoli, reflected */
#define CRC_LONG  8192        /* bytes per lane of a long 3-lane block */
#define CRC_SHORT 256         /* bytes per lane of a short 3-lane block */

static uint32_t crc_table[8][256];
/* crc_long[k][b]: the CRC register b << 8k advanced over CRC_LONG zero
 * bytes (crc_shift); crc_short likewise over CRC_SHORT */
static uint32_t crc_long[4][256], crc_short[4][256];
static int crc_hw = -1; /* -1: not probed yet */

/* Multiplies the GF(2) 32x32 matrix `m` (column i = image of bit i) by
 * the vector v. */
static uint32_t
gf2_times(const uint32_t m[32], uint32_t v)
{
    uint32_t sum = 0;
    for (int i = 0; v != 0; i++, v >>= 1) {
        sum ^= (v & 1) ? m[i] : 0;
    }
    return sum;
}

static void
gf2_square(uint32_t sq[32], const uint32_t m[32])
{
    for (int i = 0; i < 32; i++) {
        sq[i] = gf2_times(m, m[i]);
    }
}

/* Fills tab with the operator that advances a CRC register over `len`
 * zero bytes (len a power of two), split by byte for four look-ups. */
static void
crc_zeros_table(uint32_t tab[4][256], size_t len)
{
    uint32_t a[32], b[32];
    a[0] = CRC_POLY; /* one zero bit */
    for (int i = 1; i < 32; i++) {
        a[i] = 1u << (i - 1);
    }
    for (size_t bits = 1; bits < 8 * len; bits *= 2) {
        gf2_square(b, a);
        memcpy(a, b, sizeof(a));
    }
    for (uint32_t n = 0; n < 256; n++) {
        for (int k = 0; k < 4; k++) {
            tab[k][n] = gf2_times(a, n << (8 * k));
        }
    }
}

static void
crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ CRC_POLY : c >> 1;
        }
        crc_table[0][i] = c;
    }
    for (int t = 1; t < 8; t++) {
        for (int i = 0; i < 256; i++) {
            uint32_t prev = crc_table[t - 1][i];
            crc_table[t][i] = (prev >> 8) ^ crc_table[0][prev & 0xff];
        }
    }
    crc_zeros_table(crc_long, CRC_LONG);
    crc_zeros_table(crc_short, CRC_SHORT);
#ifdef SNAP_HAVE_SSE42
    __builtin_cpu_init();
    crc_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#else
    crc_hw = 0;
#endif
}

/* Slicing-by-8: eight table look-ups per 8 input bytes. */
static uint32_t
crc_soft(uint32_t c, const unsigned char *p, size_t n)
{
    while (n >= 8) {
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                           (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
            crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
            crc_table[3][p[4]] ^ crc_table[2][p[5]] ^ crc_table[1][p[6]] ^
            crc_table[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n-- > 0) {
        c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
    }
    return c;
}

#ifdef SNAP_HAVE_SSE42
/* Advances register c over the zero bytes `tab` was built for. */
static inline uint32_t
crc_shift(const uint32_t tab[4][256], uint32_t c)
{
    return tab[0][c & 0xff] ^ tab[1][(c >> 8) & 0xff] ^
           tab[2][(c >> 16) & 0xff] ^ tab[3][c >> 24];
}

static inline uint64_t
load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* Three independent lanes of `lane` bytes each, so three crc32
 * instructions are in flight (latency 3, throughput 1), then joined:
 * crc(A B) = shift_B(crc(A)) ^ crc_from_0(B). */
__attribute__((target("sse4.2"))) static uint32_t
crc_lanes(uint32_t c, const unsigned char **pp, size_t *np, size_t lane,
          const uint32_t tab[4][256])
{
    const unsigned char *p = *pp;
    size_t n = *np;
    for (; n >= 3 * lane; n -= 3 * lane, p += 2 * lane) {
        uint64_t c0 = c, c1 = 0, c2 = 0;
        for (const unsigned char *end = p + lane; p < end; p += 8) {
            c0 = _mm_crc32_u64(c0, load64(p));
            c1 = _mm_crc32_u64(c1, load64(p + lane));
            c2 = _mm_crc32_u64(c2, load64(p + 2 * lane));
        }
        c = crc_shift(tab, (uint32_t)c0) ^ (uint32_t)c1;
        c = crc_shift(tab, c) ^ (uint32_t)c2;
    }
    *pp = p;
    *np = n;
    return c;
}

__attribute__((target("sse4.2"))) static uint32_t
crc_sse42(uint32_t c, const unsigned char *p, size_t n)
{
    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        c = _mm_crc32_u8(c, *p++);
        n--;
    }
    c = crc_lanes(c, &p, &n, CRC_LONG, crc_long);
    c = crc_lanes(c, &p, &n, CRC_SHORT, crc_short);
    uint64_t c64 = c;
    for (; n >= 8; n -= 8, p += 8) {
        c64 = _mm_crc32_u64(c64, load64(p));
    }
    c = (uint32_t)c64;
    while (n-- > 0) {
        c = _mm_crc32_u8(c, *p++);
    }
    return c;
}
#endif

uint32_t
snapshot_crc32c(uint32_t crc, const void *p, size_t n)
{
    if (crc_hw < 0) {
        crc_init();
    }
    uint32_t c = ~crc;
#ifdef SNAP_HAVE_SSE42
    if (crc_hw) {
        return ~crc_sse42(c, p, n);
    }
#endif
    return ~crc_soft(c, p, n);
}

/* ---- little-endian integers and varints ---- */

static size_t
put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

/* Reads a varint from [*p, end). Returns 0 and advances *p, -1 if the
 * bytes end first, -2 if it is longer than 10 bytes. */
static int
get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (*p == end) {
            return -1;
        }
        unsigned char b = *(*p)++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (b < 0x80) {
            *v = x;
            return 0;
        }
    }
    return -2;
}

static void
put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static uint64_t
get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* ---- module state and statistics ---- */

static struct {
    bool ready;
    char file[SNAP_PATH_MAX]; /* "" disables snapshots */
    struct rule {
        uint64_t seconds, changes;
    } rules[SNAPSHOT_RULES_MAX]; /* the `save` schedule */
    size_t nrules;
    char save[256]; /* the `save` option as given, for INFO */
    bool refuse_corrupt;
    /* statistics (INFO persistence) */
    uint64_t dirty;           /* changes since the last save */
    int64_t last_save_s;      /* unix time of the last successful save */
    oh_time last_save_try_ms; /* last save attempt (periodic saves) */
    uint64_t saves;
    bool last_bgsave_ok;
    int64_t last_bgsave_s; /* duration, -1: none yet */
    struct snapshot_result last_save, last_load;
    int last_load_rc;
    /* shutdown */
    bool shutdown_nosave, shutdown_saved;
} st;

/* The background save child. */
static struct {
    pid_t pid; /* 0: none */
    oh_time started;
    uint64_t dirty_at_start;
    bool scheduled; /* BGSAVE SCHEDULE waiting for the running child */
    char path[SNAP_PATH_MAX];
} bg;

static void
progress(uint64_t done, uint64_t total, uint64_t *next)
{
    if (done >= *next) {
        *next = done + SNAP_PROGRESS_BYTES;
        if (snapshot_on_progress != NULL) {
            snapshot_on_progress(done, total);
        }
    }
}

/* ---- writer ---- */

struct writer {
    int fd;
    unsigned char *buf;
    size_t len;      /* bytes buffered */
    size_t crc_done; /* buf[0..crc_done) is already in crc */
    uint32_t crc;    /* over every byte flushed or summed */
    uint64_t bytes;  /* bytes handed to the file so far */
    uint64_t next_progress;
    int err; /* errno of the first failure, 0 if none */
};

static void
w_write(struct writer *w, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0 && w->err == 0) {
        ssize_t k = write(w->fd, c, n);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            w->err = k < 0 ? errno : EIO;
            return;
        }
        c += k;
        n -= (size_t)k;
        w->bytes += (uint64_t)k;
    }
    progress(w->bytes, 0, &w->next_progress);
}

static void
w_flush(struct writer *w)
{
    w->crc =
        snapshot_crc32c(w->crc, w->buf + w->crc_done, w->len - w->crc_done);
    w_write(w, w->buf, w->len);
    w->len = 0;
    w->crc_done = 0;
}

static void
w_put(struct writer *w, const void *p, size_t n)
{
    if (n >= SNAP_DIRECT_BYTES) {
        w_flush(w);
        w->crc = snapshot_crc32c(w->crc, p, n);
        w_write(w, p, n);
        return;
    }
    if (w->len + n > SNAP_WBUF_BYTES) {
        w_flush(w);
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

/* The CRC of everything put so far. */
static uint32_t
w_sum(struct writer *w)
{
    w->crc =
        snapshot_crc32c(w->crc, w->buf + w->crc_done, w->len - w->crc_done);
    w->crc_done = w->len;
    return w->crc;
}

static int
w_open(struct writer *w, const char *path)
{
    memset(w, 0, sizeof(*w));
    w->next_progress = SNAP_PROGRESS_BYTES;
    w->buf = malloc(SNAP_WBUF_BYTES);
    if (w->buf == NULL) {
        return SNAPSHOT_NOMEM;
    }
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        log_warn("snapshot: cannot create %s: %s", path, strerror(errno));
        free(w->buf);
        return SNAPSHOT_IO;
    }
    return 0;
}

/* Flushes, syncs and closes. Returns 0 or SNAPSHOT_IO (w->err set). */
static int
w_close(struct writer *w)
{
    w_flush(w);
    if (w->err == 0 && fdatasync(w->fd) != 0) {
        w->err = errno;
    }
    if (close(w->fd) != 0 && w->err == 0) {
        w->err = errno;
    }
    free(w->buf);
    w->buf = NULL;
    return w->err == 0 ? 0 : SNAPSHOT_IO;
}

/* ---- save ---- */

/* Keys collected by one engine_scan() call. */
struct batch {
    char *bytes;
    size_t len, cap;
    size_t *ends; /* key i is bytes[ends[i-1] .. ends[i]) */
    size_t n, ncap;
    bool nomem;
};

static bool
grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return true;
    }
    size_t ncap = *cap ? *cap : 1024;
    while (ncap < need) {
        ncap *= 2;
    }
    void *np = realloc(*p, ncap * elem);
    if (np == NULL) {
        return false;
    }
    *p = np;
    *cap = ncap;
    return true;
}

static void
collect(void *arg, const char *key, size_t klen, oh_time expire_at)
{
    struct batch *b = arg;
    (void)expire_at;
    if (!grow((void **)&b->bytes, &b->cap, b->len + klen + 1, 1) ||
        !grow((void **)&b->ends, &b->ncap, b->n + 1, sizeof(size_t))) {
        b->nomem = true;
        return;
    }
    memcpy(b->bytes + b->len, key, klen);
    b->len += klen;
    b->ends[b->n++] = b->len;
}

static void
write_entry(struct writer *w, const struct engine_item *it)
{
    unsigned char hdr[SNAP_ENTRY_HDR_MAX];
    size_t n = 0;
    hdr[n++] = SNAPSHOT_OP_ENTRY;
    n += put_varint(hdr + n, it->klen);
    n += put_varint(hdr + n, it->vlen);
    n += put_varint(hdr + n, (uint64_t)it->expire_at);
    w_put(w, hdr, n);
    w_put(w, it->key, it->klen);
    w_put(w, it->val, it->vlen);
}

/* Hints the index bucket of key i of the batch (if any) to the engine. */
static void
hint_key(const struct batch *b, size_t i)
{
    if (i < b->n) {
        size_t start = i > 0 ? b->ends[i - 1] : 0;
        engine_prefetch(engine_key_hash(b->bytes + start, b->ends[i] - start),
                        false);
    }
}

/* Writes the entries of one batch. Returns how many were written. */
static uint64_t
write_batch(struct writer *w, const struct batch *b, oh_time now)
{
    uint64_t count = 0;
    size_t start = 0;
    for (size_t i = 0; i < SNAP_AHEAD; i++) {
        hint_key(b, i);
    }
    for (size_t i = 0; i < b->n && w->err == 0; i++) {
        struct engine_item it;
        const char *key = b->bytes + start;
        size_t klen = b->ends[i] - start;
        start = b->ends[i];
        hint_key(b, i + SNAP_AHEAD);
        if (engine_peek(key, klen, now, &it) == 1) {
            write_entry(w, &it);
            engine_release(&it);
            count++;
        }
    }
    return count;
}

static volatile sig_atomic_t save_interrupted;

void
snapshot_interrupt(void)
{
    save_interrupted = 1;
}

/* Writes every live entry. Returns the count, or -1 if out of memory. */
static int64_t
write_entries(struct writer *w, oh_time now)
{
    struct batch b = {0};
    uint64_t cursor = 0, count = 0;
    do {
        b.len = 0;
        b.n = 0;
        cursor = engine_scan(cursor, SNAP_SCAN_COUNT, now, collect, &b);
        if (b.nomem) {
            break;
        }
        count += write_batch(w, &b, now);
    } while (cursor != 0 && w->err == 0 && !save_interrupted);
    free(b.bytes);
    free(b.ends);
    return b.nomem ? -1 : (int64_t)count;
}

static void
write_header(struct writer *w, oh_time now)
{
    unsigned char h[SNAPSHOT_HEADER_LEN] = {0};
    memcpy(h, SNAPSHOT_MAGIC, SNAPSHOT_MAGIC_LEN);
    put_le(h + 12, SNAPSHOT_VERSION, 4);
    put_le(h + 16, (uint64_t)now, 8);
    put_le(h + 24, engine_count(), 8);
    w_put(w, h, sizeof(h));
}

static void
write_trailer(struct writer *w, uint64_t count)
{
    unsigned char t[SNAPSHOT_TRAILER_LEN];
    t[0] = SNAPSHOT_OP_END;
    put_le(t + 1, count, 8);
    w_put(w, t, 9);
    put_le(t + 9, w_sum(w), 4);
    w_put(w, t + 9, 4);
}

/* fsyncs the directory holding `path`, so the rename is durable. */
static void
sync_dir(const char *path)
{
    char dir[SNAP_PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(dir, sizeof(dir), ".");
    } else {
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path + 1), path);
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        if (fsync(fd) != 0) {
            log_warn("snapshot: fsync of %s: %s", dir, strerror(errno));
        }
        close(fd);
    }
}

/* Writes the snapshot to `tmp`. Returns 0 or a negative snapshot_rc. */
static int
write_file(const char *tmp, oh_time now, struct snapshot_result *res)
{
    struct writer w;
    int rc = w_open(&w, tmp);
    if (rc != 0) {
        return rc;
    }
    write_header(&w, now);
    int64_t count = write_entries(&w, now);
    if (count >= 0) {
        write_trailer(&w, (uint64_t)count);
    }
    rc = w_close(&w);
    if (count < 0) {
        log_warn("snapshot: out of memory listing the keys");
        return SNAPSHOT_NOMEM;
    }
    if (rc != 0) {
        log_warn("snapshot: writing %s: %s", tmp, strerror(w.err));
        return rc;
    }
    res->keys = (uint64_t)count;
    res->bytes = w.bytes;
    res->created = now;
    return 0;
}

int
snapshot_save(const char *path, oh_time now, struct snapshot_result *out)
{
    char tmp[SNAP_PATH_MAX + 32];
    struct snapshot_result res = {0};
    snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid());
    int rc = write_file(tmp, now, &res);
    if (rc == 0 && save_interrupted) {
        rc = SNAPSHOT_INTERRUPTED;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        log_warn("snapshot: rename %s to %s: %s", tmp, path, strerror(errno));
        rc = SNAPSHOT_IO;
    }
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    sync_dir(path);
    st.dirty = 0;
    st.last_bgsave_ok = true; /* as Redis's rdbSave(): writes may go on */
    st.last_save_s = now / 1000;
    st.saves++;
    st.last_save = res;
    if (out != NULL) {
        *out = res;
    }
    return 0;
}

/* ---- load ---- */

struct loader {
    int fd;
    unsigned char *buf;
    size_t cap, pos, len; /* unread bytes: buf[pos..len) */
    size_t crc_pos;       /* buf[crc_pos..pos) is consumed, not in crc */
    uint32_t crc;
    uint64_t base; /* file offset of buf[0] */
    uint64_t size; /* file size */
    bool eof;
    uint64_t entries; /* parsed, whatever became of them */
    /* look-ahead (hint_ahead): the next nahead entries from pos were
     * hinted; their hashes are ring[head..], the next to hint is at file
     * offset `ahead` */
    uint64_t ring[SNAP_RING];
    unsigned head, nahead;
    uint64_t ahead;
    uint64_t next_progress;
    oh_time started;
    struct snapshot_result res;
    char path[SNAP_PATH_MAX];
};

static struct loader *ld; /* non-NULL while an incremental load runs */

static void
loader_close(struct loader **lp)
{
    struct loader *l = *lp;
    if (l == NULL) {
        return;
    }
    if (l->fd >= 0) {
        close(l->fd);
    }
    (void)engine_reserve(0); /* ends the load mode */
    free(l->buf);
    free(l);
    *lp = NULL;
}

/* Makes room for `need` unread bytes at buf[0..), growing if needed. */
static int
make_room(struct loader *l, size_t need)
{
    l->crc = snapshot_crc32c(l->crc, l->buf + l->crc_pos, l->pos - l->crc_pos);
    memmove(l->buf, l->buf + l->pos, l->len - l->pos);
    l->base += l->pos;
    l->len -= l->pos;
    l->pos = 0;
    l->crc_pos = 0;
    if (need > l->cap) {
        unsigned char *nb = realloc(l->buf, need);
        if (nb == NULL) {
            return SNAPSHOT_NOMEM;
        }
        l->buf = nb;
        l->cap = need;
    }
    return 0;
}

/* Ensures at least `need` unread bytes (fewer only at the end of the
 * file). Fills the whole buffer when it reads. Returns 0, or an error. */
static int
fill(struct loader *l, size_t need)
{
    if (l->len - l->pos >= need || l->eof) {
        return 0;
    }
    int rc = make_room(l, need);
    while (rc == 0 && l->len < l->cap && !l->eof) {
        ssize_t k = read(l->fd, l->buf + l->len, l->cap - l->len);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k < 0) {
            log_warn("snapshot: reading %s: %s", l->path, strerror(errno));
            return SNAPSHOT_IO;
        }
        l->eof = k == 0;
        l->len += (size_t)k;
        if (l->len - l->pos >= need && l->len >= l->cap / 2) {
            break;
        }
    }
    return rc;
}

static int
read_header(struct loader *l)
{
    int rc = fill(l, SNAPSHOT_HEADER_LEN);
    if (rc != 0) {
        return rc;
    }
    const unsigned char *h = l->buf + l->pos;
    size_t avail = l->len - l->pos;
    size_t cmp = avail < SNAPSHOT_MAGIC_LEN ? avail : SNAPSHOT_MAGIC_LEN;
    if (memcmp(h, SNAPSHOT_MAGIC, cmp) != 0) {
        return SNAPSHOT_BADMAGIC;
    }
    if (avail < SNAPSHOT_HEADER_LEN) {
        return SNAPSHOT_TRUNCATED;
    }
    if (get_le(h + 12, 4) != SNAPSHOT_VERSION) {
        return SNAPSHOT_BADVERSION;
    }
    l->res.created = (oh_time)get_le(h + 16, 8);
    l->pos += SNAPSHOT_HEADER_LEN;
    /* the key count at save time sizes the index (a hint: failure is
     * harmless) and turns on the engine's load mode until loader_close */
    uint64_t hint = get_le(h + 24, 8);
    (void)engine_reserve(hint < l->size / 4 ? hint : l->size / 4);
    engine_reserve_bytes(l->size); /* fault segments in on another core */
    return 0;
}

static int
open_loader(const char *path, oh_time now, struct loader **out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return SNAPSHOT_NOFILE;
        }
        log_warn("snapshot: cannot open %s: %s", path, strerror(errno));
        return SNAPSHOT_IO;
    }
    struct loader *l = calloc(1, sizeof(*l));
    struct stat sb;
    if (l == NULL || (l->buf = malloc(SNAP_RBUF_BYTES)) == NULL) {
        free(l);
        close(fd);
        return SNAPSHOT_NOMEM;
    }
    l->fd = fd;
    l->cap = SNAP_RBUF_BYTES;
    l->size = fstat(fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    l->started = now;
    l->next_progress = SNAP_PROGRESS_BYTES;
    snprintf(l->path, sizeof(l->path), "%s", path);
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    *out = l;
    return read_header(l);
}

/* The trailer: entry count and CRC, then nothing. */
static int
read_trailer(struct loader *l)
{
    int rc = fill(l, SNAPSHOT_TRAILER_LEN);
    if (rc != 0) {
        return rc;
    }
    if (l->len - l->pos < SNAPSHOT_TRAILER_LEN) {
        return SNAPSHOT_TRUNCATED;
    }
    const unsigned char *t = l->buf + l->pos;
    uint32_t crc =
        snapshot_crc32c(l->crc, l->buf + l->crc_pos, l->pos + 9 - l->crc_pos);
    if (get_le(t + 9, 4) != crc) {
        return SNAPSHOT_CHECKSUM;
    }
    if (get_le(t + 1, 8) != l->entries) {
        return SNAPSHOT_CORRUPT;
    }
    l->pos += SNAPSHOT_TRAILER_LEN;
    l->crc_pos = l->pos;
    l->crc = crc;
    rc = fill(l, 1);
    if (rc == 0 && l->len > l->pos) {
        return SNAPSHOT_CORRUPT; /* bytes after the trailer */
    }
    return rc;
}

/* The header of one entry record, parsed from [p, end). */
struct rec {
    uint64_t klen, vlen, exp;
    size_t hdr;   /* bytes of op byte and varints */
    size_t total; /* bytes of the whole record */
};

/* Stores the entry whose key and value start at p, unless it expired.
 * The entry at pos was hinted: its hash heads the ring. */
static void
store_entry(struct loader *l, const unsigned char *p, const struct rec *r,
            oh_time now)
{
    oh_time exp = (oh_time)r->exp;
    if (exp != OH_TIME_NONE && exp <= now) {
        l->res.expired++;
        return;
    }
    const char *key = (const char *)p;
    uint64_t hash =
        l->nahead > 0 ? l->ring[l->head] : engine_key_hash(key, r->klen);
    int rc = engine_set_hashed(hash, key, r->klen, key + r->klen, r->vlen, exp,
                               ENGINE_SET_LOAD, now);
    if (rc == 1) {
        l->res.keys++;
    } else {
        l->res.rejected++;
    }
}

/* Parses the entry header at p. Returns 0, SNAPSHOT_TRUNCATED if the
 * bytes end first, or SNAPSHOT_CORRUPT. */
static int
parse_rec(const unsigned char *p, const unsigned char *end, struct rec *r)
{
    const unsigned char *q = p + 1;
    int rc;
    if ((rc = get_varint(&q, end, &r->klen)) != 0 ||
        (rc = get_varint(&q, end, &r->vlen)) != 0 ||
        (rc = get_varint(&q, end, &r->exp)) != 0) {
        return rc == -1 ? SNAPSHOT_TRUNCATED : SNAPSHOT_CORRUPT;
    }
    if (r->klen > SNAPSHOT_LEN_MAX || r->vlen > SNAPSHOT_LEN_MAX ||
        r->exp > INT64_MAX) {
        return SNAPSHOT_CORRUPT;
    }
    r->hdr = (size_t)(q - p);
    r->total = r->hdr + (size_t)r->klen + (size_t)r->vlen;
    return 0;
}

/* Hints the index buckets of the next entries already in the buffer to
 * the engine, SNAP_AHEAD entries ahead (their cache misses then overlap
 * instead of stalling each insert), and the overflow buckets of the entry
 * SNAP_AHEAD_CHAIN ahead. Reads only whole keys within buf[pos..len). */
static void
hint_ahead(struct loader *l)
{
    if (l->nahead == 0) {
        l->ahead = l->base + l->pos;
    }
    const unsigned char *end = l->buf + l->len;
    while (l->nahead < SNAP_AHEAD && l->ahead < l->base + l->len) {
        const unsigned char *p = l->buf + (l->ahead - l->base);
        struct rec r;
        if (*p != SNAPSHOT_OP_ENTRY || parse_rec(p, end, &r) != 0 ||
            (size_t)(end - p) < r.hdr + r.klen) {
            break; /* the trailer, a bad record or the buffer's end */
        }
        uint64_t h = engine_key_hash((const char *)p + r.hdr, r.klen);
        engine_prefetch(h, false);
        l->ring[(l->head + l->nahead) % SNAP_RING] = h;
        l->nahead++;
        l->ahead += r.total;
    }
    if (l->nahead > SNAP_AHEAD_CHAIN) {
        engine_prefetch(l->ring[(l->head + SNAP_AHEAD_CHAIN) % SNAP_RING],
                        true);
    }
}

/* Moves past the record just loaded (total bytes). */
static void
consume(struct loader *l, size_t total)
{
    l->pos += total;
    l->entries++;
    if (l->pos - l->crc_pos >= SNAP_CRC_BYTES) { /* while still cached */
        l->crc =
            snapshot_crc32c(l->crc, l->buf + l->crc_pos, l->pos - l->crc_pos);
        l->crc_pos = l->pos;
    }
    if (l->nahead > 0) {
        l->nahead--;
        l->head = (l->head + 1) % SNAP_RING;
    }
}

/* Parses one record. Returns 1 for an entry, 0 at the trailer (checked),
 * or a negative snapshot_rc. */
static int
load_one(struct loader *l, oh_time now)
{
    int rc = fill(l, SNAP_ENTRY_HDR_MAX);
    if (rc != 0) {
        return rc;
    }
    if (l->pos == l->len) {
        return SNAPSHOT_TRUNCATED;
    }
    if (l->buf[l->pos] == SNAPSHOT_OP_END) {
        return read_trailer(l);
    }
    if (l->buf[l->pos] != SNAPSHOT_OP_ENTRY) {
        return SNAPSHOT_CORRUPT;
    }
    struct rec r;
    if ((rc = parse_rec(l->buf + l->pos, l->buf + l->len, &r)) != 0) {
        return rc;
    }
    if ((rc = fill(l, r.total)) != 0) {
        return rc;
    }
    if (l->len - l->pos < r.total) {
        return SNAPSHOT_TRUNCATED;
    }
    hint_ahead(l);
    store_entry(l, l->buf + l->pos + r.hdr, &r, now);
    consume(l, r.total);
    return 1;
}

/* Loads records until `budget` bytes are consumed or the file ends.
 * Returns 1 if more remains, 0 when done, or a negative snapshot_rc. */
static int
load_some(struct loader *l, oh_time now, uint64_t budget)
{
    uint64_t stop = l->base + l->pos + budget;
    int rc;
    do {
        rc = load_one(l, now);
    } while (rc == 1 && l->base + l->pos < stop);
    progress(l->base + l->pos, l->size, &l->next_progress);
    return rc == 1 ? 1 : rc;
}

int
snapshot_load(const char *path, oh_time now, struct snapshot_result *out)
{
    struct loader *l = NULL;
    int rc = open_loader(path, now, &l);
    while (rc == 0) {
        rc = load_some(l, now, UINT64_MAX);
        if (rc == 1) {
            rc = 0;
        } else if (rc == 0) {
            break;
        }
    }
    if (l != NULL) {
        l->res.bytes = l->base + l->pos;
        st.last_load = l->res;
        if (out != NULL) {
            *out = l->res;
        }
    }
    if (rc < 0 && rc != SNAPSHOT_NOFILE) {
        engine_flush();
    }
    st.last_load_rc = rc;
    loader_close(&l);
    return rc;
}

/* ---- incremental load at start-up ---- */

int
snapshot_quarantine(const char *path, oh_time now, char *aside, size_t cap)
{
    snprintf(aside, cap, "%s.corrupt-%" PRId64, path, (int64_t)now);
    return rename(path, aside);
}

/* A bad file: flush what was loaded, then set it aside (policy empty) or
 * leave it for an operator (policy refuse). Returns 0 or SNAPSHOT_REFUSED. */
static int
load_failed(const char *path, int rc, oh_time now)
{
    engine_flush();
    st.last_load_rc = rc;
    log_warn("snapshot: %s: %s", path, snapshot_strerror(rc));
    if (st.refuse_corrupt) {
        log_warn("snapshot: refusing to start (snapshot-on-corrupt refuse); "
                 "%s is left in place: move it away to start empty",
                 path);
        return SNAPSHOT_REFUSED;
    }
    char aside[SNAP_PATH_MAX + 48];
    if (snapshot_quarantine(path, now, aside, sizeof(aside)) == 0) {
        log_warn("snapshot: moved the bad file to %s; starting empty", aside);
    } else {
        log_warn("snapshot: cannot move %s aside (%s); starting empty", path,
                 strerror(errno));
    }
    return 0;
}

static void
load_done(struct loader *l, oh_time now)
{
    l->res.bytes = l->base + l->pos;
    st.last_load = l->res;
    st.last_load_rc = 0;
    log_notice("snapshot: loaded %" PRIu64 " keys from %s in %" PRId64
               " ms (%" PRIu64 " expired meanwhile, %" PRIu64
               " refused by the engine)",
               l->res.keys, l->path, (int64_t)(now - l->started),
               l->res.expired, l->res.rejected);
}

/* ---- temporary files of unfinished saves ---- */

/* Returns the pid of a "<base>.tmp-<pid>" name, or 0 if `name` is not one. */
static long
tmp_pid(const char *name, const char *base)
{
    size_t bl = strlen(base);
    if (strncmp(name, base, bl) != 0 || strncmp(name + bl, ".tmp-", 5) != 0) {
        return 0;
    }
    const char *digits = name + bl + 5;
    char *end;
    errno = 0;
    long pid = strtol(digits, &end, 10);
    if (*digits < '0' || *digits > '9' || *end != '\0' || errno != 0) {
        return 0;
    }
    return pid > 0 ? pid : 0;
}

/* Tells whether `pid` is a live process (EPERM: it is, someone else's). */
static bool
pid_alive(long pid)
{
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* Removes what saves killed midway (kill -9, a crash, power loss) left next
 * to `path`: "<path>.tmp-<pid>" files whose pid is no live process. Each is
 * as large as the data, so a server that crash-loops would fill its disk.
 * A live pid is skipped: it may be the BGSAVE child of a killed server,
 * still writing (it renames or removes its own file), or a process that
 * reused the pid (then a later start removes the file). Called at start-up
 * before the load; the server owns its dir. */
static void
remove_stale_tmp(const char *path)
{
    char dir[SNAP_PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    int dlen = slash == NULL ? 1 : slash == path ? 1 : (int)(slash - path);
    snprintf(dir, sizeof(dir), "%.*s", dlen, slash == NULL ? "." : path);
    DIR *d = opendir(dir);
    if (d == NULL) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid = tmp_pid(e->d_name, base);
        if (pid == 0 || pid == (long)getpid() || pid_alive(pid)) {
            continue;
        }
        if (unlinkat(dirfd(d), e->d_name, 0) == 0) {
            log_notice("snapshot: removed %s/%s, left by a save that did not "
                       "finish",
                       dir, e->d_name);
        } else {
            log_warn("snapshot: cannot remove %s/%s: %s", dir, e->d_name,
                     strerror(errno));
        }
    }
    closedir(d);
}

int
snapshot_load_begin(oh_time now)
{
    loader_close(&ld);
    if (st.file[0] == '\0') {
        return SNAPSHOT_DISABLED;
    }
    remove_stale_tmp(st.file);
    int rc = open_loader(st.file, now, &ld);
    if (rc == SNAPSHOT_NOFILE) {
        log_notice("snapshot: no %s, starting empty", st.file);
        st.last_load_rc = rc;
        return rc;
    }
    if (rc != 0) {
        loader_close(&ld);
        return load_failed(st.file, rc, now);
    }
    log_notice("snapshot: loading %s (%" PRIu64 " bytes, written %" PRId64
               " s ago)",
               st.file, ld->size, (int64_t)(now - ld->res.created) / 1000);
    return 0;
}

int
snapshot_load_step(oh_time now, size_t budget_bytes)
{
    if (ld == NULL) {
        return 0;
    }
    int rc = load_some(ld, now, budget_bytes);
    if (rc == 1) {
        return 1;
    }
    if (rc == 0) {
        load_done(ld, ld->started > now ? ld->started : now);
    } else {
        rc = load_failed(ld->path, rc, now);
    }
    loader_close(&ld);
    return rc;
}

bool
snapshot_loading(void)
{
    return ld != NULL;
}

/* ---- background save ---- */

static void
close_pair(int p[2])
{
    for (int i = 0; i < 2; i++) {
        if (p[i] >= 0) {
            close(p[i]);
        }
        p[i] = -1;
    }
}

/* In the child, first: with shared engine memory, take a private copy of
 * the index (the parent changes the shared one once it goes on), then
 * tell the parent through the pipe. */
static void
child_start(int ready[2])
{
    if (ready[1] < 0) {
        return;
    }
    close(ready[0]);
    char ok = engine_fork_child() == 0 ? 1 : 0;
    if (write(ready[1], &ok, 1) != 1 || !ok) {
        _exit(1);
    }
    close(ready[1]);
}

/* In the parent: waits until the child holds its copy of the index (or
 * died: EOF). Costs the index copy, about 1-2 ms per million keys. */
static void
wait_child_ready(int ready[2])
{
    if (ready[0] < 0) {
        return;
    }
    close(ready[1]);
    ready[1] = -1;
    char ok = 0;
    ssize_t n;
    do {
        n = read(ready[0], &ok, 1);
    } while (n < 0 && errno == EINTR);
    close_pair(ready);
}

static void
child_run(const char *path, oh_time now)
{
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    snapshot_on_progress = NULL;
    int rc = snapshot_save(path, now, NULL);
    _exit(rc == 0 ? 0 : 1);
}

int
snapshot_save_background(const char *path, oh_time now)
{
    if (bg.pid > 0 || ld != NULL) {
        return SNAPSHOT_BUSY;
    }
    snprintf(bg.path, sizeof(bg.path), "%s", path);
    int ready[2] = {-1, -1};
    bool shared = engine_share_fd() >= 0;
    if (shared && pipe2(ready, O_CLOEXEC) != 0) {
        log_warn("snapshot: pipe: %s", strerror(errno));
        st.last_bgsave_ok = false;
        return SNAPSHOT_IO;
    }
    engine_fork_prepare();
    pid_t pid = fork();
    if (pid < 0) {
        log_warn("snapshot: fork: %s", strerror(errno));
        engine_fork_done();
        close_pair(ready);
        st.last_bgsave_ok = false;
        return SNAPSHOT_IO;
    }
    if (pid == 0) {
        child_start(ready);
        child_run(bg.path, now);
    }
    wait_child_ready(ready);
    bg.pid = pid;
    bg.started = now;
    bg.dirty_at_start = st.dirty;
    st.last_save_try_ms = now;
    log_notice("snapshot: background save started by pid %ld", (long)pid);
    return 0;
}

static void
child_done(bool ok, oh_time now)
{
    st.last_bgsave_ok = ok;
    st.last_bgsave_s = (now - bg.started) / 1000;
    if (ok) {
        st.dirty -= bg.dirty_at_start < st.dirty ? bg.dirty_at_start : st.dirty;
        st.last_save_s = now / 1000;
        st.saves++;
        log_notice("snapshot: background save to %s done", bg.path);
    } else {
        char tmp[SNAP_PATH_MAX + 32];
        snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", bg.path, (long)bg.pid);
        unlink(tmp);
        log_warn("snapshot: background save to %s failed", bg.path);
    }
    bg.pid = 0;
    engine_fork_done(); /* the segments it read may be reused now */
}

int
snapshot_poll_child(oh_time now)
{
    if (bg.pid <= 0) {
        return 0;
    }
    int status = 0;
    pid_t r = waitpid(bg.pid, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR)) {
        return 0;
    }
    bool ok = r == bg.pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    child_done(ok, now);
    return ok ? 1 : -1;
}

bool
snapshot_save_failing(void)
{
    return st.file[0] != '\0' && st.nrules > 0 && !st.last_bgsave_ok;
}

bool
snapshot_bgsave_in_progress(void)
{
    return bg.pid > 0;
}

/* Stops a running child and waits for it. */
static void
child_stop(oh_time now)
{
    if (bg.pid <= 0) {
        return;
    }
    kill(bg.pid, SIGKILL);
    while (waitpid(bg.pid, NULL, 0) < 0 && errno == EINTR) {
    }
    log_notice("snapshot: stopped the background save");
    child_done(false, now);
}

void
snapshot_cron(oh_time now)
{
    snapshot_poll_child(now);
    if (bg.pid > 0 || ld != NULL || st.file[0] == '\0') {
        return;
    }
    if (bg.scheduled) {
        bg.scheduled = false;
        snapshot_save_background(st.file, now);
        return;
    }
    if (!st.last_bgsave_ok && now - st.last_save_try_ms < SNAPSHOT_RETRY_MS) {
        return;
    }
    for (size_t i = 0; i < st.nrules; i++) {
        const struct rule *r = &st.rules[i];
        if (st.dirty >= r->changes &&
            now - st.last_save_s * 1000 >= (oh_time)r->seconds * 1000) {
            log_notice("snapshot: %" PRIu64 " changes in %" PRIu64
                       " seconds, saving",
                       r->changes, r->seconds);
            snapshot_save_background(st.file, now);
            return;
        }
    }
}

/* Parses "<seconds> <changes> ..." into st.rules. Returns 0 or -1. */
static int
parse_rules(const char *save)
{
    const char *p = save;
    char *end;
    st.nrules = 0;
    for (;;) {
        while (*p == ' ') {
            p++;
        }
        if (*p == '\0') {
            return 0;
        }
        uint64_t secs = strtoull(p, &end, 10);
        if (end == p || *end != ' ' || st.nrules == SNAPSHOT_RULES_MAX) {
            break;
        }
        p = end;
        uint64_t changes = strtoull(p, &end, 10);
        if (end == p || (*end != ' ' && *end != '\0') || secs == 0) {
            break;
        }
        st.rules[st.nrules++] = (struct rule){secs, changes};
        p = end;
    }
    st.nrules = 0;
    return -1;
}

void
snapshot_note_write(uint64_t n)
{
    st.dirty += n;
}

/* ---- lifecycle ---- */

void
snapshot_setup(oh_time now)
{
    if (st.ready) {
        log_warn("snapshot_setup called twice");
        snapshot_teardown();
    }
    char file[SNAP_PATH_MAX], save[sizeof(st.save)];
    snprintf(file, sizeof(file), "%s", st.file);
    snprintf(save, sizeof(save), "%s", st.save);
    bool refuse = st.refuse_corrupt;
    memset(&st, 0, sizeof(st));
    snapshot_reconfigure(file, save, refuse);
    st.last_save_s = now / 1000;
    st.last_save_try_ms = now;
    st.last_bgsave_ok = true;
    st.last_bgsave_s = -1;
    st.last_load_rc = SNAPSHOT_NOFILE;
    st.ready = true;
}

void
snapshot_teardown(void)
{
    if (!st.ready) {
        return;
    }
    child_stop(bg.started);
    loader_close(&ld);
    bg.scheduled = false;
    st.ready = false;
}

int
snapshot_reconfigure(const char *file, const char *save, bool refuse_corrupt)
{
    snprintf(st.file, sizeof(st.file), "%s", file != NULL ? file : "");
    snprintf(st.save, sizeof(st.save), "%s", save != NULL ? save : "");
    st.refuse_corrupt = refuse_corrupt;
    if (parse_rules(st.save) != 0) {
        log_warn("snapshot: save \"%s\" is not \"<seconds> <changes> ...\" "
                 "pairs; no background save schedule",
                 st.save);
        return -1;
    }
    return 0;
}

const char *
snapshot_file(void)
{
    return st.file;
}

int64_t
snapshot_last_save(void)
{
    return st.last_save_s;
}

int
snapshot_shutdown(oh_time now)
{
    child_stop(now);
    if (ld != NULL) {
        log_warn("snapshot: shutting down while loading: not saving, "
                 "%s is kept",
                 ld->path);
        loader_close(&ld);
        return 0;
    }
    if (st.shutdown_nosave || st.shutdown_saved || st.file[0] == '\0') {
        return 0;
    }
    struct snapshot_result res;
    int rc = snapshot_save(st.file, now, &res);
    if (rc == 0) {
        log_notice("snapshot: saved %" PRIu64 " keys (%" PRIu64 " bytes) to %s",
                   res.keys, res.bytes, st.file);
    } else {
        log_warn("snapshot: saving at shutdown failed: %s",
                 snapshot_strerror(rc));
    }
    return rc;
}

/* ---- INFO persistence ---- */

static size_t
info_loading(char *buf, size_t cap, oh_time now)
{
    const struct loader *l = ld;
    uint64_t done = l->base + l->pos;
    double perc = l->size ? 100.0 * (double)done / (double)l->size : 0.0;
    int64_t elapsed_ms = now - l->started;
    int64_t eta = done && elapsed_ms > 0
                      ? (int64_t)((double)elapsed_ms / 1000.0 *
                                  (double)(l->size - done) / (double)done)
                      : 1;
    int n = snprintf(buf, cap,
                     "loading_start_time:%" PRId64 "\r\n"
                     "loading_total_bytes:%" PRIu64 "\r\n"
                     "loading_loaded_bytes:%" PRIu64 "\r\n"
                     "loading_loaded_perc:%.2f\r\n"
                     "loading_eta_seconds:%" PRId64 "\r\n"
                     "loading_loaded_keys:%" PRIu64 "\r\n",
                     (int64_t)(l->started / 1000), l->size, done, perc, eta,
                     l->res.keys);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

size_t
snapshot_info(char *buf, size_t cap, oh_time now)
{
    int n = snprintf(
        buf, cap,
        "loading:%d\r\nasync_loading:0\r\n"
        "rdb_changes_since_last_save:%" PRIu64 "\r\n"
        "rdb_bgsave_in_progress:%d\r\nrdb_last_save_time:%" PRId64 "\r\n"
        "rdb_last_bgsave_status:%s\r\nrdb_last_bgsave_time_sec:%" PRId64
        "\r\nrdb_current_bgsave_time_sec:%" PRId64 "\r\n"
        "rdb_saves:%" PRIu64 "\r\nrdb_last_load_keys_expired:%" PRIu64
        "\r\nrdb_last_load_keys_loaded:%" PRIu64 "\r\n"
        "aof_enabled:0\r\naof_rewrite_in_progress:0\r\n"
        "snapshot_file:%s\r\nsnapshot_save:%s\r\n"
        "snapshot_last_save_keys:%" PRIu64 "\r\n"
        "snapshot_last_save_bytes:%" PRIu64 "\r\n"
        "snapshot_last_load_status:%s\r\n",
        ld != NULL, st.dirty, bg.pid > 0, st.last_save_s,
        st.last_bgsave_ok ? "ok" : "err", st.last_bgsave_s,
        bg.pid > 0 ? (int64_t)(now - bg.started) / 1000 : -1, st.saves,
        st.last_load.expired, st.last_load.keys, st.file, st.save,
        st.last_save.keys, st.last_save.bytes,
        st.last_load_rc == 0 ? "ok"
        : st.last_load_rc == SNAPSHOT_NOFILE
            ? "none"
            : snapshot_strerror(st.last_load_rc));
    size_t len = n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
    if (ld != NULL && len < cap) {
        len += info_loading(buf + len, cap - len, now);
    }
    return len;
}

/* ---- commands ---- */

void
snapshot_cmd_save(struct conn *c, const struct cmd_req *r)
{
    if (bg.pid > 0) {
        reply_error(c, "ERR Background save already in progress");
        return;
    }
    if (st.file[0] == '\0') {
        reply_errorf(c, "ERR %s", snapshot_strerror(SNAPSHOT_DISABLED));
        return;
    }
    int rc = snapshot_save(st.file, r->now, NULL);
    if (rc != 0) {
        reply_errorf(c, "ERR %s", snapshot_strerror(rc));
        return;
    }
    reply_ok(c);
}

void
snapshot_cmd_bgsave(struct conn *c, const struct cmd_req *r)
{
    bool schedule = r->argc == 2 && cmd_arg_is(&r->argv[1], "schedule");
    if (r->argc > 2 || (r->argc == 2 && !schedule)) {
        reply_error_syntax(c);
    } else if (st.file[0] == '\0') {
        reply_errorf(c, "ERR %s", snapshot_strerror(SNAPSHOT_DISABLED));
    } else if (bg.pid > 0 && schedule) {
        bg.scheduled = true;
        reply_status(c, "Background saving scheduled");
    } else if (bg.pid > 0) {
        reply_error(c, "ERR Background save already in progress");
    } else if (snapshot_save_background(st.file, r->now) != 0) {
        reply_error(c, "ERR Background save failed to start (see the log)");
    } else {
        reply_status(c, "Background saving started");
    }
}

void
snapshot_cmd_lastsave(struct conn *c, const struct cmd_req *r)
{
    (void)r;
    reply_int(c, st.last_save_s);
}

/* Parses SHUTDOWN's flags. Returns false on a syntax error. */
static bool
shutdown_flags(const struct cmd_req *r, bool *nosave, bool *save, bool *force)
{
    for (int i = 1; i < r->argc; i++) {
        const struct resp_str *a = &r->argv[i];
        if (cmd_arg_is(a, "nosave")) {
            *nosave = true;
        } else if (cmd_arg_is(a, "save")) {
            *save = true;
        } else if (cmd_arg_is(a, "force")) {
            *force = true;
        } else if (!cmd_arg_is(a, "now")) {
            return false;
        }
    }
    return !(*nosave && *save);
}

void
snapshot_cmd_shutdown(struct conn *c, const struct cmd_req *r)
{
    bool nosave = false, save = false, force = false;
    if (!shutdown_flags(r, &nosave, &save, &force)) {
        reply_error_syntax(c);
        return;
    }
    bool want = !nosave && ld == NULL && (save || st.file[0] != '\0');
    if (want) {
        child_stop(r->now);
        int rc = st.file[0] == '\0' ? SNAPSHOT_DISABLED
                                    : snapshot_save(st.file, r->now, NULL);
        if (rc != 0 && !force) {
            log_warn("snapshot: SHUTDOWN refused: %s", snapshot_strerror(rc));
            reply_error(c, "ERR Errors trying to SHUTDOWN. Check logs.");
            return;
        }
        st.shutdown_saved = rc == 0;
    }
    st.shutdown_nosave = !want || !st.shutdown_saved;
    log_notice("SHUTDOWN asked by a client%s", want ? ", snapshot saved" : "");
    conn_close_after_reply(c);
    ev_stop();
}
