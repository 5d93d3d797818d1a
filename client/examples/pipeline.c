/* pipeline.c -- queue 1000 SETs, then read their replies in one go. */
#include <offheap.h>

#include <stdio.h>

#define N 1000 /* commands per batch */

int
main(int argc, char **argv)
{
    const char *servers = argc > 1 ? argv[1] : "127.0.0.1:6388";
    offheap_t *c = offheap_connect(servers, 1000);
    int failed = 0;

    if (c == NULL || offheap_err(c) != 0) {
        fprintf(stderr, "connect: %s\n", c ? offheap_errstr(c) : "no memory");
        offheap_close(c);
        return 1;
    }
    for (int i = 0; i < N; i++) {
        char key[32], val[32];
        int kl = snprintf(key, sizeof(key), "pipe:%d", i);
        int vl = snprintf(val, sizeof(val), "value %d", i);

        if (offheap_append_set(c, key, (size_t)kl, val, (size_t)vl, 0) != 0) {
            fprintf(stderr, "append: %s\n", offheap_errstr(c));
            break;
        }
    }
    while (offheap_pending(c) > 0) {
        offheap_reply_t *r = NULL;

        if (offheap_get_reply(c, &r) != 0 || r->type != OFFHEAP_REPLY_STATUS) {
            failed++;
        }
        offheap_reply_free(&r);
    }
    printf("%d sets, %d failed\n", N, failed);
    offheap_close(c);
    return failed != 0;
}
