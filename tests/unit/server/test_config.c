/* Unit tests of config.c: the option table, parsing, files, rewrite. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

static int
setup(void **state)
{
    (void)state;
    cfg_defaults();
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    cfg_teardown();
    return 0;
}

static int
set(const char *name, const char *value, bool live)
{
    char err[256];
    const struct cfg_opt *o = cfg_find(name);
    assert_non_null(o);
    return cfg_set(o, value, live, err, sizeof(err));
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
test_config_defaults(void **state)
{
    (void)state;
    assert_int_equal(cfg.port, 6388);
    assert_string_equal(cfg.bind, "127.0.0.1");
    assert_int_equal(cfg.proto_max_bulk_len, 512ULL * 1024 * 1024);
    assert_int_equal(cfg.protected_mode, 1);
    assert_string_equal(cfg.maxmemory_policy, "generational");
}

static void
test_config_names_accept_dashes_and_underscores(void **state)
{
    (void)state;
    assert_non_null(cfg_find("proto-max-bulk-len"));
    assert_non_null(cfg_find("PROTO_MAX_BULK_LEN"));
    assert_null(cfg_find("no-such-option"));
    char buf[64];
    assert_string_equal(cfg_name(cfg_find("maxmemory_policy"), buf, 64),
                        "maxmemory-policy");
}

static void
test_config_bytes_units(void **state)
{
    (void)state;
    assert_int_equal(set("maxmemory", "100mb", true), 0);
    assert_int_equal(cfg.maxmemory, 100ULL * 1024 * 1024);
    assert_int_equal(set("maxmemory", "1k", true), 0);
    assert_int_equal(cfg.maxmemory, 1000);
    assert_int_equal(set("maxmemory", "2GB", true), 0);
    assert_int_equal(cfg.maxmemory, 2ULL << 30);
    assert_int_equal(set("maxmemory", "12", true), 0);
    assert_int_equal(cfg.maxmemory, 12);
    assert_int_equal(set("maxmemory", "lots", true), -1);
    assert_int_equal(set("maxmemory", "-1", true), -1);
    assert_int_equal(set("maxmemory", "99999999999999gb", true), -1);
    assert_int_equal(cfg.maxmemory, 12);
}

static void
test_config_bounds_and_types(void **state)
{
    (void)state;
    assert_int_equal(set("maxclients", "0", true), -1);
    assert_int_equal(set("maxclients", "5", true), 0);
    assert_int_equal(set("protected-mode", "maybe", true), -1);
    assert_int_equal(set("protected-mode", "no", true), 0);
    assert_int_equal(cfg.protected_mode, 0);
    assert_int_equal(set("unixsocketperm", "755", false), 0);
    assert_int_equal(cfg.unixsocketperm, 0755);
    assert_int_equal(set("unixsocketperm", "999", false), -1);
    assert_int_equal(set("loglevel", "loud", true), -1);
    assert_int_equal(set("loglevel", "WARNING", true), 0);
    assert_string_equal(cfg.loglevel, "warning");
}

static void
test_config_static_options_refuse_live_changes(void **state)
{
    (void)state;
    assert_int_equal(set("port", "7000", true), -1);
    assert_int_equal(cfg.port, 6388);
    assert_int_equal(set("port", "7000", false), 0);
    assert_int_equal(cfg.port, 7000);
}

static void
test_config_file_and_errors_name_the_line(void **state)
{
    (void)state;
    char path[] = "/tmp/test_config_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "# comment\nport 7001\n  bind \"127.0.0.1 ::1\"\n"
                     "maxmemory 1mb\n");
    char err[512];
    assert_int_equal(cfg_load_file(path, err, sizeof(err)), 0);
    assert_int_equal(cfg.port, 7001);
    assert_string_equal(cfg.bind, "127.0.0.1 ::1");
    write_file(path, "port 7001\n\nmaxclients none\n");
    assert_int_equal(cfg_load_file(path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":3: option 'maxclients' value 'none'"));
    write_file(path, "frobnicate yes\n");
    assert_int_equal(cfg_load_file(path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":1: unknown option 'frobnicate'"));
    write_file(path, "bind \"unterminated\n");
    assert_int_equal(cfg_load_file(path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unbalanced quotes"));
    unlink(path);
}

static void
test_config_command_line_overrides(void **state)
{
    (void)state;
    char a0[] = "offheapd", a1[] = "--port", a2[] = "7002", a3[] = "--bind",
         a4[] = "127.0.0.1", a5[] = "::1", a6[] = "--maxmemory", a7[] = "2mb";
    char *argv[] = {a0, a1, a2, a3, a4, a5, a6, a7};
    char err[256];
    assert_int_equal(cfg_load_args(8, argv, 1, err, sizeof(err)), 0);
    assert_int_equal(cfg.port, 7002);
    assert_string_equal(cfg.bind, "127.0.0.1 ::1");
    assert_int_equal(cfg.maxmemory, 2ULL << 20);
    char b1[] = "port", b2[] = "1";
    char *bad[] = {a0, b1, b2};
    assert_int_equal(cfg_load_args(3, bad, 1, err, sizeof(err)), -1);
}

static void
test_config_rewrite_round_trip(void **state)
{
    (void)state;
    char path[] = "/tmp/test_config_rw_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "# keep me\nport 7003\nport 7004\ntimeout 5\n");
    char err[256];
    assert_int_equal(cfg_load_file(path, err, sizeof(err)), 0);
    assert_int_equal(set("timeout", "9", true), 0);
    assert_int_equal(set("requirepass", "s3 \"cret", true), 0);
    assert_int_equal(cfg_rewrite(path), 0);
    cfg_defaults();
    assert_int_equal(cfg_load_file(path, err, sizeof(err)), 0);
    assert_int_equal(cfg.port, 7004);
    assert_int_equal(cfg.timeout, 9);
    assert_string_equal(cfg.requirepass, "s3 \"cret");
    FILE *f = fopen(path, "r");
    char text[1024] = {0};
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    assert_true(n > 0);
    assert_non_null(strstr(text, "# keep me\n"));
    assert_null(strstr(strstr(text, "port") + 1, "\nport"));
    unlink(path);
}

/* The rewritten file keeps the permissions of the one it replaces (a
 * service's config is group-readable only); a failure says why. */
static void
test_config_rewrite_keeps_mode(void **state)
{
    (void)state;
    char path[] = "/tmp/test_config_mode_XXXXXX";
    struct stat st;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "timeout 5\n");
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(set("timeout", "7", true), 0);
    assert_int_equal(cfg_rewrite(path), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    unlink(path);

    errno = 0;
    assert_int_equal(cfg_rewrite("/nonexistent-dir/offheapd.conf"), -1);
    assert_int_equal(errno, ENOENT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_config_defaults),
        T(test_config_names_accept_dashes_and_underscores),
        T(test_config_bytes_units),
        T(test_config_bounds_and_types),
        T(test_config_static_options_refuse_live_changes),
        T(test_config_file_and_errors_name_the_line),
        T(test_config_command_line_overrides),
        T(test_config_rewrite_round_trip),
        T(test_config_rewrite_keeps_mode),
#undef T
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
