/* test_rdbstr.c: the DUMP/RESTORE payload codec (server/rdbstr.c).
 *
 * Known answers come from redis-server 7.0.15 (DUMP of the same values),
 * so the encoder is checked byte for byte and the decoder on real LZF
 * output. Every payload handed to the decoder is copied so that it ends
 * exactly where a PROT_NONE page begins: a read past the end crashes the
 * test. The fuzz-style tests mutate valid payloads and then fix the CRC,
 * so that the body parser (not only the checksum) sees the damage. */
#include "rdbstr.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/support/guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_ROUNDS 20000             /* mutated payloads per base payload */
#define MAX_LEN     ((size_t)1 << 20) /* max_len given to the decoder */

/* ---- helpers ---- */

/* Decodes hex text into out; returns the byte count. */
static size_t
unhex(const char *hex, unsigned char *out)
{
    size_t n = strlen(hex) / 2;

    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (unsigned char)v;
    }
    return n;
}

/* Appends the footer (version, CRC) to buf[0..n); returns the new size. */
static size_t
seal(unsigned char *buf, size_t n, unsigned version)
{
    uint64_t crc;

    buf[n++] = (unsigned char)version;
    buf[n++] = (unsigned char)(version >> 8);
    crc = rdbstr_crc64(0, buf, n);
    for (int i = 0; i < 8; i++) {
        buf[n++] = (unsigned char)(crc >> (8 * i));
    }
    return n;
}

/* Builds a sealed payload of type 0 with the given body. */
static size_t
make_payload(unsigned char *buf, const void *body, size_t blen)
{
    buf[0] = RDBSTR_TYPE_STRING;
    memcpy(buf + 1, body, blen);
    return seal(buf, 1 + blen, RDBSTR_VERSION);
}

/* Loads p[0..n) placed against the guard page. */
static int
load(const void *p, size_t n, struct rdbstr_value *v)
{
    return rdbstr_load(guard_put(p, n), n, MAX_LEN, v);
}

/* Checks that payload p[0..n) decodes to want[0..wlen). */
static void
expect_decoded(const void *p, size_t n, const void *want, size_t wlen)
{
    struct rdbstr_value v;

    assert_int_equal(load(p, n, &v), RDBSTR_OK);
    assert_int_equal(v.len, wlen);
    assert_memory_equal(v.p, want, wlen);
    rdbstr_value_deinit(&v);
}

static void
expect_rc(const void *p, size_t n, int rc)
{
    struct rdbstr_value v;

    assert_int_equal(load(p, n, &v), rc);
    assert_int_equal(v.len, 0);
    assert_null(v.owned);
}

/* Dumps val and checks it round-trips. */
static void
roundtrip(const char *val, size_t vlen)
{
    size_t cap = rdbstr_dump_size(val, vlen);
    char *buf = malloc(cap);

    assert_non_null(buf);
    assert_int_equal(rdbstr_dump(val, vlen, buf), cap);
    expect_decoded(buf, cap, val, vlen);
    free(buf);
}

/* The CRC one bit at a time, straight from the definition. */
static uint64_t
crc64_bitwise(const unsigned char *p, size_t n)
{
    uint64_t crc = 0;

    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) {
            crc = (crc & 1) ? (crc >> 1) ^ 0x95ac9329ac4bc9b5ull : crc >> 1;
        }
    }
    return crc;
}

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Appends the *lit pending literal bytes at src as one LZF literal run
 * (none if *lit is 0) and clears *lit; false if out has no room. */
static bool
put_literals(unsigned char *out, size_t cap, size_t *o,
             const unsigned char *src, size_t *lit)
{
    if (*lit == 0) {
        return true;
    }
    if (*o + 1 + *lit > cap) {
        return false;
    }
    out[(*o)++] = (unsigned char)(*lit - 1);
    memcpy(out + *o, src, *lit);
    *o += *lit;
    *lit = 0;
    return true;
}

/* A naive LZF compressor (brute-force match search) for round trips.
 * Returns the compressed size, or 0 if out is too small. */
