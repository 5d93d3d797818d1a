/* test_localread.c -- local reads under stress: reader processes read
 * offheapd's shared mapping through liboffheap while a writer process
 * overwrites, deletes, shortens expiries, flushes and saves in the
 * background under maxmemory (eviction, merges, compaction, segment reuse,
 * index growth and shrink), and the server is killed and restarted once.
 *
 * Every value carries its key, a version from one global counter, its
 * absolute expiry and a checksum. The writer publishes, after each ack,
 * the version below which no read of that key may go (the SET's version,
 * or the DEL's, or the FLUSHALL's / the restart's for every key). Each
 * reader checks every hit: the checksum (not torn), the key (not another
 * key's), the version (not older than an acknowledged write), the expiry
 * (not past it by the reader's clock, which is never behind the server's).
 * Misses are not checked: eviction may take any key.
 *
 * A second test plays a hostile client: it tries to write the mapping and
 * scribbles on its feedback region, and the server must go on serving the
 * same values. */
#define _GNU_SOURCE
#include "offheap.h"
#include "tests/support/spawn.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NKEYS      150000
#define NREADERS   3
#define RUN_MS     8000 /* the writer's run; readers stop with it */
#define RESTART_AT 4000 /* ms into the run: kill -9 and start again */

struct shared {
    _Atomic uint64_t version; /* the writer's global counter */
    _Atomic uint64_t floor;   /* no key reads older (FLUSHALL, restart) */
    _Atomic uint64_t key_floor[NKEYS];
    _Atomic int stop, pause, paused;
    _Atomic uint64_t reads[NREADERS], hits[NREADERS], local[NREADERS];
    _Atomic uint64_t bad[NREADERS], errors[NREADERS];
    char why[NREADERS][160];
};

static struct spawn_server srv;
static char sock_path[108];
static char spec[128];
static struct shared *sh;

static const char *const *
server_args(void)
{
    static const char *args[] = {"--unixsocket", sock_path, "--maxmemory",
                                 "12mb",         "--save",  "",
                                 "--hz",         "100",     NULL};
    return args;
}

static int
group_setup(void **state)
{
    (void)state;
    snprintf(sock_path, sizeof(sock_path), "/tmp/oh-localread-%d.sock",
             (int)getpid());
    snprintf(spec, sizeof(spec), "unix:%s", sock_path);
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return sh == MAP_FAILED ? -1 : spawn_start(&srv, server_args());
}

static int
group_teardown(void **state)
{
    (void)state;
    spawn_stop(&srv);
    unlink(sock_path);
    munmap(sh, sizeof(*sh));
    return 0;
}

static int64_t
realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t
fnv(const char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    }
    return h;
}

/* Builds the value of key i at version v expiring at exp (0: never). */
static int
make_value(char *out, size_t cap, unsigned i, uint64_t v, int64_t exp)
{
    int n = snprintf(out, cap, "k%u|v%llu|e%lld|%.*s|", i,
                     (unsigned long long)v, (long long)exp, (int)(v % 60),
                     "pppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
                     "pppppppp");
    n += snprintf(out + n, cap - (size_t)n, "c%08x", fnv(out, (size_t)n));
    return n;
}

/* Checks a value read for key i at floor `floor`, read at or after
 * `t0`. Returns NULL or why it is bad. */
static const char *
check_value(const char *val, size_t len, unsigned i, uint64_t floor, int64_t t0)
{
    char copy[256];
    unsigned key;
    unsigned long long v;
    long long exp;
    if (len < 10 || len >= sizeof(copy)) {
        return "bad length";
    }
    memcpy(copy, val, len);
    copy[len] = '\0';
    char *c = strrchr(copy, '|');
    if (c == NULL || c[1] != 'c' ||
        strtoul(c + 2, NULL, 16) != fnv(copy, (size_t)(c + 1 - copy))) {
        return "torn value (checksum)";
    }
    if (sscanf(copy, "k%u|v%llu|e%lld|", &key, &v, &exp) != 3) {
        return "unparsable value";
    }
    if (key != i) {
        return "another key's value";
    }
    if (v < floor) {
        return "older than an acknowledged write";
    }
    if (exp != 0 && exp <= t0) {
        return "past its expiry";
    }
    return NULL;
}

