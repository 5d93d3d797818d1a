/* test_notify.c: unit tests of notify.c. Each test plays systemd: it binds
 * a Unix datagram socket (a path in a temp dir, or an abstract name),
 * points NOTIFY_SOCKET at it and reads what the server sends. */
#include "notify.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char dir[64];
static char sock_path[128];
static int sock = -1;

/* Binds the fake systemd socket; name starting with '@' is abstract. */
static void
listen_at(const char *name)
{
    struct sockaddr_un sa = {0};
    sa.sun_family = AF_UNIX;
    socklen_t len;
    size_t n = strlen(name);
    memcpy(sa.sun_path, name, n);
    if (name[0] == '@') {
        sa.sun_path[0] = '\0';
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        len = (socklen_t)sizeof(sa);
    }
    sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(sock >= 0);
    assert_int_equal(bind(sock, (struct sockaddr *)&sa, len), 0);
    setenv("NOTIFY_SOCKET", name, 1);
}

static int
setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test_notify-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(sock_path, sizeof(sock_path), "%s/notify", dir);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    notify_teardown();
    if (sock >= 0) {
        close(sock);
        sock = -1;
    }
    unlink(sock_path);
    rmdir(dir);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    return 0;
}

/* Receives one datagram (waits up to 1 s). NULL if none came. */
static const char *
receive(void)
{
    static char buf[2048];
    struct timeval tv = {1, 0};
    setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssize_t n = recv(sock, buf, sizeof(buf) - 1, 0);
    if (n < 0) {
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* Asserts that nothing is waiting on the socket. */
static void
assert_nothing_sent(void)
{
    char buf[64];
    assert_int_equal(recv(sock, buf, sizeof(buf), MSG_DONTWAIT), -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

static void
test_notify_ready_status_stopping(void **state)
{
    (void)state;
    listen_at(sock_path);
    assert_int_equal(notify_setup(), 0);
    assert_true(notify_enabled());
    char want[64];
    snprintf(want, sizeof(want), "READY=1\nMAINPID=%ld", (long)getpid());
    notify_ready();
    assert_string_equal(receive(), want);
    notify_status("Loading %d%%\nnext", 42);
    assert_string_equal(receive(), "STATUS=Loading 42% next");
    notify_stopping();
    assert_string_equal(receive(), "STOPPING=1");
    notify_reloading(123456);
    assert_string_equal(receive(), "RELOADING=1\nMONOTONIC_USEC=123456");
    notify_extend_timeout(5000000);
    assert_string_equal(receive(), "EXTEND_TIMEOUT_USEC=5000000");
}

static void
test_notify_abstract_socket(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof(name), "@offheap-test-notify-%ld", (long)getpid());
    listen_at(name);
    assert_int_equal(notify_setup(), 0);
    notify_stopping();
    assert_string_equal(receive(), "STOPPING=1");
}

static void
test_notify_noop_without_socket(void **state)
{
    (void)state;
    assert_int_equal(notify_setup(), 0);
    assert_false(notify_enabled());
    assert_int_equal(notify_send("READY=1"), -1);
    notify_ready();
    notify_status("x");
    notify_watchdog();
    notify_watchdog_tick(1000000);
    assert_int_equal(notify_watchdog_interval_us(), 0);
}

static void
test_notify_bad_address_disables(void **state)
{
    (void)state;
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    assert_int_equal(notify_setup(), -1);
    assert_false(notify_enabled());
}

static void
test_notify_watchdog_interval_and_tick(void **state)
{
    (void)state;
    listen_at(sock_path);
    assert_int_equal(notify_setup(), 0);
    assert_int_equal(notify_watchdog_interval_us(), 0);
    notify_watchdog();
    assert_nothing_sent();

    setenv("WATCHDOG_USEC", "2000000", 1);
    assert_int_equal(notify_setup(), 0);
    assert_int_equal(notify_watchdog_interval_us(), 1000000);
    notify_watchdog_tick(5000000);
    assert_string_equal(receive(), "WATCHDOG=1");
    notify_watchdog_tick(5500000);
    assert_nothing_sent();
    notify_watchdog_tick(6000000);
    assert_string_equal(receive(), "WATCHDOG=1");
    notify_watchdog();
    assert_string_equal(receive(), "WATCHDOG=1");
}

static void
test_notify_watchdog_pid_of_another_process(void **state)
{
    (void)state;
    listen_at(sock_path);
    setenv("WATCHDOG_USEC", "2000000", 1);
    char pid[32];
    snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
    setenv("WATCHDOG_PID", pid, 1);
    assert_int_equal(notify_setup(), 0);
    assert_int_equal(notify_watchdog_interval_us(), 0);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    assert_int_equal(notify_setup(), 0);
    assert_int_equal(notify_watchdog_interval_us(), 1000000);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_notify_ready_status_stopping),
        T(test_notify_abstract_socket),
        T(test_notify_noop_without_socket),
        T(test_notify_bad_address_disables),
        T(test_notify_watchdog_interval_and_tick),
        T(test_notify_watchdog_pid_of_another_process),
    };
#undef T
    return cmocka_run_group_tests_name("notify", tests, NULL, NULL);
}