static size_t
lzf_compress(const unsigned char *in, size_t n, unsigned char *out, size_t cap)
{
    size_t i = 0, o = 0, lit = 0, lit_at = 0;

    while (i < n) {
        size_t best = 0, dist = 0;
        for (size_t d = 1; d <= i && d <= 1024 && i + 2 < n && best < 264;
             d++) {
            size_t m = 0;
            while (i + m < n && m < 264 && in[i + m - d] == in[i + m]) {
                m++;
            }
            if (m > best) {
                best = m;
                dist = d;
            }
        }
        if ((best >= 3 || lit == 32) &&
            !put_literals(out, cap, &o, in + lit_at, &lit)) {
            return 0;
        }
        if (best >= 3) {
            size_t l = best - 2, off = dist - 1;
            if (o + 3 > cap) {
                return 0;
            }
            if (l < 7) {
                out[o++] = (unsigned char)((l << 5) | (off >> 8));
            } else {
                out[o++] = (unsigned char)((7 << 5) | (off >> 8));
                out[o++] = (unsigned char)(l - 7);
            }
            out[o++] = (unsigned char)off;
            i += best;
        } else {
            if (lit == 0) {
                lit_at = i;
            }
            lit++;
            i++;
        }
    }
    return put_literals(out, cap, &o, in + lit_at, &lit) ? o : 0;
}

/* Writes an RDB length (any form: 1, 2, 5 or 9 bytes as `form` says). */
static size_t
put_len_form(unsigned char *o, uint64_t len, int form)
{
    switch (form) {
    case 1:
        o[0] = (unsigned char)len;
        return 1;
    case 2:
        o[0] = (unsigned char)(0x40 | (len >> 8));
        o[1] = (unsigned char)len;
        return 2;
    case 5:
        o[0] = 0x80;
        for (int i = 0; i < 4; i++) {
            o[1 + i] = (unsigned char)(len >> (24 - 8 * i));
        }
        return 5;
    default:
        o[0] = 0x81;
        for (int i = 0; i < 8; i++) {
            o[1 + i] = (unsigned char)(len >> (56 - 8 * i));
        }
        return 9;
    }
}

/* ---- CRC ---- */

static void
test_rdbstr_crc64_check_value(void **state)
{
    (void)state;
    assert_true(rdbstr_crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9caull);
    assert_true(rdbstr_crc64(0, "", 0) == 0);
}

static void
test_rdbstr_crc64_matches_bitwise(void **state)
{
    unsigned char buf[300];

    (void)state;
    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = (unsigned char)rng();
    }
    for (size_t n = 0; n <= sizeof(buf); n += 7) {
        /* also from unaligned starts and in two pieces */
        assert_true(rdbstr_crc64(0, buf + 1, n - (n > 0)) ==
                    crc64_bitwise(buf + 1, n - (n > 0)));
        assert_true(rdbstr_crc64(rdbstr_crc64(0, buf, n / 3), buf + n / 3,
                                 n - n / 3) == crc64_bitwise(buf, n));
    }
}

/* ---- DUMP: byte for byte as Redis 7.0 ---- */

static void
expect_dump(const char *val, const char *hex)
{
    unsigned char want[64];
    size_t wlen = unhex(hex, want);
    char got[64];
    size_t n = rdbstr_dump_size(val, strlen(val));

    assert_int_equal(n, wlen);
    assert_int_equal(rdbstr_dump(val, strlen(val), got), wlen);
    assert_memory_equal(got, want, wlen);
}

static void
test_rdbstr_dump_matches_redis(void **state)
{
    (void)state;
    expect_dump("bar", "00036261720a00e6be4960ee66fd17");
    expect_dump("123", "00c07b0a0048e253e1007a67b9");
    expect_dump("-70000", "00c290eefeff0a002875de7b13eb2800");
    expect_dump("12345678901",
                "000b31323334353637383930310a00304e52d727176510");
}

static void
test_rdbstr_dump_int_encodings(void **state)
{
    static const char *const ints[] = {
        "0",     "-1",     "127",        "-128",       "128",
        "-129",  "32767",  "32768",      "-32768",     "-32769",
        "65536", "-65536", "2147483647", "-2147483648"};
    static const char *const not_ints[] = {
        "-0",          "007", "+1", " 1", "1 ",   "2147483648",
        "-2147483649", "1e3", "-",  "",   "0x10", "99999999999"};

    (void)state;
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        size_t n = rdbstr_dump_size(ints[i], strlen(ints[i]));
        char buf[32];
        assert_true(n <= 1 + 5 + RDBSTR_FOOTER_BYTES);
        rdbstr_dump(ints[i], strlen(ints[i]), buf);
        assert_int_equal((unsigned char)buf[1] >> 6, 3);
        roundtrip(ints[i], strlen(ints[i]));
    }
    for (size_t i = 0; i < sizeof(not_ints) / sizeof(not_ints[0]); i++) {
        size_t len = strlen(not_ints[i]);
        assert_int_equal(rdbstr_dump_size(not_ints[i], len),
                         1 + 1 + len + RDBSTR_FOOTER_BYTES);
        roundtrip(not_ints[i], len);
    }
}