/* ---- the writer ---- */

static int
command(offheap_t *c, int argc, const char *const *argv)
{
    size_t lens[8];
    offheap_reply_t *r = NULL;
    for (int i = 0; i < argc; i++) {
        lens[i] = strlen(argv[i]);
    }
    int rc = offheap_command_argv(c, argc, argv, lens, 0, &r);
    if (rc == 0 && r->type == OFFHEAP_REPLY_ERROR) {
        rc = -1;
    }
    offheap_reply_free(&r);
    return rc;
}

/* The expiry the writer last gave each key (0: none), so that a
 * PEXPIREAT only ever shortens it. */
static int64_t last_exp[NKEYS];

static void
write_one(offheap_t *c, uint64_t rnd, int64_t now)
{
    unsigned i = (unsigned)(rnd % NKEYS);
    unsigned op = (unsigned)((rnd >> 32) % 100);
    char key[16], val[256], t[24];
    snprintf(key, sizeof(key), "k%u", i);
    uint64_t v = atomic_fetch_add(&sh->version, 1) + 1;
    if (op < 70) {
        int64_t exp = op < 35 ? now + 100 + (int64_t)(rnd % 3000) : 0;
        make_value(val, sizeof(val), i, v, exp);
        snprintf(t, sizeof(t), "%lld", (long long)exp);
        const char *a[] = {"SET", key, val, "PXAT", t};
        last_exp[i] = exp;
        if (command(c, exp ? 5 : 3, a) == 0) {
            atomic_store(&sh->key_floor[i], v);
        }
    } else if (op < 85) {
        const char *a[] = {"DEL", key};
        if (command(c, 2, a) == 0) {
            atomic_store(&sh->key_floor[i], v);
        }
    } else if (last_exp[i] == 0 || last_exp[i] > now + 50) {
        /* shorter than the expiry the value carries: the reader's check
         * against that one stays sound */
        snprintf(t, sizeof(t), "%lld", (long long)(now + 50));
        const char *a[] = {"PEXPIREAT", key, t};
        (void)command(c, 3, a);
        last_exp[i] = now + 50;
    }
}

static void
writer_main(void)
{
    offheap_t *c = offheap_connect(spec, 2000);
    offheap_set_local_reads(c, OFFHEAP_LOCAL_OFF);
    uint64_t rnd = 88172645463325252ull;
    int64_t start = realtime_ms(), last_flush = start, last_save = start;
    while (!atomic_load(&sh->stop)) {
        if (atomic_load(&sh->pause)) {
            atomic_store(&sh->paused, 1);
            spawn_sleep_ms(5);
            continue;
        }
        atomic_store(&sh->paused, 0);
        int64_t now = realtime_ms();
        rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
        write_one(c, rnd, now);
        if (now - last_flush > 2500) {
            uint64_t v = atomic_fetch_add(&sh->version, 1) + 1;
            const char *a[] = {"FLUSHALL"};
            if (command(c, 1, a) == 0) {
                atomic_store(&sh->floor, v);
            }
            last_flush = now;
        }
        if (now - last_save > 900) {
            const char *a[] = {"BGSAVE"};
            (void)command(c, 1, a);
            last_save = now;
        }
    }
    offheap_close(c);
    _exit(0);
}

/* ---- the readers ---- */

static int
keep_copy(void *arg, const char *val, size_t vlen)
{
    char *buf = arg;
    size_t n = vlen < 255 ? vlen : 255;
    memcpy(buf, val, n);
    buf[n] = '\0';
    buf[256] = (char)(vlen > 255); /* too long: reported as bad */
    memcpy(buf + 260, &vlen, sizeof(vlen));
    return 0;
}

