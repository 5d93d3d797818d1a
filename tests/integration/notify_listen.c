/* notify_listen.c: plays systemd's side of the notify protocol for
 * tests/integration/service.sh. Binds a Unix datagram socket at SOCKET (a
 * path, or "@name" for an abstract one) and appends every datagram it
 * receives to OUT, one "KEY=value" per line, until it is killed or
 * SECONDS pass. Built by service.sh itself: cc -o notify_listen this.c
 *
 *   notify_listen SOCKET OUT [SECONDS]
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LISTEN_MSG_MAX 4096 /* bytes of one datagram */

static int
bind_socket(const char *name)
{
    struct sockaddr_un sa = {0};
    size_t n = strlen(name);
    if (n >= sizeof(sa.sun_path)) {
        return -1;
    }
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, name, n);
    socklen_t len = (socklen_t)sizeof(sa);
    if (name[0] == '@') {
        sa.sun_path[0] = '\0';
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        unlink(name);
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) != 0) {
        return -1;
    }
    return fd;
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: notify_listen SOCKET OUT [SECONDS]\n");
        return 2;
    }
    int fd = bind_socket(argv[1]);
    int out = open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0 || out < 0) {
        perror("notify_listen");
        return 1;
    }
    time_t stop = time(NULL) + (argc > 3 ? atoi(argv[3]) : 120);
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char buf[LISTEN_MSG_MAX + 1];
    while (time(NULL) < stop) {
        ssize_t n = recv(fd, buf, LISTEN_MSG_MAX, 0);
        if (n <= 0) {
            continue;
        }
        buf[n++] = '\n';
        if (write(out, buf, (size_t)n) != n) {
            return 1;
        }
    }
    return 0;
}