static void
test_rdbstr_roundtrip_length_forms(void **state)
{
    static const size_t lens[] = {0,     1,     63,    64,    100,
                                  16383, 16384, 16385, 70000, 300000};
    char *val = malloc(300000);

    (void)state;
    assert_non_null(val);
    for (size_t i = 0; i < 300000; i++) {
        val[i] = (char)rng();
    }
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        size_t want_hdr = lens[i] < 64 ? 1 : lens[i] < 16384 ? 2 : 5;
        if (lens[i] > 0 && lens[i] < 12) {
            continue; /* random bytes: never canonical integers anyway */
        }
        assert_int_equal(rdbstr_dump_size(val, lens[i]),
                         1 + want_hdr + lens[i] + RDBSTR_FOOTER_BYTES);
        roundtrip(val, lens[i]);
    }
    free(val);
}

/* ---- RESTORE: what Redis writes ---- */

static void
test_rdbstr_load_redis_payloads(void **state)
{
    unsigned char buf[512], want[512];
    size_t n;

    (void)state;
    n = unhex("00c3094064016161e057000161610a00e8a3b507b06df271", buf);
    memset(want, 'a', 100);
    expect_decoded(buf, n, want, 100);
    n = unhex("00c314300c68656c6c6f20776f726c642068e0180b0164210a00d6c1f982"
              "6fc44347",
              buf);
    expect_decoded(buf, n, "hello world hello world hello world hello world!",
                   48);
    n = unhex("00c07b0a0048e253e1007a67b9", buf);
    expect_decoded(buf, n, "123", 3);
    n = unhex("00c290eefeff0a002875de7b13eb2800", buf);
    expect_decoded(buf, n, "-70000", 6);
}

static void
test_rdbstr_load_int_forms(void **state)
{
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"c0ff", "-1"},
        {"c080", "-128"},
        {"c07f", "127"},
        {"c10080", "-32768"},
        {"c1ff7f", "32767"},
        {"c2ffffffff", "-1"},
        {"c200000080", "-2147483648"},
        {"c2ffffff7f", "2147483647"},
    };
    unsigned char body[16], buf[64];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t bl = unhex(cases[i].body, body);
        size_t n = make_payload(buf, body, bl);
        expect_decoded(buf, n, cases[i].want, strlen(cases[i].want));
    }
}

static void
test_rdbstr_load_every_length_form(void **state)
{
    static const int forms[] = {1, 2, 5, 9};
    unsigned char body[32], buf[64];

    (void)state;
    for (size_t f = 0; f < 4; f++) {
        size_t bl = put_len_form(body, 3, forms[f]);
        memcpy(body + bl, "xyz", 3);
        expect_decoded(buf, make_payload(buf, body, bl + 3), "xyz", 3);
    }
}

static void
test_rdbstr_load_versions(void **state)
{
    unsigned char buf[64];
    size_t n;

    (void)state;
    for (unsigned v = 0; v <= RDBSTR_VERSION_MAX + 3; v++) {
        buf[0] = 0;
        memcpy(buf + 1, "\x02hi", 3);
        n = seal(buf, 4, v);
        if (v <= RDBSTR_VERSION_MAX) {
            expect_decoded(buf, n, "hi", 2);
        } else {
            expect_rc(buf, n, RDBSTR_EVERIFY);
        }
    }
    unsigned ver = 0;
    assert_int_equal(rdbstr_verify((const char *)buf, n, &ver), RDBSTR_EVERIFY);
    assert_int_equal(ver, RDBSTR_VERSION_MAX + 3);
}

/* ---- refusals ---- */

