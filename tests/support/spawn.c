/*
 * spawn.c -- a server per test group, and raw sockets to poke it with.
 *
 * spawn_start() picks a free port by binding port 0 and closing it, forks,
 * and execs $OFFHEAPD --port P --bind 127.0.0.1 --dir TMP [extra...] with
 * stdout/stderr in TMP/offheapd.log. The child asks for SIGTERM when the
 * test binary dies (PR_SET_PDEATHSIG), so a crashed test leaks no server.
 * If the server exits before it answers PING (another process took the
 * port in between), it is retried on a new port, SPAWN_TRIES times.
 *
 * The raw connection keeps a growable receive buffer; raw_reply() cuts one
 * complete RESP2/RESP3 value off its front, so pipelined replies arriving
 * in one read are handed out one by one.
 */
#include "spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#define SPAWN_TRIES    3       /* ports tried before giving up */
#define SPAWN_POLL_MS  20      /* ms between readiness probes */
#define RAW_SNDTIMEO_S 10      /* s a blocked send may wait */
#define RAW_CHUNK      65536   /* bytes read per recv() */
#define RESP_MAX_DEPTH 64      /* nesting accepted by resp_value_len() */
#define INFO_MAX       1048576 /* bytes of INFO reply accepted */

long long
spawn_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
spawn_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

bool
spawn_external(void)
{
    const char *e = getenv("OH_TEST_SERVER");

    return e != NULL && e[0] != '\0';
}

bool
spawn_is_offheap(const struct spawn_server *s)
{
    return s->flavor == SPAWN_OFFHEAP;
}

bool
spawn_is_redis(const struct spawn_server *s)
{
    return s->flavor == SPAWN_REDIS;
}

/* ---- raw sockets ---- */

static struct raw_conn *
raw_wrap(int fd)
{
    struct raw_conn *rc = calloc(1, sizeof(*rc));
    struct timeval tv = {RAW_SNDTIMEO_S, 0};

    if (rc == NULL) {
        close(fd);
        return NULL;
    }
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    rc->fd = fd;
    return rc;
}

struct raw_conn *
raw_open(const char *host, int port, int rcvbuf)
{
    struct sockaddr_in sa;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0) {
        return NULL;
    }
    if (rcvbuf > 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return NULL;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return raw_wrap(fd);
}

struct raw_conn *
raw_open_unix(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    if (fd < 0) {
        return NULL;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return NULL;
    }
    return raw_wrap(fd);
}

void
raw_close(struct raw_conn **rc)
{
    if (rc == NULL || *rc == NULL) {
        return;
    }
    close((*rc)->fd);
    free((*rc)->buf);
    free(*rc);
    *rc = NULL;
}

