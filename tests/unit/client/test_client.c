/* test_client.c -- liboffheap's synchronous API against a live offheapd
 * ($OFFHEAPD, default build/offheapd, started on a free port). */
#include "offheap.h"
#include "tests/support/spawn.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TIMEOUT_MS 2000 /* deadline of calls in tests */

static struct spawn_server srv;
static char sock[64];
static char addr[96];

static int
group_setup(void **state)
{
    const char *extra[] = {"--unixsocket", sock, "--unixsocketperm", "700",
                           NULL};

    (void)state;
    snprintf(sock, sizeof(sock), "/tmp/ohc-%d.sock", (int)getpid());
    if (spawn_start(&srv, extra) != 0) {
        return -1;
    }
    snprintf(addr, sizeof(addr), "%s:%d", srv.host, srv.port);
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    spawn_stop(&srv);
    unlink(sock);
    return 0;
}

static offheap_t *
connect_ok(const char *servers)
{
    offheap_t *c = offheap_connect(servers, TIMEOUT_MS);

    assert_non_null(c);
    if (offheap_err(c) != 0) {
        fail_msg("connect %s: %s", servers, offheap_errstr(c));
    }
    return c;
}

static void
flush(offheap_t *c)
{
    const char *argv[] = {"FLUSHALL"};
    size_t lens[] = {8};
    offheap_reply_t *r = NULL;

    assert_int_equal(offheap_command_argv(c, 1, argv, lens, 0, &r), 0);
    offheap_reply_free(&r);
}

static void
test_client_set_get_binary(void **state)
{
    offheap_t *c = connect_ok(addr);
    const char val[] = "a\0b\r\n$3\r\n\xff";
    void *got = NULL;
    size_t glen = 0;

    (void)state;
    flush(c);
    assert_int_equal(offheap_set(c, "k\0x", 3, val, sizeof(val), 0), 0);
    assert_int_equal(offheap_get(c, "k\0x", 3, &got, &glen), 1);
    assert_int_equal(glen, sizeof(val));
    assert_memory_equal(got, val, sizeof(val));
    offheap_free_value(got);
    assert_int_equal(offheap_get(c, "k", 1, &got, &glen), 0);
    assert_null(got);
    assert_int_equal(offheap_set(c, "empty", 5, "", 0, 0), 0);
    assert_int_equal(offheap_get(c, "empty", 5, &got, &glen), 1);
    assert_int_equal(glen, 0);
    offheap_free_value(got);
    offheap_close(c);
}

static void
test_client_set_nx_xx(void **state)
{
    offheap_t *c = connect_ok(addr);

    (void)state;
    flush(c);
    assert_int_equal(offheap_set_ex(c, "n", 1, "1", 1, 0, OFFHEAP_XX), 0);
    assert_int_equal(offheap_set_ex(c, "n", 1, "1", 1, 0, OFFHEAP_NX), 1);
    assert_int_equal(offheap_set_ex(c, "n", 1, "2", 1, 0, OFFHEAP_NX), 0);
    assert_int_equal(offheap_set_ex(c, "n", 1, "3", 1, 5000, OFFHEAP_XX), 1);
    offheap_close(c);
}

static void
test_client_ttl_expire_del(void **state)
{
    offheap_t *c = connect_ok(addr);
    int64_t ttl = 0;

    (void)state;
    flush(c);
    assert_int_equal(offheap_set(c, "t", 1, "v", 1, 10000), 0);
    assert_int_equal(offheap_ttl(c, "t", 1, &ttl), 1);
    assert_true(ttl > 9000 && ttl <= 10000);
    assert_int_equal(offheap_set(c, "p", 1, "v", 1, 0), 0);
    assert_int_equal(offheap_ttl(c, "p", 1, &ttl), 1);
    assert_int_equal(ttl, -1);
    assert_int_equal(offheap_expire(c, "p", 1, 50000), 1);
    assert_int_equal(offheap_ttl(c, "p", 1, &ttl), 1);
    assert_true(ttl > 49000);
    assert_int_equal(offheap_expire(c, "missing", 7, 1000), 0);
    assert_int_equal(offheap_ttl(c, "missing", 7, &ttl), 0);
    assert_int_equal(offheap_del(c, "p", 1), 1);
    assert_int_equal(offheap_del(c, "p", 1), 0);
    offheap_close(c);
}

