/*
 * twemproxy_check.c -- liboffheap's side of tests/integration/twemproxy.sh.
 *
 * Not a test_*.c (the Makefile would build it as a cmocka test): the shell
 * test compiles it against $(dirname $OFFHEAPD)/liboffheap.a.
 *
 *   twemproxy_check check SPEC N   keys key:0 .. key:N-1, written through
 *                                  nutcracker with the value val:<i>
 *   twemproxy_check place SPEC N   prints "<i> <shard>" for each key
 *
 * SPEC is the ketama spec of liboffheap, the same servers list as the
 * proxy's ("127.0.0.1:P0:1 shard0,127.0.0.1:P1:1 shard1,...").
 *
 * check reads every key three ways: through a liboffheap handle on the
 * whole ring (its own ketama picks the shard), directly from the shard
 * offheap_server_of() names, and from every other shard, where it must be
 * missing. Then the key was placed by the proxy where liboffheap places it.
 * Prints "shard <s> <name> <keys>" per shard, then "ring_hits N",
 * "owner_hits N", "elsewhere N" (keys found on a shard that is not theirs)
 * and up to 5 "mismatch ..." lines. Exits 0 when all N agree.
 */
#include "offheap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SHARDS 16
#define TIMEOUT_MS 2000

/* "host:port" of server entry `i` of spec into out (the weight and the
 * name dropped), so that a single-server handle reaches it. */
static int
shard_addr(const char *spec, size_t i, char *out, size_t cap)
{
    const char *p = spec;

    for (size_t k = 0; k < i; k++) {
        p = strchr(p, ',');
        if (p == NULL) {
            return -1;
        }
        p++;
    }
    size_t n = strcspn(p, ", ");
    const char *colon1 = memchr(p, ':', n);
    const char *colon2 =
        colon1 != NULL ? memchr(colon1 + 1, ':', n - (size_t)(colon1 + 1 - p))
                       : NULL;
    if (colon2 != NULL) {
        n = (size_t)(colon2 - p); /* drop ":weight" */
    }
    if (n + 1 > cap) {
        return -1;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static int
get_value(offheap_t *c, const char *key, char **val)
{
    void *v = NULL;
    size_t vlen = 0;
    int rc = offheap_get(c, key, strlen(key), &v, &vlen);

    *val = rc == 1 ? v : NULL;
    if (rc != 1) {
        offheap_free_value(v);
    }
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s check|place SPEC N\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1], *spec = argv[2];
    long n = strtol(argv[3], NULL, 10);
    offheap_t *ring = offheap_connect(spec, TIMEOUT_MS);

    if (ring == NULL || offheap_err(ring) == OFFHEAP_ERR_INVAL) {
        fprintf(stderr, "bad spec %s: %s\n", spec,
                ring ? offheap_errstr(ring) : "out of memory");
        return 2;
    }
    size_t nsrv = offheap_server_count(ring);
    if (nsrv == 0 || nsrv > MAX_SHARDS) {
        fprintf(stderr, "%zu servers in %s\n", nsrv, spec);
        return 2;
    }
    if (strcmp(mode, "place") == 0) {
        for (long i = 0; i < n; i++) {
            char key[64];
            snprintf(key, sizeof(key), "key:%ld", i);
            printf("%ld %zu\n", i, offheap_server_of(ring, key, strlen(key)));
        }
        offheap_close(ring);
        return 0;
    }
    if (strcmp(mode, "check") != 0) {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }

    offheap_t *shard[MAX_SHARDS];
    long placed[MAX_SHARDS] = {0};
    for (size_t s = 0; s < nsrv; s++) {
        char addr[256];
        if (shard_addr(spec, s, addr, sizeof(addr)) != 0) {
            fprintf(stderr, "cannot read server %zu of %s\n", s, spec);
            return 2;
        }
        shard[s] = offheap_connect(addr, TIMEOUT_MS);
        if (shard[s] == NULL) {
            return 2;
        }
    }

    long ring_hits = 0, owner_hits = 0, elsewhere = 0, bad = 0;
    for (long i = 0; i < n; i++) {
        char key[64], want[64], *got = NULL;
        snprintf(key, sizeof(key), "key:%ld", i);
        snprintf(want, sizeof(want), "val:%ld", i);
        size_t owner = offheap_server_of(ring, key, strlen(key));
        int ok = 1;

        placed[owner]++;
        int rc = get_value(ring, key, &got);
        if (rc == 1 && strcmp(got, want) == 0) {
            ring_hits++;
        } else {
            ok = 0;
        }
        offheap_free_value(got);
        for (size_t s = 0; s < nsrv; s++) {
            rc = get_value(shard[s], key, &got);
            if (s == owner && rc == 1 && strcmp(got, want) == 0) {
                owner_hits++;
            } else if (s == owner) {
                ok = 0;
            } else if (rc != 0) {
                elsewhere++;
                ok = 0;
            }
            offheap_free_value(got);
        }
        if (!ok && bad++ < 5) {
            printf("mismatch %s: liboffheap places it on shard %zu (%s)\n", key,
                   owner, offheap_server_name(ring, owner));
        }
    }
    for (size_t s = 0; s < nsrv; s++) {
        printf("shard %zu %s %ld\n", s, offheap_server_name(ring, s),
               placed[s]);
        offheap_close(shard[s]);
    }
    printf("ring_hits %ld\nowner_hits %ld\nelsewhere %ld\n", ring_hits,
           owner_hits, elsewhere);
    offheap_close(ring);
    return ring_hits == n && owner_hits == n && elsewhere == 0 ? 0 : 1;
}
