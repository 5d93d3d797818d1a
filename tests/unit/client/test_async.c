/* test_async.c -- liboffheap's async API on libevent against a live
 * offheapd: many commands in flight, deadlines, close inside a callback,
 * a refused server, AUTH. */
#include "offheap.h"
#include "tests/support/spawn.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#define INFLIGHT 2000 /* commands submitted before the loop runs */

static struct spawn_server srv;
static char addr[96];

/* What the callbacks saw. */
struct tally {
    int replies, errors, closed, timeouts, order_bad;
    int next; /* index expected next */
    int last_status;
    char last_err[128];
};

static int
group_setup(void **state)
{
    (void)state;
    if (spawn_start(&srv, NULL) != 0) {
        return -1;
    }
    snprintf(addr, sizeof(addr), "%.64s:%d", srv.host, srv.port);
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    spawn_stop(&srv);
    return 0;
}

static struct tally tally;

static void
count_cb(offheap_async_t *ac, int status, offheap_reply_t *r, void *arg)
{
    int idx = (int)(intptr_t)arg;

    tally.last_status = status;
    if (idx != tally.next++) {
        tally.order_bad++;
    }
    if (status == 0) {
        tally.replies++;
        if (r->type == OFFHEAP_REPLY_ERROR) {
            tally.errors++;
        }
        return;
    }
    tally.timeouts += status == OFFHEAP_ERR_TIMEOUT;
    tally.closed += status == OFFHEAP_ERR_CLOSED;
    tally.errors++;
    snprintf(tally.last_err, sizeof(tally.last_err), "%s",
             offheap_async_errstr(ac));
}

static void
run_until(struct event_base *base, offheap_async_t *ac, int ms)
{
    long long end = spawn_now_ms() + ms;

    while (offheap_async_pending(ac) > 0 && spawn_now_ms() < end) {
        event_base_loop(base, EVLOOP_ONCE);
    }
}

static void
test_async_many_in_flight(void **state)
{
    struct event_base *base = event_base_new();
    offheap_async_t *ac = offheap_async_connect(base, addr, 2000);
    char key[32];

    (void)state;
    memset(&tally, 0, sizeof(tally));
    for (int i = 0; i < INFLIGHT; i++) {
        int kl = snprintf(key, sizeof(key), "a:%d", i % 100);
        int rc = (i % 2) ? offheap_async_get(ac, key, (size_t)kl, count_cb,
                                             (void *)(intptr_t)i)
                         : offheap_async_set(ac, key, (size_t)kl, "v", 1, 60000,
                                             count_cb, (void *)(intptr_t)i);
        assert_int_equal(rc, 0);
    }
    assert_int_equal(offheap_async_pending(ac), INFLIGHT);
    run_until(base, ac, 5000);
    assert_int_equal(tally.replies, INFLIGHT);
    assert_int_equal(tally.errors, 0);
    assert_int_equal(tally.order_bad, 0);
    offheap_async_close(ac);
    event_base_free(base);
}

static void
test_async_deadline_then_recover(void **state)
{
    struct event_base *base = event_base_new();
    offheap_async_t *ac = offheap_async_connect(base, addr, 100);
    const char *argv[] = {"DEBUG", "SLEEP", "0.3"};
    size_t lens[] = {5, 5, 3};

    (void)state;
    memset(&tally, 0, sizeof(tally));
    assert_int_equal(
        offheap_async_command_argv(ac, 3, argv, lens, 0, count_cb, (void *)0),
        0);
    assert_int_equal(
        offheap_async_get(ac, "x", 1, count_cb, (void *)(intptr_t)1), 0);
    long long t0 = spawn_now_ms();
    run_until(base, ac, 2000);
    assert_true(spawn_now_ms() - t0 < 280);
    assert_int_equal(tally.timeouts, 2);
    assert_non_null(strstr(tally.last_err, "deadline"));
    spawn_sleep_ms(250); /* DEBUG SLEEP ends; its late reply is dropped */
    assert_int_equal(
        offheap_async_get(ac, "x", 1, count_cb, (void *)(intptr_t)2), 0);
    run_until(base, ac, 2000);
    assert_int_equal(tally.replies, 1);
    assert_int_equal(tally.last_status, 0);
    offheap_async_close(ac);
    event_base_free(base);
}

