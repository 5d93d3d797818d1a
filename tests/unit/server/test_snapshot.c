/* test_snapshot.c: unit tests of snapshot.c against the real engine: round
 * trips, expiry across a restart, truncated and damaged files, the
 * incremental load, the corrupt-file policies and the background save. */
#include "snapshot.h"

#include "config.h"
#include "engine/engine.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0        ((oh_time)1700000000000) /* ms */
#define NKEYS     5000                     /* entries of the big data set */
#define BIG_VALUE (3u << 20) /* bytes: above the direct-write size */

static char dir[64];
static char path[128];

static int
setup(void **state)
{
    (void)state;
    cfg_defaults();
    snprintf(dir, sizeof(dir), "/tmp/test_snapshot-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/dump.offheap", dir);
    assert_int_equal(engine_setup(&cfg), 0);
    snapshot_reconfigure(path, "", false);
    snapshot_setup(T0);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    snapshot_teardown();
    engine_teardown();
    cfg_teardown();
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[512];
    while (d != NULL && (de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.') {
            snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
            unlink(p);
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    rmdir(dir);
    return 0;
}

/* Restarts the engine empty. */
static void
restart_engine(void)
{
    engine_teardown();
    assert_int_equal(engine_setup(&cfg), 0);
    assert_int_equal(engine_count(), 0);
}

static void
value_of(size_t i, char *buf, size_t *len)
{
    *len = (i * 37) % 700;
    for (size_t k = 0; k < *len; k++) {
        buf[k] = (char)(i + k * 13); /* binary, NULs included */
    }
}

/* Fills the engine with NKEYS entries, every third with an expiry. */
static void
fill(void)
{
    char key[32], val[1024];
    size_t vlen;
    for (size_t i = 0; i < NKEYS; i++) {
        int klen = snprintf(key, sizeof(key), "key:%zu", i);
        value_of(i, val, &vlen);
        oh_time exp = i % 3 == 0 ? T0 + 3600000 + (oh_time)i : OH_TIME_NONE;
        assert_int_equal(engine_set(key, (size_t)klen, val, vlen, exp, 0, T0),
                         1);
    }
}

static void
check_filled(oh_time now)
{
    char key[32], val[1024];
    size_t vlen;
    assert_int_equal(engine_count(), NKEYS);
    for (size_t i = 0; i < NKEYS; i++) {
        int klen = snprintf(key, sizeof(key), "key:%zu", i);
        struct engine_item it;
        assert_int_equal(engine_peek(key, (size_t)klen, now, &it), 1);
        value_of(i, val, &vlen);
        assert_int_equal(it.vlen, vlen);
        assert_memory_equal(it.val, val, vlen);
        oh_time exp = i % 3 == 0 ? T0 + 3600000 + (oh_time)i : OH_TIME_NONE;
        assert_int_equal(it.expire_at, exp);
        engine_release(&it);
    }
}

static size_t
file_size(const char *p)
{
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    return (size_t)sb.st_size;
}

static unsigned char *
read_all(const char *p, size_t *len)
{
    *len = file_size(p);
    unsigned char *buf = malloc(*len);
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    assert_int_equal(fread(buf, 1, *len, f), *len);
    fclose(f);
    return buf;
}

static void
write_all(const char *p, const unsigned char *buf, size_t len)
{
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

static int
count_files(const char *part)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)) != NULL) {
        n += strstr(de->d_name, part) != NULL;
    }
    closedir(d);
    return n;
}

static void
test_snapshot_crc32c_known_vectors(void **state)
{
    (void)state;
    assert_int_equal(snapshot_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(snapshot_crc32c(0, "", 0), 0);
    /* incremental == one shot, at every split and alignment */
    char buf[100];
    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = (char)(i * 7 + 1);
    }
    uint32_t whole = snapshot_crc32c(0, buf, sizeof(buf));
    for (size_t cut = 0; cut <= sizeof(buf); cut++) {
        uint32_t c = snapshot_crc32c(0, buf, cut);
        assert_int_equal(snapshot_crc32c(c, buf + cut, sizeof(buf) - cut),
                         whole);
    }
}

/* Bit-at-a-time CRC-32C: the definition the fast paths must match. */
static uint32_t
crc32c_bitwise(uint32_t crc, const unsigned char *p, size_t n)
{
    uint32_t c = ~crc;
    while (n-- > 0) {
        c ^= *p++;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        }
    }
    return ~c;
}

/* Lengths around the 3-lane block sizes (3 x 256 and 3 x 8192 bytes), at
 * every alignment, from a running CRC, and split at odd places. */