int
raw_send(struct raw_conn *rc, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = send(rc->fd, p, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
raw_sends(struct raw_conn *rc, const char *s)
{
    return raw_send(rc, s, strlen(s));
}

/* Reads once, waiting up to timeout_ms. Returns bytes read, 0 on timeout,
 * -1 on close (rc->closed set). */
static ssize_t
raw_read_once(struct raw_conn *rc, int timeout_ms)
{
    struct pollfd pfd = {rc->fd, POLLIN, 0};
    ssize_t n;

    if (rc->closed) {
        return -1;
    }
    if (poll(&pfd, 1, timeout_ms < 0 ? 0 : timeout_ms) <= 0) {
        return 0;
    }
    if (rc->cap - rc->len < RAW_CHUNK) {
        size_t cap = rc->cap == 0 ? 2 * RAW_CHUNK : rc->cap * 2;
        char *nb = realloc(rc->buf, cap + 1);

        if (nb == NULL) {
            return -1;
        }
        rc->buf = nb;
        rc->cap = cap;
    }
    n = recv(rc->fd, rc->buf + rc->len, rc->cap - rc->len, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return 0;
    }
    if (n <= 0) {
        rc->closed = true;
        return -1;
    }
    rc->len += (size_t)n;
    return n;
}

size_t
raw_fill(struct raw_conn *rc, size_t want, int timeout_ms)
{
    long long deadline = spawn_now_ms() + timeout_ms;

    while (rc->len < want) {
        long long left = deadline - spawn_now_ms();

        if (left <= 0 || raw_read_once(rc, (int)left) < 0) {
            break;
        }
    }
    return rc->len;
}

/* Parses the decimal after the type byte of the line [p, nl). */
static bool
line_number(const char *p, const char *nl, long long *out)
{
    char tmp[32];
    size_t n = (size_t)(nl - p) - 1;
    char *end;

    if (n == 0 || n >= sizeof(tmp) || nl[-1] != '\r') {
        return false;
    }
    memcpy(tmp, p + 1, n - 1);
    tmp[n - 1] = '\0';
    errno = 0;
    *out = strtoll(tmp, &end, 10);
    return errno == 0 && *end == '\0' && end != tmp;
}

static ssize_t
value_len(const char *p, size_t len, int depth)
{
    const char *nl;
    size_t line, off;
    long long n, count;

    if (len == 0) {
        return 0;
    }
    if (depth > RESP_MAX_DEPTH) {
        return -1;
    }
    nl = memchr(p, '\n', len);
    if (nl == NULL) {
        return 0;
    }
    line = (size_t)(nl - p) + 1;
    switch (p[0]) {
    case '+':
    case '-':
    case ':':
    case '_':
    case '#':
    case ',':
    case '(':
        return (ssize_t)line;
    case '$':
    case '!':
    case '=':
        if (!line_number(p, nl, &n)) {
            return -1;
        }
        if (n < 0) {
            return (ssize_t)line;
        }
        if (len < line + (size_t)n + 2) {
            return 0;
        }
        return (ssize_t)(line + (size_t)n + 2);
    case '*':
    case '~':
    case '>':
    case '%':
    case '|':
        if (!line_number(p, nl, &n)) {
            return -1;
        }
        if (n < 0) {
            return (ssize_t)line;
        }
        count = (p[0] == '%' || p[0] == '|') ? 2 * n : n;
        /* an attribute map precedes the value it annotates */
        count += p[0] == '|' ? 1 : 0;
        off = line;
        for (long long i = 0; i < count; i++) {
            ssize_t r = value_len(p + off, len - off, depth + 1);

            if (r <= 0) {
                return r;
            }
            off += (size_t)r;
        }
        return (ssize_t)off;
    default:
        return -1;
    }
}

ssize_t
resp_value_len(const char *p, size_t len)
{
    return value_len(p, len, 0);
}

char *
raw_reply(struct raw_conn *rc, int timeout_ms, size_t *len)
{
    long long deadline = spawn_now_ms() + timeout_ms;
    ssize_t n;
    char *out;

    while ((n = resp_value_len(rc->buf, rc->len)) == 0) {
        long long left = deadline - spawn_now_ms();

        if (left <= 0 || raw_read_once(rc, (int)left) < 0) {
            return NULL;
        }
    }
    if (n < 0) {
        return NULL;
    }
    out = malloc((size_t)n + 1);
    if (out == NULL) {
        return NULL;
    }
    memcpy(out, rc->buf, (size_t)n);
    out[n] = '\0';
    memmove(rc->buf, rc->buf + n, rc->len - (size_t)n);
    rc->len -= (size_t)n;
    if (len != NULL) {
        *len = (size_t)n;
    }
    return out;
}

bool
raw_wait_closed(struct raw_conn *rc, int timeout_ms, size_t *discarded)
{
    long long deadline = spawn_now_ms() + timeout_ms;
    size_t total = 0;

    for (;;) {
        long long left = deadline - spawn_now_ms();

        total += rc->len;
        rc->len = 0;
        if (rc->closed) {
            break;
        }
        if (left <= 0) {
            break;
        }
        raw_read_once(rc, (int)left);
    }
    if (discarded != NULL) {
        *discarded = total;
    }
    return rc->closed;
}

/* ---- spawning ---- */

static int
free_port(void)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    int port = -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0) {
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0) {
        port = ntohs(sa.sin_port);
    }
    close(fd);
    return port;
}