static void
test_client_incr(void **state)
{
    offheap_t *c = connect_ok(addr);
    int64_t n = 0;

    (void)state;
    flush(c);
    assert_int_equal(offheap_incr(c, "ctr", 3, 5, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(offheap_incr(c, "ctr", 3, -7, &n), 0);
    assert_int_equal(n, -2);
    assert_int_equal(offheap_set(c, "s", 1, "abc", 3, 0), 0);
    assert_int_equal(offheap_incr(c, "s", 1, 1, &n), OFFHEAP_ERR_SERVER);
    assert_non_null(strstr(offheap_errstr(c), "not an integer"));
    /* the handle stays usable after an error reply */
    assert_int_equal(offheap_incr(c, "ctr", 3, 2, &n), 0);
    assert_int_equal(n, 0);
    offheap_close(c);
}

static void
test_client_mget_mset(void **state)
{
    offheap_t *c = connect_ok(addr);
    const char *keys[] = {"m1", "m2", "m3", "nope"};
    size_t klens[] = {2, 2, 2, 4};
    const void *vals[] = {"one", "two", "three"};
    size_t vlens[] = {3, 3, 5};
    void *got[4];
    size_t glens[4];

    (void)state;
    flush(c);
    assert_int_equal(offheap_mset(c, 3, keys, klens, vals, vlens, 0), 0);
    assert_int_equal(offheap_mget(c, 4, keys, klens, got, glens), 3);
    assert_int_equal(glens[2], 5);
    assert_memory_equal(got[2], "three", 5);
    assert_null(got[3]);
    for (int i = 0; i < 4; i++) {
        offheap_free_value(got[i]);
    }
    assert_int_equal(offheap_mset(c, 3, keys, klens, vals, vlens, 30000), 0);
    int64_t ttl = 0;
    assert_int_equal(offheap_ttl(c, "m1", 2, &ttl), 1);
    assert_true(ttl > 29000);
    offheap_close(c);
}

static void
test_client_pipeline(void **state)
{
    offheap_t *c = connect_ok(addr);
    char key[32], val[32];

    (void)state;
    flush(c);
    for (int i = 0; i < 2000; i++) {
        int kl = snprintf(key, sizeof(key), "pl:%d", i);
        int vl = snprintf(val, sizeof(val), "v%d", i);

        assert_int_equal(
            offheap_append_set(c, key, (size_t)kl, val, (size_t)vl, 0), 0);
        assert_int_equal(offheap_append_get(c, key, (size_t)kl), 0);
    }
    assert_int_equal(offheap_pending(c), 4000);
    for (int i = 0; i < 2000; i++) {
        offheap_reply_t *r = NULL;
        int vl = snprintf(val, sizeof(val), "v%d", i);

        assert_int_equal(offheap_get_reply(c, &r), 0);
        assert_int_equal(r->type, OFFHEAP_REPLY_STATUS);
        offheap_reply_free(&r);
        assert_int_equal(offheap_get_reply(c, &r), 0);
        assert_int_equal(r->type, OFFHEAP_REPLY_STRING);
        assert_int_equal(r->len, (size_t)vl);
        assert_memory_equal(r->str, val, (size_t)vl);
        offheap_reply_free(&r);
    }
    assert_int_equal(offheap_pending(c), 0);
    offheap_close(c);
}

static void
test_client_command_argv_and_prefix(void **state)
{
    offheap_t *raw = connect_ok(addr);
    offheap_options_t o;
    offheap_t *a, *b;
    void *v = NULL;
    size_t vl = 0;

    (void)state;
    flush(raw);
    offheap_options_init(&o);
    o.servers = addr;
    o.prefix = "app1:";
    a = offheap_connect_with(&o);
    o.prefix = "app2:";
    b = offheap_connect_with(&o);
    assert_int_equal(offheap_set(a, "user", 4, "A", 1, 0), 0);
    assert_int_equal(offheap_set(b, "user", 4, "B", 1, 0), 0);
    assert_int_equal(offheap_get(a, "user", 4, &v, &vl), 1);
    assert_memory_equal(v, "A", 1);
    offheap_free_value(v);
    assert_int_equal(offheap_get(raw, "app2:user", 9, &v, &vl), 1);
    assert_memory_equal(v, "B", 1);
    offheap_free_value(v);
    assert_int_equal(offheap_get(raw, "user", 4, &v, &vl), 0);

    const char *argv[] = {"STRLEN", "user"};
    size_t lens[] = {6, 4};
    offheap_reply_t *r = NULL;
    assert_int_equal(offheap_command_argv(a, 2, argv, lens, 1, &r), 0);
    assert_int_equal(r->type, OFFHEAP_REPLY_INTEGER);
    assert_int_equal(r->integer, 1);
    offheap_reply_free(&r);
    /* key_index 0: sent as given */
    assert_int_equal(offheap_command_argv(a, 2, argv, lens, 0, &r), 0);
    assert_int_equal(r->integer, 0);
    offheap_reply_free(&r);
    offheap_close(a);
    offheap_close(b);
    offheap_close(raw);
}

static void
test_client_unix_socket(void **state)
{
    char spec[96];
    offheap_t *c;
    void *v = NULL;
    size_t vl = 0;

    (void)state;
    snprintf(spec, sizeof(spec), "unix:%s", sock);
    c = connect_ok(spec);
    assert_int_equal(offheap_set(c, "u", 1, "sock", 4, 0), 0);
    assert_int_equal(offheap_get(c, "u", 1, &v, &vl), 1);
    assert_memory_equal(v, "sock", 4);
    offheap_free_value(v);
    /* twemproxy names "path:weight" servers "path:" on the ring */
    snprintf(spec, sizeof(spec), "%s:", sock);
    assert_string_equal(offheap_server_name(c, 0), spec);
    offheap_close(c);
}

static void
test_client_bad_spec(void **state)
{
    const char *bad[] = {"",         "nohost", "h:0",  "h:99999",
                         "a:1,,b:2", "unix:",  "h:1:0"};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        offheap_t *c = offheap_connect(bad[i], 100);
        void *v = NULL;
        size_t vl;

        assert_non_null(c);
        assert_int_equal(offheap_err(c), OFFHEAP_ERR_INVAL);
        assert_true(strlen(offheap_errstr(c)) > 0);
        assert_int_equal(offheap_get(c, "k", 1, &v, &vl), OFFHEAP_ERR_INVAL);
        offheap_close(c);
    }
}

static void
test_client_deadline_then_recover(void **state)
{
    offheap_t *c = connect_ok(addr);
    const char *argv[] = {"DEBUG", "SLEEP", "0.3"};
    size_t lens[] = {5, 5, 3};
    offheap_reply_t *r = NULL;
    void *v = NULL;
    size_t vl = 0;

    (void)state;
    assert_int_equal(offheap_set(c, "d", 1, "fine", 4, 0), 0);
    offheap_set_timeout(c, 100);
    assert_int_equal(offheap_command_argv(c, 3, argv, lens, 0, &r),
                     OFFHEAP_ERR_TIMEOUT);
    assert_null(r);
    assert_non_null(strstr(offheap_errstr(c), "deadline"));
    /* the late +OK of DEBUG SLEEP must not be taken as GET's reply */
    offheap_set_timeout(c, TIMEOUT_MS);
    assert_int_equal(offheap_get(c, "d", 1, &v, &vl), 1);
    assert_memory_equal(v, "fine", 4);
    offheap_free_value(v);
    offheap_close(c);
}

static int
free_port(void)
{
    struct spawn_server tmp;

    /* a port that was just free: the one a stopped server had */
    if (spawn_start(&tmp, NULL) != 0) {
        return 1;
    }
    int port = tmp.port;
    spawn_stop(&tmp);
    return port;
}

static void
test_client_backoff_when_down(void **state)
{
    char spec[64];
    offheap_options_t o;
    offheap_t *c;
    void *v = NULL;
    size_t vl = 0;

    (void)state;
    snprintf(spec, sizeof(spec), "127.0.0.1:%d", free_port());
    offheap_options_init(&o);
    o.servers = spec;
    o.backoff_min_ms = 200;
    c = offheap_connect_with(&o);
    assert_non_null(c);
    assert_int_equal(offheap_err(c), OFFHEAP_ERR_IO);
    assert_non_null(strstr(offheap_errstr(c), "refused"));
    long long t0 = spawn_now_ms();
    assert_int_equal(offheap_get(c, "k", 1, &v, &vl), OFFHEAP_ERR_DOWN);
    assert_true(spawn_now_ms() - t0 < 50);
    assert_non_null(strstr(offheap_errstr(c), "down"));
    spawn_sleep_ms(250);
    assert_int_equal(offheap_get(c, "k", 1, &v, &vl), OFFHEAP_ERR_IO);
    offheap_close(c);
}

static void
kill_client(offheap_t *victim, offheap_t *killer)
{
    const char *idv[] = {"CLIENT", "ID"};
    size_t idl[] = {6, 2};
    char id[32];
    offheap_reply_t *r = NULL;

    assert_int_equal(offheap_command_argv(victim, 2, idv, idl, 0, &r), 0);
    assert_int_equal(r->type, OFFHEAP_REPLY_INTEGER);
    snprintf(id, sizeof(id), "%lld", r->integer);
    offheap_reply_free(&r);
    const char *kv[] = {"CLIENT", "KILL", "ID", id};
    size_t kl[] = {6, 4, 2, strlen(id)};
    assert_int_equal(offheap_command_argv(killer, 4, kv, kl, 0, &r), 0);
    offheap_reply_free(&r);
}

static void
test_client_auth_replayed_on_reconnect(void **state)
{
    const char *extra[] = {"--requirepass", "s3cret", NULL};
    struct spawn_server ps;
    char spec[64];
    offheap_options_t o;
    void *v = NULL;
    size_t vl = 0;
    int rc;

    (void)state;
    assert_int_equal(spawn_start(&ps, extra), 0);
    snprintf(spec, sizeof(spec), "127.0.0.1:%d", ps.port);
    offheap_options_init(&o);
    o.servers = spec;
    o.password = "wrong";
    offheap_t *bad = offheap_connect_with(&o);
    assert_int_equal(offheap_err(bad), OFFHEAP_ERR_SERVER);
    assert_non_null(strstr(offheap_errstr(bad), "WRONGPASS"));
    offheap_close(bad);

    o.password = "s3cret";
    offheap_t *c = offheap_connect_with(&o);
    offheap_t *admin = offheap_connect_with(&o);
    assert_int_equal(offheap_err(c), 0);
    assert_int_equal(offheap_set(c, "a", 1, "1", 1, 0), 0);
    kill_client(c, admin);
    /* the first call may see the closed socket; the next reconnects and
     * authenticates again */
    rc = offheap_get(c, "a", 1, &v, &vl);
    if (rc < 0) {
        assert_int_equal(rc, OFFHEAP_ERR_IO);
        rc = offheap_get(c, "a", 1, &v, &vl);
    }
    assert_int_equal(rc, 1);
    offheap_free_value(v);
    offheap_close(admin);
    offheap_close(c);
    spawn_stop(&ps);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_set_get_binary),
        cmocka_unit_test(test_client_set_nx_xx),
        cmocka_unit_test(test_client_ttl_expire_del),
        cmocka_unit_test(test_client_incr),
        cmocka_unit_test(test_client_mget_mset),
        cmocka_unit_test(test_client_pipeline),
        cmocka_unit_test(test_client_command_argv_and_prefix),
        cmocka_unit_test(test_client_unix_socket),
        cmocka_unit_test(test_client_bad_spec),
        cmocka_unit_test(test_client_deadline_then_recover),
        cmocka_unit_test(test_client_backoff_when_down),
        cmocka_unit_test(test_client_auth_replayed_on_reconnect),
    };

    return cmocka_run_group_tests_name("client", tests, group_setup,
                                       group_teardown);
}
