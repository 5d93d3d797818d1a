/* rdbstr.h: Redis's DUMP payload for string values: encode, verify and
 * decode, plus the CRC-64 and LZF pieces they need. No I/O, no engine, no
 * RESP: a pure codec, so the unit tests can feed it hostile bytes.
 *
 * A payload is
 *   [ type 0x00 ][ RDB string ][ RDB version: u16 LE ][ CRC-64: u64 LE ]
 * where the CRC covers every byte before it (see rdbstr.c for the string
 * encodings). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RDBSTR_TYPE_STRING  0  /* RDB object type of a string */
#define RDBSTR_VERSION      10 /* RDB version DUMP writes (Redis 7.0's) */
#define RDBSTR_VERSION_MAX  12 /* highest version RESTORE accepts */
#define RDBSTR_FOOTER_BYTES 10 /* version (2 B) + CRC-64 (8 B) */
#define RDBSTR_HEAD_MAX     10 /* type (1 B) + the longest length prefix */
#define RDBSTR_LZF_MAX_RATIO                                                   \
    88 /* most output bytes LZF can make per input byte (a 3-byte back         \
          reference emits up to 264) */

/* Why a payload was refused. */
enum rdbstr_rc {
    RDBSTR_OK = 0,
    RDBSTR_EVERIFY = -1, /* too short, version too high or CRC mismatch */
    RDBSTR_EFORMAT = -2, /* not a string, or a malformed body */
    RDBSTR_ETOOBIG = -3, /* the value would exceed the caller's max_len */
    RDBSTR_ENOMEM = -4,  /* no memory for an LZF-decompressed value */
};

/* A decoded value. p/len is the value: BORROWED from the payload (plain
 * strings: valid while the payload is), or pointing into num (integer
 * encodings) or owned (LZF). Release with rdbstr_value_deinit(). */
struct rdbstr_value {
    const char *p;
    size_t len;
    char *owned;  /* OWNED: malloc'ed LZF output, or NULL */
    char num[24]; /* decimal text of an integer encoding */
};

/* Updates a CRC-64 (Jones polynomial, reflected, no final xor: Redis's
 * crc64) with n bytes. Start with crc = 0. */
uint64_t rdbstr_crc64(uint64_t crc, const void *p, size_t n);

/* Returns the size of the payload rdbstr_dump() writes for a value of vlen
 * bytes (exact). */
size_t rdbstr_dump_size(const char *val, size_t vlen);
/* Writes the DUMP payload of a string value into out, which holds at least
 * rdbstr_dump_size(val, vlen) bytes. Values that are canonical 32-bit
 * integers use the integer encodings (as Redis writes them); others are
 * plain length-prefixed strings. Returns the bytes written. */
size_t rdbstr_dump(const char *val, size_t vlen, char *out);
/* The same payload in three parts, so a server can send the value bytes
 * from where they are: rdbstr_dump_head() writes the type and the length
 * prefix (or the whole integer encoding, and then *with_value is false)
 * into head (RDBSTR_HEAD_MAX bytes) and returns its length; the value
 * bytes follow if *with_value; rdbstr_dump_foot() writes the footer
 * (RDBSTR_FOOTER_BYTES) given the CRC-64 of everything before it. */
size_t rdbstr_dump_head(const char *val, size_t vlen, char *head,
                        bool *with_value);
void rdbstr_dump_foot(uint64_t crc, char *foot);

/* Checks a payload's footer: length, version (<= RDBSTR_VERSION_MAX) and
 * CRC. Returns RDBSTR_OK or RDBSTR_EVERIFY; *version (if not NULL) gets
 * the version when the payload is long enough. */
int rdbstr_verify(const char *p, size_t n, unsigned *version);

/* Verifies and decodes a payload holding one string value of at most
 * max_len bytes. Never reads outside p[0..n) and never allocates more than
 * max_len bytes, whatever the input. Returns RDBSTR_OK with *out filled
 * (release with rdbstr_value_deinit), or a negative rdbstr_rc with *out
 * empty. */
int rdbstr_load(const char *p, size_t n, size_t max_len,
                struct rdbstr_value *out);
/* Frees what rdbstr_load() allocated; *v becomes empty. */
void rdbstr_value_deinit(struct rdbstr_value *v);

/* Decompresses LZF data in[0..ilen) into out[0..olen). Returns the bytes
 * written, or -1 if the input is malformed (a back reference before the
 * start, a run past either end). Bounded by ilen and olen. */
long rdbstr_lzf_decompress(const void *in, size_t ilen, void *out, size_t olen);