static void
close_cb(offheap_async_t *ac, int status, offheap_reply_t *r, void *arg)
{
    count_cb(ac, status, r, arg);
    if ((intptr_t)arg == 0) {
        offheap_async_close(ac);
    }
}

static void
test_async_close_in_callback(void **state)
{
    struct event_base *base = event_base_new();
    offheap_async_t *ac = offheap_async_connect(base, addr, 2000);

    (void)state;
    memset(&tally, 0, sizeof(tally));
    for (int i = 0; i < 50; i++) {
        assert_int_equal(
            offheap_async_get(ac, "c", 1, close_cb, (void *)(intptr_t)i), 0);
    }
    /* the first reply closes the handle: the 49 others fail CLOSED, and
     * the handle is freed once the callback returns */
    for (int i = 0; i < 100 && tally.next < 50; i++) {
        event_base_loop(base, EVLOOP_ONCE);
    }
    assert_int_equal(tally.next, 50);
    assert_int_equal(tally.replies + tally.closed, 50);
    assert_true(tally.closed >= 1);
    event_base_free(base);
}

static void
test_async_refused_then_down(void **state)
{
    struct event_base *base = event_base_new();
    struct spawn_server tmp;
    char spec[96];
    offheap_async_t *ac;

    (void)state;
    assert_int_equal(spawn_start(&tmp, NULL), 0);
    snprintf(spec, sizeof(spec), "127.0.0.1:%d", tmp.port);
    spawn_stop(&tmp);
    memset(&tally, 0, sizeof(tally));
    ac = offheap_async_connect(base, spec, 1000);
    assert_non_null(ac);
    int rc = offheap_async_get(ac, "k", 1, count_cb, (void *)0);
    if (rc == 0) {
        run_until(base, ac, 2000);
        assert_int_equal(tally.errors, 1);
        rc = offheap_async_get(ac, "k", 1, count_cb, (void *)1);
    }
    /* refused: backing off, the submit fails and the callback never runs */
    assert_int_equal(rc, OFFHEAP_ERR_DOWN);
    assert_non_null(strstr(offheap_async_errstr(ac), "down"));
    offheap_async_close(ac);
    event_base_free(base);
}

static void
test_async_auth(void **state)
{
    const char *extra[] = {"--requirepass", "pw", NULL};
    struct event_base *base = event_base_new();
    struct spawn_server ps;
    char spec[96];
    offheap_options_t o;

    (void)state;
    assert_int_equal(spawn_start(&ps, extra), 0);
    snprintf(spec, sizeof(spec), "127.0.0.1:%d", ps.port);
    offheap_options_init(&o);
    o.servers = spec;
    o.password = "nope";
    offheap_async_t *bad = offheap_async_connect_with(base, &o);
    memset(&tally, 0, sizeof(tally));
    assert_int_equal(offheap_async_get(bad, "k", 1, count_cb, (void *)0), 0);
    run_until(base, bad, 2000);
    assert_int_equal(tally.errors, 1);
    assert_non_null(strstr(tally.last_err, "WRONGPASS"));
    offheap_async_close(bad);

    o.password = "pw";
    offheap_async_t *ac = offheap_async_connect_with(base, &o);
    memset(&tally, 0, sizeof(tally));
    assert_int_equal(
        offheap_async_set(ac, "k", 1, "v", 1, 0, count_cb, (void *)0), 0);
    run_until(base, ac, 2000);
    assert_int_equal(tally.replies, 1);
    assert_int_equal(tally.errors, 0);
    offheap_async_close(ac);
    event_base_free(base);
    spawn_stop(&ps);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_async_many_in_flight),
        cmocka_unit_test(test_async_deadline_then_recover),
        cmocka_unit_test(test_async_close_in_callback),
        cmocka_unit_test(test_async_refused_then_down),
        cmocka_unit_test(test_async_auth),
    };

    return cmocka_run_group_tests_name("client_async", tests, group_setup,
                                       group_teardown);
}
