/* guard.h: a buffer that ends at an inaccessible page, for parser tests: a
 * read one byte past the input faults at once instead of passing unseen.
 * Header-only (each test file gets its own buffer); include after cmocka.h.
 *   guard_setup / guard_teardown are the group setup and teardown
 *   (cmocka_run_group_tests), guard_put(src, n) copies n bytes so they end
 *   at the guard page. */
#pragma once

#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUARD_ROOM ((size_t)1 << 20) /* bytes usable in front of the guard */

static char *guard_map;   /* GUARD_ROOM bytes, then one PROT_NONE page */
static size_t guard_page; /* bytes per page */

static inline int
guard_setup(void **state)
{
    (void)state;
    guard_page = (size_t)sysconf(_SC_PAGESIZE);
    guard_map = mmap(NULL, GUARD_ROOM + guard_page, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (guard_map == MAP_FAILED) {
        return -1;
    }
    return mprotect(guard_map + GUARD_ROOM, guard_page, PROT_NONE);
}

static inline int
guard_teardown(void **state)
{
    (void)state;
    return munmap(guard_map, GUARD_ROOM + guard_page);
}

/* Copies src[0..n) so that it ends at the guard page (src may lie in the
 * guarded buffer itself); returns the copy. */
static inline char *
guard_put(const void *src, size_t n)
{
    char *dst = guard_map + GUARD_ROOM - n;

    assert_true(n <= GUARD_ROOM);
    memmove(dst, src, n);
    return dst;
}