static void
test_rdbstr_load_verify_errors(void **state)
{
    unsigned char buf[64];
    size_t n = make_payload(buf,
                            "\x03"
                            "bar",
                            4);

    (void)state;
    for (size_t cut = 0; cut < n; cut++) {
        expect_rc(buf, cut, RDBSTR_EVERIFY); /* every truncation */
    }
    for (size_t i = 0; i < n * 8; i++) {
        buf[i / 8] ^= (unsigned char)(1u << (i % 8));
        expect_rc(buf, n, RDBSTR_EVERIFY); /* every single-bit flip */
        buf[i / 8] ^= (unsigned char)(1u << (i % 8));
    }
    expect_decoded(buf, n, "bar", 3);
    expect_rc("...", 3, RDBSTR_EVERIFY);
}

static void
test_rdbstr_load_format_errors(void **state)
{
    static const char *const bodies[] = {
        "",                   /* no string at all */
        "03626172ff",         /* a byte after the value */
        "036261",             /* string longer than the body */
        "82",                 /* 10xxxxxx other than 0x80/0x81 */
        "80000000",           /* 32-bit length cut short */
        "81000000000000",     /* 64-bit length cut short */
        "8100000000ffffffff", /* 64-bit length far past the end */
        "40",                 /* 14-bit length cut short */
        "c4",                 /* unknown special encoding */
        "ff",                 /* unknown special encoding 63 */
        "c0",                 /* INT8 without its byte */
        "c100",               /* INT16 cut short */
        "c2000000",           /* INT32 cut short */
        "c3",                 /* LZF without lengths */
        "c30003",             /* LZF with clen 0 */
        "c3010061",           /* LZF with len 0 */
        "c3020500",           /* LZF stream shorter than clen */
        "c30103ff",           /* LZF: back reference before the start */
        "c3020400616162",     /* LZF: output shorter than stated */
        "c302020261",         /* LZF: literal past the input */
        "c3c10300616263",     /* LZF: special encoding as clen */
        "c30140c800",         /* LZF: len beyond the ratio bound */
    };
    unsigned char body[64], buf[128];

    (void)state;
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        size_t bl = unhex(bodies[i], body);
        size_t n = make_payload(buf, body, bl);
        struct rdbstr_value v;
        int rc = load(buf, n, &v);
        if (rc != RDBSTR_EFORMAT) {
            print_error("body %s: rc %d\n", bodies[i], rc);
        }
        assert_int_equal(rc, RDBSTR_EFORMAT);
    }
    /* types other than string (list, set, hash, ...) */
    for (unsigned t = 1; t < 256; t++) {
        size_t n;
        buf[0] = (unsigned char)t;
        memcpy(buf + 1,
               "\x03"
               "bar",
               4);
        n = seal(buf, 5, RDBSTR_VERSION);
        expect_rc(buf, n, RDBSTR_EFORMAT);
    }
}

static void
test_rdbstr_load_too_big(void **state)
{
    unsigned char body[64], buf[128];
    struct rdbstr_value v;
    size_t n;

    (void)state;
    /* plain: 5 bytes with max_len 4 */
    n = make_payload(buf,
                     "\x05"
                     "hello",
                     6);
    assert_int_equal(rdbstr_load(guard_put(buf, n), n, 4, &v), RDBSTR_ETOOBIG);
    assert_int_equal(rdbstr_load(guard_put(buf, n), n, 5, &v), RDBSTR_OK);
    rdbstr_value_deinit(&v);
    /* LZF: 100 bytes of 'a' with max_len 99 */
    n = unhex("00c3094064016161e057000161610a00e8a3b507b06df271", buf);
    assert_int_equal(rdbstr_load(guard_put(buf, n), n, 99, &v), RDBSTR_ETOOBIG);
    assert_null(v.owned);
    /* LZF claiming 4 GB from 64 bytes: refused before any allocation */
    size_t bl = 0;
    body[bl++] = 0xc3;
    bl += put_len_form(body + bl, 50, 1);
    bl += put_len_form(body + bl, 0xffffffffu, 5);
    memset(body + bl, 0, 50);
    n = make_payload(buf, body, bl + 50);
    expect_rc(buf, n, RDBSTR_EFORMAT);
}

/* ---- LZF ---- */

