/* hello.c -- set, get, incr and delete one key.
 *   cc hello.c $(pkg-config --cflags --libs offheap) && ./a.out 127.0.0.1:6388
 */
#include <offheap.h>

#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
    const char *servers = argc > 1 ? argv[1] : "127.0.0.1:6388";
    offheap_t *c = offheap_connect(servers, 500);
    const char *msg = "hello, offheap";
    void *val = NULL;
    size_t vlen = 0;
    int64_t n = 0;

    if (c == NULL || offheap_err(c) != 0) {
        fprintf(stderr, "connect: %s\n", c ? offheap_errstr(c) : "no memory");
        offheap_close(c);
        return 1;
    }
    if (offheap_set(c, "greeting", 8, msg, strlen(msg), 60000) != 0 ||
        offheap_get(c, "greeting", 8, &val, &vlen) != 1 ||
        offheap_incr(c, "visits", 6, 1, &n) != 0) {
        fprintf(stderr, "error: %s\n", offheap_errstr(c));
        offheap_close(c);
        return 1;
    }
    printf("%.*s (visit %lld)\n", (int)vlen, (char *)val, (long long)n);
    offheap_free_value(val);
    offheap_del(c, "greeting", 8);
    offheap_close(c);
    return 0;
}