static void
reader_main(int id)
{
    offheap_t *c = offheap_connect(spec, 2000);
    uint64_t rnd = 0x2545F4914F6CDD1Dull * (uint64_t)(id + 1);
    char buf[272];
    while (!atomic_load(&sh->stop)) {
        rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
        unsigned i = (unsigned)(rnd % NKEYS);
        char key[16];
        snprintf(key, sizeof(key), "k%u", i);
        uint64_t kf = atomic_load(&sh->key_floor[i]);
        uint64_t gf = atomic_load(&sh->floor);
        uint64_t floor = kf > gf ? kf : gf;
        int64_t t0 = realtime_ms();
        int rc = offheap_get_local(c, key, strlen(key), keep_copy, buf);
        size_t vlen = 0;
        void *val = NULL;
        if (rc == OFFHEAP_ERR_NOLOCAL) {
            rc = offheap_get(c, key, strlen(key), &val, &vlen);
        } else if (rc == 1) {
            atomic_fetch_add(&sh->local[id], 1);
            memcpy(&vlen, buf + 260, sizeof(vlen));
            val = buf;
        }
        atomic_fetch_add(&sh->reads[id], 1);
        if (rc < 0) {
            atomic_fetch_add(&sh->errors[id], 1); /* the restart */
            offheap_clear_err(c);
            continue;
        }
        if (rc == 1) {
            atomic_fetch_add(&sh->hits[id], 1);
            const char *why = check_value(val, vlen, i, floor, t0);
            if (why != NULL && atomic_fetch_add(&sh->bad[id], 1) == 0) {
                snprintf(sh->why[id], sizeof(sh->why[id]),
                         "%s (%s read at %lld): %s = %.90s", why,
                         val == buf ? "local" : "socket", (long long)t0, key,
                         (const char *)val);
            }
        }
        if (val != buf) {
            offheap_free_value(val);
        }
    }
    offheap_close(c);
    _exit(0);
}

/* Kills the server with SIGKILL and starts a new one on the same socket. */
static void
restart_server(void)
{
    atomic_store(&sh->pause, 1);
    while (!atomic_load(&sh->paused)) {
        spawn_sleep_ms(1);
    }
    kill(srv.pid, SIGKILL);
    while (waitpid(srv.pid, NULL, 0) < 0 && errno == EINTR) {
    }
    srv.pid = 0;
    spawn_stop(&srv); /* removes its directory */
    /* the new server starts empty: nothing older than now may be read */
    atomic_store(&sh->floor, atomic_fetch_add(&sh->version, 1) + 1);
    assert_int_equal(spawn_start(&srv, server_args()), 0);
    atomic_store(&sh->pause, 0);
}

static void
test_localread_stress(void **state)
{
    (void)state;
    pid_t pids[NREADERS + 1];
    memset(sh, 0, sizeof(*sh));
    for (int r = 0; r <= NREADERS; r++) {
        pids[r] = fork();
        if (pids[r] == 0) {
            signal(SIGPIPE, SIG_IGN); /* writes to the killed server */
            if (r == NREADERS) {
                writer_main();
            }
            reader_main(r);
        }
    }
    spawn_sleep_ms(RESTART_AT);
    restart_server();
    spawn_sleep_ms(RUN_MS - RESTART_AT);
    atomic_store(&sh->stop, 1);
    for (int r = 0; r <= NREADERS; r++) {
        int st = 0;
        waitpid(pids[r], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fail_msg("%s %d ended with status 0x%x",
                     r == NREADERS ? "the writer" : "reader", r, st);
        }
    }
    uint64_t reads = 0, hits = 0, local = 0, bad = 0, errors = 0;
    for (int r = 0; r < NREADERS; r++) {
        reads += sh->reads[r];
        hits += sh->hits[r];
        local += sh->local[r];
        bad += sh->bad[r];
        errors += sh->errors[r];
        if (sh->bad[r] > 0) {
            fprintf(stderr, "reader %d: %s\n", r, sh->why[r]);
        }
    }
    printf("localread stress: %llu reads (%llu local hits of %llu hits), "
           "%llu writes, %llu bad, %llu errors during the restart\n",
           (unsigned long long)reads, (unsigned long long)local,
           (unsigned long long)hits, (unsigned long long)sh->version,
           (unsigned long long)bad, (unsigned long long)errors);
    assert_int_equal(bad, 0);
    assert_true(reads >= 1000000);
    assert_true(local > hits / 2); /* the mapping served, not the socket */
    assert_true(spawn_alive(&srv));
}

/* ---- a hostile client ---- */

