/* test_ketama.c -- several servers: ketama placement (checked against a
 * real twemproxy when `nutcracker` is installed), {hash tags}, multi-key
 * calls split per server, and a dead server in the ring. */
#include "offheap.h"
#include "offheap_int.h"
#include "tests/support/spawn.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define NSRV  3   /* servers in the ring */
#define NKEYS 300 /* keys placed in each check */

static struct spawn_server srv[NSRV];
static char ring[256]; /* "h:p1:1,h:p2:1,h:p3:2" */

static int
group_setup(void **state)
{
    size_t n = 0;

    (void)state;
    for (int i = 0; i < NSRV; i++) {
        if (spawn_start(&srv[i], NULL) != 0) {
            return -1;
        }
        n += (size_t)snprintf(ring + n, sizeof(ring) - n, "%s%s:%d:%d",
                              i ? "," : "", srv[i].host, srv[i].port,
                              i == 2 ? 2 : 1);
    }
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NSRV; i++) {
        spawn_stop(&srv[i]);
    }
    return 0;
}

static offheap_t *
server_handle(int i)
{
    char spec[96];

    snprintf(spec, sizeof(spec), "%.64s:%d", srv[i].host, srv[i].port);
    return offheap_connect(spec, 2000);
}

static int
key_of(char *buf, size_t n, int i)
{
    /* plain keys, tagged keys and bytes >= 0x80 (signed-char fnv quirk) */
    switch (i % 3) {
    case 0:
        return snprintf(buf, n, "user:%d", i);
    case 1:
        return snprintf(buf, n, "{tag%d}:x%d", i % 7, i);
    default:
        return snprintf(buf, n, "caf\xc3\xa9:%d:\xff", i);
    }
}

static void
test_ketama_vectors(void **state)
{
    unsigned char d[16];

    (void)state;
    /* fnv1a_64 truncated to 32 bits, as twemproxy: the offset basis */
    assert_int_equal(offheap_hash(OFFHEAP_HASH_FNV1A_64, "", 0), 0x84222325u);
    offheap_md5("abc", 3, d);
    assert_int_equal(d[0], 0x90);
    assert_int_equal(d[15], 0x72);
    const char *k = "a{b}c";
    size_t kl = 5;
    offheap_hash_tag(&k, &kl);
    assert_int_equal(kl, 1);
    assert_memory_equal(k, "b", 1);
    k = "a{}c";
    kl = 4;
    offheap_hash_tag(&k, &kl);
    assert_int_equal(kl, 4); /* empty tag: whole key */
}

static void
test_ketama_spreads_and_tags(void **state)
{
    offheap_t *c = offheap_connect(ring, 2000);
    int count[NSRV] = {0};
    char key[64];

    (void)state;
    assert_int_equal(offheap_err(c), 0);
    assert_int_equal(offheap_server_count(c), NSRV);
    for (int i = 0; i < 3000; i++) {
        /* varying bytes first: twemproxy's fnv1a_64 keeps a 32-bit state
         * with a small prime, so a varying tail barely moves the hash */
        int kl = snprintf(key, sizeof(key), "%d:k", i);

        count[offheap_server_of(c, key, (size_t)kl)]++;
    }
    /* weights 1:1:2 */
    assert_true(count[0] > 300 && count[1] > 300 && count[2] > 900);
    size_t s = offheap_server_of(c, "{u1}:a", 6);
    assert_int_equal(offheap_server_of(c, "{u1}:bbbbbb", 11), s);
    assert_int_equal(offheap_server_of(c, "zzz{u1}", 7), s);
    offheap_close(c);
}

static void
test_ketama_mget_split(void **state)
{
    offheap_t *c = offheap_connect(ring, 2000);
    const char *keys[NKEYS];
    size_t klens[NKEYS];
    const void *vals[NKEYS];
    void *got[NKEYS + 1];
    size_t glens[NKEYS + 1];
    char buf[NKEYS][64];

    (void)state;
    for (int i = 0; i < NKEYS; i++) {
        klens[i] = (size_t)key_of(buf[i], sizeof(buf[i]), i);
        keys[i] = buf[i];
        vals[i] = buf[i];
    }
    assert_int_equal(offheap_mset(c, NKEYS, keys, klens, vals, klens, 0), 0);
    assert_int_equal(offheap_mget(c, NKEYS, keys, klens, got, glens), NKEYS);
    for (int i = 0; i < NKEYS; i++) {
        assert_int_equal(glens[i], klens[i]);
        assert_memory_equal(got[i], keys[i], klens[i]);
        offheap_free_value(got[i]);
    }
    /* each key is on the server the ring names, and only there */
    for (int s = 0; s < NSRV; s++) {
        offheap_t *one = server_handle(s);

        for (int i = 0; i < NKEYS; i += 7) {
            void *v = NULL;
            size_t vl;
            int want = offheap_server_of(c, keys[i], klens[i]) == (size_t)s;

            assert_int_equal(offheap_get(one, keys[i], klens[i], &v, &vl),
                             want);
            offheap_free_value(v);
        }
        offheap_close(one);
    }
    offheap_close(c);
}