static void
test_rdbstr_lzf_decompress_basics(void **state)
{
    unsigned char in[16], *out = (unsigned char *)guard_map + GUARD_ROOM - 8;
    size_t n;

    (void)state;
    /* literal "ab" then back reference distance 2 length 6: "abababab" */
    n = unhex("0161628001", in);
    assert_int_equal(rdbstr_lzf_decompress(in, n, out, 8), 8);
    assert_memory_equal(out, "abababab", 8);
    assert_int_equal(rdbstr_lzf_decompress(in, n, out, 7), -1); /* no room */
    assert_int_equal(rdbstr_lzf_decompress(in, n - 1, out, 8), -1);
    assert_int_equal(rdbstr_lzf_decompress(in, 2, out, 8), -1);
    assert_int_equal(rdbstr_lzf_decompress(in, 0, out, 8), 0);
    /* distance 3 with only 2 bytes out */
    n = unhex("0161628002", in);
    assert_int_equal(rdbstr_lzf_decompress(in, n, out, 8), -1);
    /* long form: 7 + 0 + 2 = 9 bytes of repeat, no length byte given */
    n = unhex("0061e0", in);
    assert_int_equal(rdbstr_lzf_decompress(in, n, out, 8), -1);
}

static void
test_rdbstr_lzf_roundtrip_random(void **state)
{
    size_t cap = 70000;
    unsigned char *src = malloc(cap), *comp = malloc(cap * 2), *body;
    unsigned char *buf = malloc(cap * 2 + 64);

    (void)state;
    assert_true(src != NULL && comp != NULL && buf != NULL);
    for (int round = 0; round < 40; round++) {
        size_t n = 1 + rng() % (round < 30 ? 2000 : cap);
        unsigned alpha = 1 + (unsigned)(rng() % 6); /* small: compressible */
        for (size_t i = 0; i < n; i++) {
            src[i] = (unsigned char)('a' + rng() % alpha);
        }
        size_t cl = lzf_compress(src, n, comp, cap * 2);
        assert_true(cl > 0);
        unsigned char *out = (unsigned char *)guard_map + GUARD_ROOM - n;
        assert_int_equal(rdbstr_lzf_decompress(comp, cl, out, n), (long)n);
        assert_memory_equal(out, src, n);
        /* and as a payload: 0xc3 clen len stream */
        body = buf + 1;
        size_t bl = 0;
        body[bl++] = 0xc3;
        bl += put_len_form(body + bl, cl, 5);
        bl += put_len_form(body + bl, n, 9);
        memcpy(body + bl, comp, cl);
        size_t pl = make_payload(buf, body, bl + cl);
        expect_decoded(buf, pl, src, n);
    }
    free(src);
    free(comp);
    free(buf);
}

/* ---- hostile input ---- */

/* Loads a mutated payload (CRC fixed so the body parser sees it) and
 * checks the outcome is one of the defined ones, with a readable value. */
static void
load_mutant(unsigned char *buf, size_t blen)
{
    struct rdbstr_value v;
    size_t n = seal(buf, blen, RDBSTR_VERSION);
    int rc = load(buf, n, &v);
    volatile unsigned sum = 0;

    assert_true(rc == RDBSTR_OK || rc == RDBSTR_EFORMAT ||
                rc == RDBSTR_ETOOBIG);
    if (rc == RDBSTR_OK) {
        assert_true(v.len <= MAX_LEN);
        for (size_t i = 0; i < v.len; i++) {
            sum += (unsigned char)v.p[i];
        }
    }
    rdbstr_value_deinit(&v);
}

/* Applies one random mutation to body[0..*len) (cap bytes of room). */
static void
mutate(unsigned char *body, size_t *len, size_t cap)
{
    size_t n = *len;

    switch (rng() % 5) {
    case 0: /* flip a bit */
        if (n > 0) {
            body[rng() % n] ^= (unsigned char)(1u << (rng() % 8));
        }
        break;
    case 1: /* set a byte to an interesting value */
        if (n > 0) {
            static const unsigned char v[] = {0x00, 0x3f, 0x40, 0x7f, 0x80,
                                              0x81, 0xc0, 0xc3, 0xe0, 0xff};
            body[rng() % n] = v[rng() % sizeof(v)];
        }
        break;
    case 2: /* truncate */
        *len = n > 0 ? rng() % n : 0;
        break;
    case 3: /* append random bytes */
        for (size_t k = rng() % 8; k > 0 && *len < cap; k--) {
            body[(*len)++] = (unsigned char)rng();
        }
        break;
    default: /* random byte */
        if (n > 0) {
            body[rng() % n] = (unsigned char)rng();
        }
    }
}