/* Sends one inline command and returns its reply (OWNED) or NULL. */
static char *
raw_ask(const char *host, int port, const char *cmd, int timeout_ms)
{
    struct raw_conn *rc = raw_open(host, port, 0);
    char *r = NULL;

    if (rc != NULL && raw_sends(rc, cmd) == 0) {
        r = raw_reply(rc, timeout_ms, NULL);
    }
    raw_close(&rc);
    return r;
}

static void
parse_version(const char *info, const char *field, struct spawn_server *s)
{
    const char *v = strstr(info, field);

    if (v != NULL) {
        sscanf(v + strlen(field), "%d.%d", &s->major, &s->minor);
    }
}

static void
detect_flavor(struct spawn_server *s)
{
    char *info = raw_ask(s->host, s->port, "INFO server\r\n", 2000);

    s->flavor = SPAWN_UNKNOWN;
    if (info != NULL && info[0] == '$') {
        if (strstr(info, "\noffheap_version:") != NULL) {
            s->flavor = SPAWN_OFFHEAP;
            parse_version(info, "\noffheap_version:", s);
        } else if (strstr(info, "\nredis_version:") != NULL) {
            s->flavor = SPAWN_REDIS;
            parse_version(info, "\nredis_version:", s);
        }
    }
    free(info);
}

static void
print_log(const struct spawn_server *s)
{
    char line[512];
    FILE *f = fopen(s->log, "r");

    if (f == NULL) {
        return;
    }
    fprintf(stderr, "---- %s ----\n", s->log);
    while (fgets(line, sizeof(line), f) != NULL) {
        fputs(line, stderr);
    }
    fprintf(stderr, "---- end of log ----\n");
    fclose(f);
}

static void
remove_dir(const char *dir)
{
    char path[512];
    struct dirent *e;
    DIR *d = opendir(dir);

    if (d == NULL) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
    rmdir(dir);
}

/* Whether `s` is the external server of OH_TEST_SERVER (not a peer). */
static bool
is_external(const struct spawn_server *s)
{
    return s->exe == NULL && spawn_external();
}

static const char *
server_binary(const struct spawn_server *s)
{
    const char *b = getenv("OFFHEAPD");

    if (s->exe != NULL) {
        return s->exe;
    }
    return (b != NULL && b[0] != '\0') ? b : "build/offheapd";
}

/* In the child: redirect output, arrange death with the parent, exec. */
static void
exec_server(const struct spawn_server *s, const char *const *extra)
{
    const char *argv[64];
    char port[16];
    int n = 0;
    int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0600);

    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    snprintf(port, sizeof(port), "%d", s->port);
    argv[n++] = server_binary(s);
    argv[n++] = "--port";
    argv[n++] = port;
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--dir";
    argv[n++] = s->dir;
    for (int i = 0; extra != NULL && extra[i] != NULL && n < 63; i++) {
        argv[n++] = extra[i];
    }
    argv[n] = NULL;
    execvp(argv[0], (char *const *)argv);
    fprintf(stderr, "spawn: cannot exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Waits for PING. Returns 0 when up, -1 if the server exited (the status
 * goes to *status), -2 on timeout. */
static int
wait_ready(struct spawn_server *s, int *status)
{
    long long deadline = spawn_now_ms() + SPAWN_READY_MS;

    while (spawn_now_ms() < deadline) {
        char *r;

        if (waitpid(s->pid, status, WNOHANG) == s->pid) {
            s->pid = 0;
            return -1;
        }
        r = raw_ask(s->host, s->port, "PING\r\n", 1000);
        if (r != NULL &&
            (strncmp(r, "+PONG", 5) == 0 || strncmp(r, "-NOAUTH", 7) == 0)) {
            free(r);
            return 0;
        }
        free(r);
        spawn_sleep_ms(SPAWN_POLL_MS);
    }
    return -2;
}