/* Connects to the socket and takes LOCALREAD MAP's descriptors. */
static int
take_fds(int fds[2])
{
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        return -1;
    }
    const char cmd[] = "*2\r\n$9\r\nLOCALREAD\r\n$3\r\nMAP\r\n";
    if (write(s, cmd, sizeof(cmd) - 1) != (ssize_t)sizeof(cmd) - 1) {
        return -1;
    }
    char buf[128], ctl[CMSG_SPACE(2 * sizeof(int))];
    struct iovec iov = {buf, sizeof(buf)};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = ctl,
                        .msg_controllen = sizeof(ctl)};
    if (recvmsg(s, &mh, 0) <= 0 || CMSG_FIRSTHDR(&mh) == NULL) {
        return -1;
    }
    memcpy(fds, CMSG_DATA(CMSG_FIRSTHDR(&mh)), 2 * sizeof(int));
    return s;
}

static void
test_localread_hostile_client(void **state)
{
    (void)state;
    offheap_t *c = offheap_connect(spec, 2000);
    char val[256];
    for (unsigned i = 0; i < 2000; i++) {
        char key[16];
        snprintf(key, sizeof(key), "h%u", i);
        int n = make_value(val, sizeof(val), i, 7, 0);
        assert_int_equal(offheap_set(c, key, strlen(key), val, (size_t)n, 0),
                         0);
    }
    int fds[2];
    int s = take_fds(fds);
    assert_true(s >= 0);
    off_t bytes = lseek(fds[0], 0, SEEK_END);
    /* no way to write the server's memory */
    assert_true(mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                     fds[0], 0) == MAP_FAILED);
    void *ro = mmap(NULL, (size_t)bytes, PROT_READ, MAP_SHARED | MAP_NORESERVE,
                    fds[0], 0);
    assert_true(ro != MAP_FAILED);
    assert_int_not_equal(mprotect(ro, 4096, PROT_READ | PROT_WRITE), 0);
    assert_int_not_equal(ftruncate(fds[0], 0), 0);
    assert_int_not_equal(fallocate(fds[0],
                                   FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                   0, 1 << 20),
                         0);
    assert_int_not_equal(ftruncate(fds[1], 0), 0); /* sealed */
    /* scribble on everything it may write, for a while */
    unsigned char *fb =
        mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, fds[1], 0);
    assert_true(fb != MAP_FAILED);
    uint64_t x = 1;
    long long until = spawn_now_ms() + 1500;
    while (spawn_now_ms() < until) {
        for (int i = 0; i < 65536; i += 8) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            memcpy(fb + i, &x, 8);
        }
    }
    spawn_sleep_ms(50);
    for (unsigned i = 0; i < 2000; i++) {
        char key[16];
        void *v = NULL;
        size_t vlen = 0;
        snprintf(key, sizeof(key), "h%u", i);
        assert_int_equal(offheap_get(c, key, strlen(key), &v, &vlen), 1);
        assert_null(check_value(v, vlen, i, 7, 0));
        offheap_free_value(v);
    }
    assert_true(spawn_alive(&srv));
    munmap(fb, 65536);
    munmap(ro, (size_t)bytes);
    close(fds[0]);
    close(fds[1]);
    close(s);
    offheap_close(c);
}

/* LOCALREAD is refused over TCP, and the handle then reads over it. */
static void
test_localread_tcp_refused(void **state)
{
    (void)state;
    char tcp[96];
    snprintf(tcp, sizeof(tcp), "%.64s:%d", srv.host, srv.port);
    offheap_t *c = offheap_connect(tcp, 2000);
    const char *a[] = {"LOCALREAD", "MAP"};
    size_t l[] = {9, 3};
    offheap_reply_t *r = NULL;
    assert_int_equal(offheap_command_argv(c, 2, a, l, 0, &r), 0);
    assert_int_equal(r->type, OFFHEAP_REPLY_ERROR);
    offheap_reply_free(&r);
    assert_int_equal(offheap_set(c, "t", 1, "v", 1, 0), 0);
    assert_int_equal(offheap_get_local(c, "t", 1, keep_copy, NULL),
                     OFFHEAP_ERR_NOLOCAL);
    offheap_close(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_localread_stress),
        cmocka_unit_test(test_localread_hostile_client),
        cmocka_unit_test(test_localread_tcp_refused),
    };
    return cmocka_run_group_tests_name("localread", tests, group_setup,
                                       group_teardown);
}