static void
test_snapshot_crc32c_long_buffers(void **state)
{
    (void)state;
    enum { N = 3 * 8192 * 2 + 777 };
    unsigned char *buf = malloc(N + 8);
    assert_non_null(buf);
    uint32_t x = 12345;
    for (size_t i = 0; i < N + 8; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
    const size_t lens[] = {767,   768,         769, 3 * 256 + 8, 24575, 24576,
                           24577, 24576 + 768, N};
    for (size_t a = 0; a < 8; a++) {
        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
            uint32_t seed = (uint32_t)(a * 0x9E3779B9u + i);
            assert_int_equal(snapshot_crc32c(seed, buf + a, lens[i]),
                             crc32c_bitwise(seed, buf + a, lens[i]));
        }
    }
    uint32_t whole = crc32c_bitwise(0, buf, N);
    for (size_t cut = 1; cut < N; cut += 4099) {
        uint32_t c = snapshot_crc32c(0, buf, cut);
        assert_int_equal(snapshot_crc32c(c, buf + cut, N - cut), whole);
    }
    free(buf);
}

static void
test_snapshot_round_trip(void **state)
{
    (void)state;
    fill();
    struct snapshot_result res;
    assert_int_equal(snapshot_save(path, T0, &res), 0);
    assert_int_equal(res.keys, NKEYS);
    assert_int_equal(res.bytes, file_size(path));
    assert_int_equal(count_files(".tmp-"), 0);
    restart_engine();
    assert_int_equal(snapshot_load(path, T0 + 1000, &res), 0);
    assert_int_equal(res.keys, NKEYS);
    assert_int_equal(res.expired, 0);
    assert_int_equal(res.created, T0);
    check_filled(T0 + 1000);
}

static void
test_snapshot_edge_entries(void **state)
{
    (void)state;
    char *big = malloc(BIG_VALUE);
    for (size_t i = 0; i < BIG_VALUE; i++) {
        big[i] = (char)(i % 251);
    }
    assert_int_equal(engine_set("", 0, "empty key", 9, 0, 0, T0), 1);
    assert_int_equal(engine_set("empty", 5, "", 0, 0, 0, T0), 1);
    assert_int_equal(engine_set("big", 3, big, BIG_VALUE, 0, 0, T0), 1);
    assert_int_equal(snapshot_save(path, T0, NULL), 0);
    restart_engine();
    assert_int_equal(snapshot_load(path, T0, NULL), 0);
    struct engine_item it;
    assert_int_equal(engine_peek("", 0, T0, &it), 1);
    assert_memory_equal(it.val, "empty key", 9);
    engine_release(&it);
    assert_int_equal(engine_peek("empty", 5, T0, &it), 1);
    assert_int_equal(it.vlen, 0);
    engine_release(&it);
    assert_int_equal(engine_peek("big", 3, T0, &it), 1);
    assert_int_equal(it.vlen, BIG_VALUE);
    assert_memory_equal(it.val, big, BIG_VALUE);
    engine_release(&it);
    free(big);
}

static void
test_snapshot_drops_entries_expired_meanwhile(void **state)
{
    (void)state;
    assert_int_equal(engine_set("short", 5, "v", 1, T0 + 1000, 0, T0), 1);
    assert_int_equal(engine_set("long", 4, "v", 1, T0 + 60000, 0, T0), 1);
    assert_int_equal(engine_set("none", 4, "v", 1, 0, 0, T0), 1);
    assert_int_equal(snapshot_save(path, T0, NULL), 0);
    restart_engine();
    struct snapshot_result res;
    assert_int_equal(snapshot_load(path, T0 + 5000, &res), 0);
    assert_int_equal(res.keys, 2);
    assert_int_equal(res.expired, 1);
    struct engine_item it;
    assert_int_equal(engine_peek("short", 5, T0 + 5000, &it), 0);
    assert_int_equal(engine_peek("long", 4, T0 + 5000, &it), 1);
    assert_int_equal(it.expire_at, T0 + 60000);
    engine_release(&it);
}

static void
test_snapshot_missing_file(void **state)
{
    (void)state;
    assert_int_equal(snapshot_load(path, T0, NULL), SNAPSHOT_NOFILE);
}

/* A small snapshot of a few entries, read back into memory. */
static unsigned char *
small_snapshot(size_t *len)
{
    assert_int_equal(engine_set("a", 1, "alpha", 5, 0, 0, T0), 1);
    assert_int_equal(engine_set("b", 1, "beta", 4, T0 + 99999, 0, T0), 1);
    assert_int_equal(engine_set("c", 1, "gamma", 5, 0, 0, T0), 1);
    assert_int_equal(snapshot_save(path, T0, NULL), 0);
    engine_flush();
    return read_all(path, len);
}

