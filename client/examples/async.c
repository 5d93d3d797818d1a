/* async.c -- 100 GETs in flight on libevent, one callback each. */
#include <offheap.h>

#include <event2/event.h>
#include <stdio.h>

#define N 100 /* requests in flight */

static int done, hits;

static void
on_reply(offheap_async_t *ac, int status, offheap_reply_t *r, void *arg)
{
    (void)arg;
    if (status != 0) {
        fprintf(stderr, "error: %s\n", offheap_async_errstr(ac));
    } else if (r->type == OFFHEAP_REPLY_STRING) {
        hits++;
    }
    if (++done == N) {
        offheap_async_close(ac);
    }
}

int
main(int argc, char **argv)
{
    const char *servers = argc > 1 ? argv[1] : "127.0.0.1:6388";
    struct event_base *base = event_base_new();
    offheap_async_t *ac = offheap_async_connect(base, servers, 1000);

    if (ac == NULL) {
        fprintf(stderr, "bad servers spec\n");
        return 1;
    }
    offheap_async_set(ac, "k", 1, "v", 1, 0, on_reply, NULL);
    for (int i = 1; i < N; i++) {
        if (offheap_async_get(ac, "k", 1, on_reply, NULL) != 0) {
            fprintf(stderr, "get: %s\n", offheap_async_errstr(ac));
            return 1;
        }
    }
    event_base_dispatch(base);
    event_base_free(base);
    printf("%d replies, %d hits\n", done, hits);
    return done != N;
}
