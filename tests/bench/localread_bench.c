/* localread_bench.c -- time per read of liboffheap's GET on the same host:
 * from offheapd's shared mapping (local reads), over its Unix socket, and
 * hiredis against a redis-server's Unix socket, in one run.
 *
 *   localread_bench <offheapd-socket> [redis-socket]
 *   env: LR_KEYS (1000000), LR_SECS (2), LR_SAMPLES (300000)
 *
 * Loads LR_KEYS entries of ~100 B (JSON) into each server, then reads
 * random present keys one at a time: throughput over LR_SECS, and the
 * latency of LR_SAMPLES single reads (clock_gettime around each, its own
 * ~20 ns included). Prints one table; numbers only, never a verdict. */
#define _GNU_SOURCE
#include "offheap.h"

#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct row {
    const char *name;
    double per_s, p50, p99, p999;
};

static unsigned nkeys, nsamples;
static double secs;
static char **keys;

static double
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
value_of(unsigned i, char *v, size_t cap)
{
    return snprintf(v, cap,
                    "{\"id\":%u,\"user\":\"user-%08u\",\"plan\":\"pro\","
                    "\"score\":%u,\"tags\":[\"a\",\"b\"],\"ok\":true}",
                    i, i * 2654435761u, i % 1000);
}

static void
make_keys(void)
{
    keys = calloc(nkeys, sizeof(*keys));
    for (unsigned i = 0; i < nkeys; i++) {
        char k[32];
        snprintf(k, sizeof(k), "user:%u", i);
        keys[i] = strdup(k);
    }
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef int read_fn(void *h, const char *key);

static uint64_t rnd = 88172645463325252ull;

static unsigned
next_key(void)
{
    rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
    return (unsigned)(rnd % nkeys);
}

/* Runs fn for `secs` (throughput), then times nsamples single reads. */
static struct row
measure(const char *name, read_fn *fn, void *h)
{
    struct row r = {name, 0, 0, 0, 0};
    double t0 = now_ns(), t;
    uint64_t n = 0;
    do {
        for (int i = 0; i < 1000; i++) {
            if (fn(h, keys[next_key()]) != 1) {
                fprintf(stderr, "%s: a present key missed\n", name);
                exit(1);
            }
        }
        n += 1000;
        t = now_ns();
    } while (t - t0 < secs * 1e9);
    r.per_s = (double)n / ((t - t0) / 1e9);
    double *lat = malloc(nsamples * sizeof(*lat));
    for (unsigned i = 0; i < nsamples; i++) {
        const char *k = keys[next_key()];
        double a = now_ns();
        fn(h, k);
        lat[i] = now_ns() - a;
    }
    qsort(lat, nsamples, sizeof(*lat), cmp_double);
    r.p50 = lat[nsamples / 2];
    r.p99 = lat[(size_t)(nsamples * 0.99)];
    r.p999 = lat[(size_t)(nsamples * 0.999)];
    free(lat);
    return r;
}

static int
oh_get(void *h, const char *key)
{
    void *v;
    size_t n;
    int rc = offheap_get(h, key, strlen(key), &v, &n);
    offheap_free_value(v);
    return rc;
}

static int
copy_fixed(void *arg, const char *val, size_t vlen)
{
    if (vlen > 256) {
        return OFFHEAP_ERR_INVAL;
    }
    memcpy(arg, val, vlen);
    return 0;
}

static int
oh_get_local(void *h, const char *key)
{
    char buf[256];
    return offheap_get_local(h, key, strlen(key), copy_fixed, buf);
}

static int
redis_get(void *h, const char *key)
{
    redisReply *r = redisCommand(h, "GET %s", key);
    int rc = r != NULL && r->type == REDIS_REPLY_STRING;
    freeReplyObject(r);
    return rc;
}

static void
load_offheap(offheap_t *c)
{
    enum { BATCH = 1000 };
    const char *k[BATCH];
    const void *v[BATCH];
    size_t kl[BATCH], vl[BATCH];
    static char vals[BATCH][160];
    for (unsigned i = 0; i < nkeys; i += BATCH) {
        unsigned n = nkeys - i < BATCH ? nkeys - i : BATCH;
        for (unsigned j = 0; j < n; j++) {
            k[j] = keys[i + j];
            kl[j] = strlen(k[j]);
            vl[j] = (size_t)value_of(i + j, vals[j], sizeof(vals[j]));
            v[j] = vals[j];
        }
        if (offheap_mset(c, n, k, kl, v, vl, 0) != 0) {
            fprintf(stderr, "load: %s\n", offheap_errstr(c));
            exit(1);
        }
    }
}

static void
load_redis(redisContext *rc)
{
    char v[160];
    for (unsigned i = 0; i < nkeys; i++) {
        int n = value_of(i, v, sizeof(v));
        redisAppendCommand(rc, "SET %s %b", keys[i], v, (size_t)n);
        if (i % 1000 == 999 || i + 1 == nkeys) {
            for (unsigned j = 0; j <= i % 1000; j++) {
                redisReply *r;
                redisGetReply(rc, (void **)&r);
                freeReplyObject(r);
            }
        }
    }
}

static void
print_row(const struct row *r)
{
    printf("| %-38s | %12.0f | %8.0f | %8.0f | %8.0f |\n", r->name, r->per_s,
           r->p50, r->p99, r->p999);
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s <offheapd-socket> [redis-socket]\n",
                argv[0]);
        return 2;
    }
    nkeys = getenv("LR_KEYS") ? (unsigned)atoi(getenv("LR_KEYS")) : 1000000;
    secs = getenv("LR_SECS") ? atof(getenv("LR_SECS")) : 2.0;
    nsamples =
        getenv("LR_SAMPLES") ? (unsigned)atoi(getenv("LR_SAMPLES")) : 300000;
    make_keys();
    char spec[160];
    snprintf(spec, sizeof(spec), "unix:%s", argv[1]);
    offheap_t *c = offheap_connect(spec, 5000);
    load_offheap(c);
    struct row rows[4];
    int n = 0;
    rows[n++] = measure("offheap_get, local (malloc'd copy)", oh_get, c);
    rows[n++] =
        measure("offheap_get_local (copy to a buffer)", oh_get_local, c);
    offheap_set_local_reads(c, OFFHEAP_LOCAL_OFF);
    rows[n++] = measure("offheap_get, Unix socket", oh_get, c);
    offheap_close(c);
    if (argc > 2) {
        redisContext *rc = redisConnectUnix(argv[2]);
        if (rc == NULL || rc->err) {
            fprintf(stderr, "redis: cannot connect\n");
            return 1;
        }
        load_redis(rc);
        rows[n++] =
            measure("hiredis GET, redis-server Unix socket", redis_get, rc);
        redisFree(rc);
    }
    printf("%u keys of ~100 B, random present keys, one read at a time\n",
           nkeys);
    printf("| %-38s | %12s | %8s | %8s | %8s |\n", "path", "reads/s", "p50 ns",
           "p99 ns", "p99.9 ns");
    printf("|%s|%s|%s|%s|%s|\n", "----------------------------------------",
           "--------------", "----------", "----------", "----------");
    for (int i = 0; i < n; i++) {
        print_row(&rows[i]);
    }
    return 0;
}