static void
test_snapshot_truncated_file_is_detected(void **state)
{
    (void)state;
    size_t len;
    unsigned char *buf = small_snapshot(&len);
    for (size_t cut = 0; cut < len; cut++) {
        write_all(path, buf, cut);
        int rc = snapshot_load(path, T0, NULL);
        assert_true(rc < 0);
        assert_int_equal(engine_count(), 0);
    }
    write_all(path, buf, 5);
    assert_int_equal(snapshot_load(path, T0, NULL), SNAPSHOT_TRUNCATED);
    write_all(path, buf, len - 1);
    assert_int_equal(snapshot_load(path, T0, NULL), SNAPSHOT_TRUNCATED);
    free(buf);
}

static void
test_snapshot_flipped_byte_is_detected(void **state)
{
    (void)state;
    size_t len;
    unsigned char *buf = small_snapshot(&len);
    for (size_t i = 0; i < len; i++) {
        if (i >= 16 && i < 32) {
            continue; /* created-at and count hint: checksummed below */
        }
        buf[i] ^= 0x20;
        write_all(path, buf, len);
        assert_true(snapshot_load(path, T0, NULL) < 0);
        assert_int_equal(engine_count(), 0);
        buf[i] ^= 0x20;
    }
    buf[20] ^= 1;
    write_all(path, buf, len);
    assert_int_equal(snapshot_load(path, T0, NULL), SNAPSHOT_CHECKSUM);
    buf[20] ^= 1;
    buf[len - 1] ^= 1;
    write_all(path, buf, len);
    assert_int_equal(snapshot_load(path, T0, NULL), SNAPSHOT_CHECKSUM);
    free(buf);
}

static void
test_snapshot_wrong_magic_version_and_trailing_bytes(void **state)
{
    (void)state;
    size_t len;
    unsigned char *buf = small_snapshot(&len);
    buf[12] = 2; /* version 2 */
    write_all(path, buf, len);
    assert_int_equal(snapshot_load(path, T0, NULL), SNAPSHOT_BADVERSION);
    buf[12] = 1;
    buf[0] = 'X';
    write_all(path, buf, len);
    assert_int_equal(snapshot_load(path, T0, NULL), SNAPSHOT_BADMAGIC);
    buf[0] = 'O';
    unsigned char *more = malloc(len + 1);
    memcpy(more, buf, len);
    more[len] = 0;
    write_all(path, more, len + 1);
    assert_int_equal(snapshot_load(path, T0, NULL), SNAPSHOT_CORRUPT);
    write_all(path, buf, len);
    assert_int_equal(snapshot_load(path, T0, NULL), 0);
    assert_int_equal(engine_count(), 3);
    free(more);
    free(buf);
}

static void
test_snapshot_incremental_load(void **state)
{
    (void)state;
    fill();
    assert_int_equal(snapshot_save(path, T0, NULL), 0);
    restart_engine();
    assert_int_equal(snapshot_load_begin(T0), 0);
    assert_true(snapshot_loading());
    char info[4096];
    snapshot_info(info, sizeof(info), T0);
    assert_non_null(strstr(info, "loading:1\r\n"));
    assert_non_null(strstr(info, "loading_total_bytes:"));
    int steps = 0, rc;
    while ((rc = snapshot_load_step(T0, 64 * 1024)) == 1) {
        steps++;
    }
    assert_int_equal(rc, 0);
    assert_true(steps > 5);
    assert_false(snapshot_loading());
    snapshot_info(info, sizeof(info), T0);
    assert_non_null(strstr(info, "loading:0\r\n"));
    assert_non_null(strstr(info, "rdb_last_load_keys_loaded:5000\r\n"));
    check_filled(T0);
}

static void
test_snapshot_corrupt_file_set_aside(void **state)
{
    (void)state;
    size_t len;
    unsigned char *buf = small_snapshot(&len);
    write_all(path, buf, len - 3);
    assert_int_equal(snapshot_load_begin(T0), 0);
    assert_int_equal(snapshot_load_step(T0, 1 << 20), 0);
    assert_false(snapshot_loading());
    assert_int_equal(engine_count(), 0);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(count_files(".corrupt-"), 1);
    free(buf);
}