static void
test_ketama_dead_server_fails_fast(void **state)
{
    struct spawn_server tmp;
    char spec[320];
    offheap_t *c;
    int ok = 0, down = 0;

    (void)state;
    assert_int_equal(spawn_start(&tmp, NULL), 0);
    snprintf(spec, sizeof(spec), "%s,127.0.0.1:%d", ring, tmp.port);
    spawn_stop(&tmp);
    c = offheap_connect(spec, 2000);
    assert_int_equal(offheap_err(c), OFFHEAP_ERR_IO);
    for (int i = 0; i < 200; i++) {
        char key[32];
        int kl = snprintf(key, sizeof(key), "%d:d", i);
        int rc = offheap_set(c, key, (size_t)kl, "v", 1, 0);

        ok += rc == 0;
        down += rc == OFFHEAP_ERR_DOWN || rc == OFFHEAP_ERR_IO;
    }
    assert_int_equal(ok + down, 200);
    assert_true(ok > 80 && down > 10);
    offheap_close(c);
}

/* ---- compatibility with twemproxy (nutcracker) ---- */

static int
free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &len);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static const char *
nutcracker_path(void)
{
    static const char *paths[] = {"/usr/sbin/nutcracker",
                                  "/usr/local/sbin/nutcracker",
                                  "/usr/bin/nutcracker"};

    for (size_t i = 0; i < 3; i++) {
        if (access(paths[i], X_OK) == 0) {
            return paths[i];
        }
    }
    return NULL;
}

static void
write_conf(const char *path, const char *hash, int port)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fprintf(f,
            "pool:\n  listen: 127.0.0.1:%d\n  hash: %s\n  hash_tag: \"{}\"\n"
            "  distribution: ketama\n  redis: true\n"
            "  auto_eject_hosts: false\n  servers:\n",
            port, hash);
    for (int i = 0; i < NSRV; i++) {
        fprintf(f, "   - %s:%d:%d\n", srv[i].host, srv[i].port, i == 2 ? 2 : 1);
    }
    fclose(f);
}

static pid_t
start_nutcracker(const char *bin, const char *conf, int stats)
{
    char sp[16];
    pid_t pid = fork();

    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        snprintf(sp, sizeof(sp), "%d", stats);
        if (freopen("/dev/null", "w", stdout) == NULL ||
            freopen("/dev/null", "w", stderr) == NULL) {
            _exit(126);
        }
        execl(bin, bin, "-c", conf, "-s", sp, "-o", "/dev/null", (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Writes NKEYS keys through twemproxy and finds each where we place it. */
static void
check_placement(const char *hash, int hash_kind)
{
    char conf[64], proxy[64], key[64];
    int port = free_port();
    offheap_options_t o;
    offheap_t *via, *ours, *one[NSRV];
    pid_t pid;

    snprintf(conf, sizeof(conf), "/tmp/ohc-nut-%d.yml", (int)getpid());
    write_conf(conf, hash, port);
    pid = start_nutcracker(nutcracker_path(), conf, free_port());
    snprintf(proxy, sizeof(proxy), "127.0.0.1:%d", port);
    via = NULL;
    for (int t = 0; t < 100; t++) {
        via = offheap_connect(proxy, 1000);
        if (offheap_err(via) == 0) {
            break;
        }
        offheap_close(via);
        via = NULL;
        spawn_sleep_ms(30);
    }
    assert_non_null(via);
    offheap_options_init(&o);
    o.servers = ring;
    o.hash = hash_kind;
    ours = offheap_connect_with(&o);
    for (int s = 0; s < NSRV; s++) {
        one[s] = server_handle(s);
        const char *fa[] = {"FLUSHALL"};
        size_t fl[] = {8};
        offheap_reply_t *r = NULL;
        assert_int_equal(offheap_command_argv(one[s], 1, fa, fl, 0, &r), 0);
        offheap_reply_free(&r);
    }
    for (int i = 0; i < NKEYS; i++) {
        int kl = key_of(key, sizeof(key), i);
        size_t s = offheap_server_of(ours, key, (size_t)kl);
        void *v = NULL;
        size_t vl;

        assert_int_equal(offheap_set(via, key, (size_t)kl, "x", 1, 0), 0);
        if (offheap_get(one[s], key, (size_t)kl, &v, &vl) != 1) {
            fail_msg("%s: key %d went elsewhere than server %zu", hash, i, s);
        }
        offheap_free_value(v);
    }
    for (int s = 0; s < NSRV; s++) {
        offheap_close(one[s]);
    }
    offheap_close(ours);
    offheap_close(via);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    unlink(conf);
}

static void
test_ketama_same_as_twemproxy(void **state)
{
    (void)state;
    if (nutcracker_path() == NULL) {
        skip();
    }
    check_placement("fnv1a_64", OFFHEAP_HASH_FNV1A_64);
    check_placement("md5", OFFHEAP_HASH_MD5);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ketama_vectors),
        cmocka_unit_test(test_ketama_spreads_and_tags),
        cmocka_unit_test(test_ketama_mget_split),
        cmocka_unit_test(test_ketama_dead_server_fails_fast),
        cmocka_unit_test(test_ketama_same_as_twemproxy),
    };

    return cmocka_run_group_tests_name("client_ketama", tests, group_setup,
                                       group_teardown);
}