static void
test_rdbstr_fuzz_mutated_payloads(void **state)
{
    static const char *const bases[] = {
        "00c3094064016161e057000161610a00e8a3b507b06df271",
        "00c314300c68656c6c6f20776f726c642068e0180b0164210a00d6c1f9826fc44347",
        "00036261720a00e6be4960ee66fd17",
        "00c290eefeff0a002875de7b13eb2800",
        "000b31323334353637383930310a00304e52d727176510",
    };
    unsigned char base[128], buf[256];

    (void)state;
    for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
        size_t bl = unhex(bases[b], base) - RDBSTR_FOOTER_BYTES;
        for (int round = 0; round < FUZZ_ROUNDS; round++) {
            size_t len = bl;
            memcpy(buf, base, bl);
            for (int m = 1 + (int)(rng() % 3); m > 0; m--) {
                mutate(buf, &len, sizeof(buf) - RDBSTR_FOOTER_BYTES);
            }
            load_mutant(buf, len);
        }
    }
}

static void
test_rdbstr_fuzz_random_bytes(void **state)
{
    unsigned char buf[96];

    (void)state;
    for (int round = 0; round < FUZZ_ROUNDS * 5; round++) {
        size_t len = rng() % (sizeof(buf) - RDBSTR_FOOTER_BYTES);
        for (size_t i = 0; i < len; i++) {
            buf[i] = (unsigned char)rng();
        }
        if (len > 0 && rng() % 2) {
            buf[0] = 0; /* mostly a string type, to reach the body */
        }
        if (len > 1 && rng() % 2) {
            buf[1] = (unsigned char)(0xc0 | (rng() % 4));
        }
        load_mutant(buf, len);
        /* and unsealed: must fail verification, never crash */
        struct rdbstr_value v;
        int rc = load(buf, len, &v);
        assert_true(rc == RDBSTR_EVERIFY || rc == RDBSTR_OK ||
                    rc == RDBSTR_EFORMAT || rc == RDBSTR_ETOOBIG);
        rdbstr_value_deinit(&v);
    }
}

static void
test_rdbstr_fuzz_lzf_streams(void **state)
{
    unsigned char in[64];

    (void)state;
    for (int round = 0; round < FUZZ_ROUNDS * 5; round++) {
        size_t n = rng() % sizeof(in);
        size_t olen = rng() % 300;
        /* exactly olen bytes: ASan catches a write past them */
        unsigned char *out = malloc(olen + (olen == 0));
        assert_non_null(out);
        for (size_t i = 0; i < n; i++) {
            in[i] = (unsigned char)rng();
        }
        long got = rdbstr_lzf_decompress(guard_put(in, n), n, out, olen);
        assert_true(got >= -1 && got <= (long)olen);
        free(out);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rdbstr_crc64_check_value),
        cmocka_unit_test(test_rdbstr_crc64_matches_bitwise),
        cmocka_unit_test(test_rdbstr_dump_matches_redis),
        cmocka_unit_test(test_rdbstr_dump_int_encodings),
        cmocka_unit_test(test_rdbstr_roundtrip_length_forms),
        cmocka_unit_test(test_rdbstr_load_redis_payloads),
        cmocka_unit_test(test_rdbstr_load_int_forms),
        cmocka_unit_test(test_rdbstr_load_every_length_form),
        cmocka_unit_test(test_rdbstr_load_versions),
        cmocka_unit_test(test_rdbstr_load_verify_errors),
        cmocka_unit_test(test_rdbstr_load_format_errors),
        cmocka_unit_test(test_rdbstr_load_too_big),
        cmocka_unit_test(test_rdbstr_lzf_decompress_basics),
        cmocka_unit_test(test_rdbstr_lzf_roundtrip_random),
        cmocka_unit_test(test_rdbstr_fuzz_mutated_payloads),
        cmocka_unit_test(test_rdbstr_fuzz_random_bytes),
        cmocka_unit_test(test_rdbstr_fuzz_lzf_streams),
    };

    return cmocka_run_group_tests_name("rdbstr", tests, guard_setup,
                                       guard_teardown);
}