static void
test_snapshot_corrupt_file_refused(void **state)
{
    (void)state;
    size_t len;
    unsigned char *buf = small_snapshot(&len);
    buf[0] = 'X';
    write_all(path, buf, len);
    snapshot_reconfigure(path, "", true);
    assert_int_equal(snapshot_load_begin(T0), SNAPSHOT_REFUSED);
    buf[0] = 'O';
    buf[len - 1] ^= 0xff;
    write_all(path, buf, len);
    assert_int_equal(snapshot_load_begin(T0), 0);
    assert_int_equal(snapshot_load_step(T0, 1 << 20), SNAPSHOT_REFUSED);
    assert_int_equal(engine_count(), 0);
    assert_int_equal(access(path, F_OK), 0); /* left in place */
    assert_int_equal(count_files(".corrupt-"), 0);
    free(buf);
}

static void
test_snapshot_background_save(void **state)
{
    (void)state;
    fill();
    snapshot_note_write(7);
    assert_int_equal(snapshot_save_background(path, T0), 0);
    assert_true(snapshot_bgsave_in_progress());
    assert_int_equal(snapshot_save_background(path, T0), SNAPSHOT_BUSY);
    int rc;
    for (int i = 0; (rc = snapshot_poll_child(T0 + 2000)) == 0 && i < 5000;
         i++) {
        usleep(1000);
    }
    assert_int_equal(rc, 1);
    assert_false(snapshot_bgsave_in_progress());
    assert_int_equal(snapshot_last_save(), (T0 + 2000) / 1000);
    char info[4096];
    snapshot_info(info, sizeof(info), T0 + 2000);
    assert_non_null(strstr(info, "rdb_changes_since_last_save:0\r\n"));
    assert_non_null(strstr(info, "rdb_last_bgsave_status:ok\r\n"));
    assert_int_equal(count_files(".tmp-"), 0);
    restart_engine();
    assert_int_equal(snapshot_load(path, T0, NULL), 0);
    check_filled(T0);
}

static void
test_snapshot_failed_save_keeps_old_file(void **state)
{
    (void)state;
    fill();
    assert_int_equal(snapshot_save(path, T0, NULL), 0);
    size_t before = file_size(path);
    char bad[256];
    snprintf(bad, sizeof(bad), "%s/no-such-dir/dump", dir);
    assert_int_equal(snapshot_save(bad, T0, NULL), SNAPSHOT_IO);
    assert_int_equal(file_size(path), before);
    snapshot_note_write(3);
    char info[4096];
    snapshot_info(info, sizeof(info), T0);
    assert_non_null(strstr(info, "rdb_changes_since_last_save:3\r\n"));
}

static void
test_snapshot_save_schedule(void **state)
{
    (void)state;
    assert_int_equal(snapshot_reconfigure(path, "3600 1 60 1000", false), 0);
    assert_int_equal(snapshot_reconfigure(path, "60", false), -1);
    assert_int_equal(snapshot_reconfigure(path, "x 1", false), -1);
    assert_int_equal(snapshot_reconfigure(path, "", false), 0);
    assert_int_equal(snapshot_reconfigure(path, "10 2", false), 0);
    fill();
    snapshot_note_write(1);
    snapshot_cron(T0 + 20000); /* 1 change < 2: nothing */
    assert_false(snapshot_bgsave_in_progress());
    snapshot_note_write(1);
    snapshot_cron(T0 + 5000); /* 2 changes but only 5 s */
    assert_false(snapshot_bgsave_in_progress());
    snapshot_cron(T0 + 20000);
    assert_true(snapshot_bgsave_in_progress());
    for (int i = 0; snapshot_bgsave_in_progress() && i < 5000; i++) {
        usleep(1000);
        snapshot_cron(T0 + 21000);
    }
    assert_false(snapshot_bgsave_in_progress());
    assert_int_equal(snapshot_last_save(), (T0 + 21000) / 1000);
    restart_engine();
    assert_int_equal(snapshot_load(path, T0, NULL), 0);
    check_filled(T0);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_snapshot_crc32c_known_vectors),
        T(test_snapshot_crc32c_long_buffers),
        T(test_snapshot_round_trip),
        T(test_snapshot_edge_entries),
        T(test_snapshot_drops_entries_expired_meanwhile),
        T(test_snapshot_missing_file),
        T(test_snapshot_truncated_file_is_detected),
        T(test_snapshot_flipped_byte_is_detected),
        T(test_snapshot_wrong_magic_version_and_trailing_bytes),
        T(test_snapshot_incremental_load),
        T(test_snapshot_corrupt_file_set_aside),
        T(test_snapshot_corrupt_file_refused),
        T(test_snapshot_background_save),
        T(test_snapshot_failed_save_keeps_old_file),
        T(test_snapshot_save_schedule),
    };
#undef T
    return cmocka_run_group_tests_name("snapshot", tests, NULL, NULL);
}