static int
start_external(struct spawn_server *s)
{
    const char *e = getenv("OH_TEST_SERVER");
    const char *colon = strrchr(e, ':');
    size_t hl = colon == NULL ? 0 : (size_t)(colon - e);

    if (colon == NULL || hl == 0 || hl >= sizeof(s->host)) {
        fprintf(stderr, "spawn: OH_TEST_SERVER must be host:port, not %s\n", e);
        return -1;
    }
    memcpy(s->host, e, hl);
    s->host[hl] = '\0';
    if (strcmp(s->host, "localhost") == 0) {
        snprintf(s->host, sizeof(s->host), "127.0.0.1");
    }
    s->port = atoi(colon + 1);
    detect_flavor(s);
    return 0;
}

static int
start_once(struct spawn_server *s, const char *const *extra)
{
    int status = 0;
    int rc;

    s->port = free_port();
    if (s->port < 0) {
        return -2;
    }
    s->pid = fork();
    if (s->pid < 0) {
        s->pid = 0;
        return -2;
    }
    if (s->pid == 0) {
        exec_server(s, extra);
    }
    rc = wait_ready(s, &status);
    if (rc == -1) {
        fprintf(stderr, "spawn: %s exited early (status %d) on port %d\n",
                server_binary(s), status, s->port);
    }
    return rc;
}

/* Spawns s->exe (or $OFFHEAPD) on a free port in a fresh temp dir. */
static int
start_spawned(struct spawn_server *s, const char *const *extra)
{
    int rc = -1;

    snprintf(s->host, sizeof(s->host), "127.0.0.1");
    snprintf(s->dir, sizeof(s->dir), "/tmp/oh-test-XXXXXX");
    if (mkdtemp(s->dir) == NULL) {
        perror("spawn: mkdtemp");
        return -1;
    }
    snprintf(s->log, sizeof(s->log), "%s/offheapd.log", s->dir);
    for (int i = 0; i < SPAWN_TRIES && rc == -1; i++) {
        rc = start_once(s, extra);
    }
    if (rc != 0) {
        fprintf(stderr, "spawn: %s did not start and answer PING (%d ms)\n",
                server_binary(s), SPAWN_READY_MS);
        print_log(s);
        spawn_stop(s);
        return -1;
    }
    detect_flavor(s);
    return 0;
}

int
spawn_start(struct spawn_server *s, const char *const *extra)
{
    memset(s, 0, sizeof(*s));
    if (spawn_external()) {
        return start_external(s);
    }
    return start_spawned(s, extra);
}

int
spawn_start_exe(struct spawn_server *s, const char *exe,
                const char *const *extra)
{
    memset(s, 0, sizeof(*s));
    s->exe = exe;
    return start_spawned(s, extra);
}

bool
spawn_alive(struct spawn_server *s)
{
    int status;

    if (is_external(s)) {
        return true;
    }
    if (s->pid <= 0) {
        return false;
    }
    if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
        fprintf(stderr, "spawn: server pid %d died, status 0x%x\n", (int)s->pid,
                status);
        print_log(s);
        s->pid = -1;
        return false;
    }
    return true;
}

/* Waits for the pid; returns true with its status if it exited in time. */
static bool
reap(pid_t pid, int timeout_ms, int *status)
{
    long long deadline = spawn_now_ms() + timeout_ms;

    do {
        if (waitpid(pid, status, WNOHANG) == pid) {
            return true;
        }
        spawn_sleep_ms(10);
    } while (spawn_now_ms() < deadline);
    return false;
}

int
spawn_stop(struct spawn_server *s)
{
    int status = 0;
    int rc = 0;

    if (is_external(s) || s->dir[0] == '\0') {
        return 0;
    }
    if (s->pid < 0) {
        rc = -1; /* spawn_alive() saw it die */
    } else if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        if (!reap(s->pid, SPAWN_STOP_MS, &status)) {
            fprintf(stderr, "spawn: pid %d ignored SIGTERM; killing\n",
                    (int)s->pid);
            kill(s->pid, SIGKILL);
            reap(s->pid, SPAWN_STOP_MS, &status);
            rc = -1;
        } else if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) &&
                   !(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM)) {
            fprintf(stderr, "spawn: server exited with status 0x%x\n", status);
            rc = -1;
        }
    }
    if (rc != 0) {
        print_log(s);
    }
    s->pid = 0;
    remove_dir(s->dir);
    s->dir[0] = '\0';
    return rc;
}
