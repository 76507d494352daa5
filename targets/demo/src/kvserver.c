/*
 * kvserver — a small in-memory key-value store over TCP.
 *
 * This is labrig's demo system: small enough to read in one sitting, real
 * enough to deploy, load and measure.
 *
 * Protocol (text, one request per line; lines end in "\r\n", a bare "\n" is
 * accepted too; requests may be pipelined):
 *
 *   SET <key> <nbytes>\r\n<data>\r\n   ->  STORED
 *   GET <key>                          ->  VALUE <nbytes>\r\n<data>   |  NOT_FOUND
 *   DEL <key>                          ->  DELETED                    |  NOT_FOUND
 *   STATS                              ->  STATS keys=<n> gets=<n> sets=<n> conns=<n>
 *   PING                               ->  PONG
 *   QUIT                               ->  (the server closes the connection)
 *   anything else                      ->  ERROR <reason>
 *
 * Every reply line ends in "\r\n". Keys are 1..250 bytes without spaces or
 * control characters; values are 0..1 MiB of arbitrary bytes. Command names
 * are case-insensitive. STATS counts GET and SET requests served since start
 * and the connections open now. A SET whose value is too large is answered
 * with ERROR and its data is skipped, so the connection stays usable.
 *
 * Design: the main thread accepts connections and hands each one to one of
 * --threads worker threads (round robin). Each worker owns an epoll instance
 * and serves its connections with non-blocking I/O, so a few threads serve
 * many connections. The table is a hash table split into 64 shards, each
 * with its own lock, so workers rarely wait for each other.
 *
 * Readiness: the ready file (--ready-file) is written, and the line
 * "kvserver listening on ADDR:PORT" printed, only after listen() succeeded.
 * SIGTERM or SIGINT: stop accepting, close connections, remove the ready
 * file, exit 0.
 */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NSHARDS 64                  /* table shards; a power of two */
#define SHARD_BITS 6                /* log2(NSHARDS) */
#define INITIAL_BUCKETS 256         /* per shard; a power of two */
#define READ_CHUNK (64 * 1024)      /* bytes read per recv() at most */
#define READS_PER_TURN 16           /* then let other connections run */
#define OUT_HIGH_WATER (4u << 20)   /* stop running requests while this much output is unsent */
#define IDLE_BUF_MAX (256 * 1024)   /* free larger buffers when a connection goes idle */

/* ------------------------------------------------------------------------ */
/* Logging                                                                   */
/* ------------------------------------------------------------------------ */

static FILE *logf;   /* --log file, or NULL: no event log */

static void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_msg(const char *fmt, ...)
{
    if (!logf)
        return;
    struct timespec ts;
    struct tm tm;
    char stamp[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    /* Build the whole line first: one fputs per line keeps lines from
     * different threads whole. */
    char line[512];
    int n = snprintf(line, sizeof line, "%s.%03ldZ ", stamp, ts.tv_nsec / 1000000);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    strcat(line, "\n");
    fputs(line, logf);
}

/* ------------------------------------------------------------------------ */
/* The table: a sharded, chained hash table                                  */
/* ------------------------------------------------------------------------ */

struct entry {
    struct entry *next;   /* next entry in the same bucket */
    uint64_t hash;
    uint32_t klen, vlen;
    char data[];          /* klen key bytes, then vlen value bytes */
};

struct shard {
    pthread_mutex_t lock;
    struct entry **buckets;
    size_t nbuckets;      /* a power of two */
    size_t count;
};

static struct shard shards[NSHARDS];

/* Counters for STATS. Relaxed atomics: exact totals, no ordering needed. */
static atomic_ulong stat_keys, stat_gets, stat_sets, stat_conns;

/* FNV-1a, 64 bit: simple and good enough for a demo. */
static uint64_t hash_key(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* The top bits choose the shard, the low bits the bucket in it. */
static struct shard *shard_of(uint64_t h) { return &shards[h >> (64 - SHARD_BITS)]; }

static void table_init(void)
{
    for (int i = 0; i < NSHARDS; i++) {
        pthread_mutex_init(&shards[i].lock, NULL);
        shards[i].nbuckets = INITIAL_BUCKETS;
        shards[i].buckets = xcalloc(INITIAL_BUCKETS, sizeof(struct entry *));
    }
}

static void table_free(void)
{
    for (int i = 0; i < NSHARDS; i++) {
        struct shard *s = &shards[i];
        for (size_t b = 0; b < s->nbuckets; b++) {
            for (struct entry *e = s->buckets[b], *next; e; e = next) {
                next = e->next;
                free(e);
            }
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->lock);
    }
}

/* Find the link that points at the entry for `key` (or at the NULL ending
 * its bucket if there is none). Caller holds the shard lock. */
static struct entry **shard_find(struct shard *s, uint64_t h, const char *key, size_t klen)
{
    struct entry **link = &s->buckets[h & (s->nbuckets - 1)];
    for (; *link; link = &(*link)->next) {
        struct entry *e = *link;
        if (e->hash == h && e->klen == klen && memcmp(e->data, key, klen) == 0)
            break;
    }
    return link;
}

/* Double the bucket array once the shard holds more entries than buckets.
 * Caller holds the shard lock. */
static void shard_maybe_grow(struct shard *s)
{
    if (s->count <= s->nbuckets)
        return;
    size_t nb = s->nbuckets * 2;
    struct entry **buckets = xcalloc(nb, sizeof *buckets);
    for (size_t b = 0; b < s->nbuckets; b++) {
        for (struct entry *e = s->buckets[b], *next; e; e = next) {
            next = e->next;
            struct entry **head = &buckets[e->hash & (nb - 1)];
            e->next = *head;
            *head = e;
        }
    }
    free(s->buckets);
    s->buckets = buckets;
    s->nbuckets = nb;
}

static void kv_set(const char *key, size_t klen, const char *val, size_t vlen)
{
    /* Build the new entry before taking the lock: copying up to 1 MiB
     * should not hold up other clients of the shard. */
    uint64_t h = hash_key(key, klen);
    struct entry *e = xmalloc(sizeof *e + klen + vlen);
    e->hash = h;
    e->klen = (uint32_t)klen;
    e->vlen = (uint32_t)vlen;
    memcpy(e->data, key, klen);
    memcpy(e->data + klen, val, vlen);

    struct shard *s = shard_of(h);
    pthread_mutex_lock(&s->lock);
    struct entry **link = shard_find(s, h, key, klen);
    struct entry *old = *link;
    e->next = old ? old->next : NULL;
    *link = e;
    if (!old) {
        s->count++;
        shard_maybe_grow(s);
    }
    pthread_mutex_unlock(&s->lock);

    if (old)
        free(old);
    else
        atomic_fetch_add_explicit(&stat_keys, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&stat_sets, 1, memory_order_relaxed);
}

/* Append the GET reply for `key` to `out`. The value is copied while the
 * shard lock is held, so a concurrent SET or DEL cannot free it under us. */
static void kv_get(const char *key, size_t klen, struct buf *out)
{
    uint64_t h = hash_key(key, klen);
    struct shard *s = shard_of(h);
    pthread_mutex_lock(&s->lock);
    struct entry *e = *shard_find(s, h, key, klen);
    if (e) {
        buf_printf(out, "VALUE %u\r\n", e->vlen);
        buf_append(out, e->data + e->klen, e->vlen);
        buf_append(out, "\r\n", 2);
    } else {
        buf_append(out, "NOT_FOUND\r\n", 11);
    }
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add_explicit(&stat_gets, 1, memory_order_relaxed);
}

static bool kv_del(const char *key, size_t klen)
{
    uint64_t h = hash_key(key, klen);
    struct shard *s = shard_of(h);
    pthread_mutex_lock(&s->lock);
    struct entry **link = shard_find(s, h, key, klen);
    struct entry *e = *link;
    if (e) {
        *link = e->next;
        s->count--;
    }
    pthread_mutex_unlock(&s->lock);
    if (!e)
        return false;
    free(e);
    atomic_fetch_sub_explicit(&stat_keys, 1, memory_order_relaxed);
    return true;
}

/* ------------------------------------------------------------------------ */
/* Connections and workers                                                   */
/* ------------------------------------------------------------------------ */

struct worker;

struct conn {
    int fd;
    uint32_t events;          /* what epoll watches for now */
    struct buf in, out;       /* received requests, unsent replies */
    size_t skip;              /* bytes of a refused SET's data still to discard */
    bool skip_line;           /* discarding up to the next '\n' after a framing error */
    bool eof;                 /* the client closed its side */
    bool quit;                /* QUIT received: close once replies are sent */
    unsigned long id;
    char peer[64];
    struct worker *w;
    struct conn *prev, *next; /* the worker's list of connections */
};

struct worker {
    pthread_t thread;
    int epfd;                 /* this worker's epoll instance */
    int wakefd;               /* eventfd, written to stop the worker */
    pthread_mutex_t lock;     /* guards `conns`: the acceptor adds, the worker removes */
    struct conn *conns;
};

static atomic_bool stopping;

static void reply(struct conn *c, const char *line)
{
    buf_append(&c->out, line, strlen(line));
    buf_append(&c->out, "\r\n", 2);
}

/* A key is 1..KV_MAX_KEY printable bytes (spaces already split tokens). */
static const char *check_key(const char *k, size_t n)
{
    if (n > KV_MAX_KEY)
        return "ERROR key too long (max 250 bytes)";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)k[i];
        if (ch < 0x21 || ch == 0x7f)
            return "ERROR bad character in key";
    }
    return NULL;
}

/* Parse a SET length: 1..10 plain digits. Returns -1 if it is not one. */
static long parse_nbytes(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 10)
        return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/*
 * Run one request. `p` points at a request line of `linelen` bytes ('\n'
 * included); `avail` bytes are buffered from `p` on. Returns how many bytes
 * the request used, or 0 if a SET's data has not fully arrived yet.
 */
static size_t run_request(struct conn *c, const char *p, size_t linelen, size_t avail)
{
    char line[KV_MAX_LINE + 1];
    size_t n = linelen - 1;                /* drop '\n' */
    if (n > 0 && p[n - 1] == '\r')
        n--;                               /* and '\r' */
    if (memchr(p, '\0', n)) {
        reply(c, "ERROR bad character in request");
        return linelen;
    }
    memcpy(line, p, n);
    line[n] = '\0';

    /* Split into at most 3 words; a 4th is an error for every command. */
    char *argv[4];
    int argc = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        if (argc == 4)
            break;
        argv[argc++] = tok;
    }
    if (argc == 0) {
        reply(c, "ERROR empty request");
        return linelen;
    }
    const char *cmd = argv[0];

    if (strcasecmp(cmd, "SET") == 0) {
        if (argc != 3) {
            reply(c, "ERROR usage: SET <key> <nbytes>");
            return linelen;
        }
        long nbytes = parse_nbytes(argv[2]);
        if (nbytes < 0) {
            reply(c, "ERROR bad length");
            return linelen;
        }
        /* From here on the client will send nbytes + 2 bytes of data: skip
         * them if the request is refused, so the stream stays in step. */
        const char *err = check_key(argv[1], strlen(argv[1]));
        if (!err && nbytes > (long)KV_MAX_VALUE)
            err = "ERROR value too large (max 1048576 bytes)";
        if (err) {
            reply(c, err);
            c->skip = (size_t)nbytes + 2;
            return linelen;
        }
        size_t need = linelen + (size_t)nbytes + 2;
        if (avail < need) {
            /* Make room for the whole request, then wait for the rest. */
            buf_reserve(&c->in, need - avail);
            return 0;
        }
        const char *data = p + linelen;
        if (data[nbytes] != '\r' || data[nbytes + 1] != '\n') {
            reply(c, "ERROR bad data chunk (expected <nbytes> bytes then \\r\\n)");
            c->skip_line = true;           /* resynchronise at the next line */
            return linelen + (size_t)nbytes;
        }
        kv_set(argv[1], strlen(argv[1]), data, (size_t)nbytes);
        reply(c, "STORED");
        return need;
    }
    if (strcasecmp(cmd, "GET") == 0 || strcasecmp(cmd, "DEL") == 0) {
        bool get = strcasecmp(cmd, "GET") == 0;
        if (argc != 2) {
            reply(c, get ? "ERROR usage: GET <key>" : "ERROR usage: DEL <key>");
            return linelen;
        }
        const char *err = check_key(argv[1], strlen(argv[1]));
        if (err)
            reply(c, err);
        else if (get)
            kv_get(argv[1], strlen(argv[1]), &c->out);
        else
            reply(c, kv_del(argv[1], strlen(argv[1])) ? "DELETED" : "NOT_FOUND");
        return linelen;
    }
    if (argc != 1) {
        bool known = strcasecmp(cmd, "STATS") == 0 || strcasecmp(cmd, "PING") == 0 ||
                     strcasecmp(cmd, "QUIT") == 0;
        reply(c, known ? "ERROR too many arguments" : "ERROR unknown command");
        return linelen;
    }
    if (strcasecmp(cmd, "STATS") == 0) {
        buf_printf(&c->out, "STATS keys=%lu gets=%lu sets=%lu conns=%lu\r\n",
                   atomic_load_explicit(&stat_keys, memory_order_relaxed),
                   atomic_load_explicit(&stat_gets, memory_order_relaxed),
                   atomic_load_explicit(&stat_sets, memory_order_relaxed),
                   atomic_load_explicit(&stat_conns, memory_order_relaxed));
    } else if (strcasecmp(cmd, "PING") == 0) {
        reply(c, "PONG");
    } else if (strcasecmp(cmd, "QUIT") == 0) {
        c->quit = true;
    } else {
        reply(c, "ERROR unknown command");
    }
    return linelen;
}

/*
 * Run the complete requests buffered in c->in, appending replies to c->out.
 * Returns true if it stopped because too much output is waiting (the caller
 * sends it and calls again), false when the buffered input is used up.
 */
static bool conn_process(struct conn *c)
{
    while (buf_pending(&c->in) > 0 && !c->quit) {
        if (buf_pending(&c->out) >= OUT_HIGH_WATER)
            return true;
        const char *p = c->in.data + c->in.off;
        size_t avail = buf_pending(&c->in);

        if (c->skip > 0) {                         /* data of a refused SET */
            size_t n = c->skip < avail ? c->skip : avail;
            c->in.off += n;
            c->skip -= n;
            continue;
        }
        const char *nl = memchr(p, '\n', avail);
        if (c->skip_line) {                        /* junk up to the next line */
            c->in.off += nl ? (size_t)(nl - p) + 1 : avail;
            c->skip_line = !nl;
            continue;
        }
        if (!nl) {
            if (avail >= KV_MAX_LINE) {            /* no line end in sight */
                reply(c, "ERROR line too long");
                c->in.off += avail;
                c->skip_line = true;
            }
            break;                                 /* wait for the rest of the line */
        }
        size_t linelen = (size_t)(nl - p) + 1;
        if (linelen > KV_MAX_LINE) {
            reply(c, "ERROR line too long");
            c->in.off += linelen;
            continue;
        }
        size_t used = run_request(c, p, linelen, avail);
        if (used == 0)
            break;                                 /* SET data still arriving */
        c->in.off += used;
    }
    return false;
}

/* Send what we can of c->out. Returns -1 if the connection failed. */
static int conn_flush(struct conn *c)
{
    while (buf_pending(&c->out) > 0) {
        ssize_t n = send(c->fd, c->out.data + c->out.off, buf_pending(&c->out), MSG_NOSIGNAL);
        if (n > 0)
            c->out.off += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        else
            return -1;
    }
    c->out.off = c->out.len = 0;
    return 0;
}

/* Read once. Returns 1 if bytes arrived, 0 if none were waiting (or the
 * client closed its side: c->eof), -1 on error. */
static int conn_read(struct conn *c)
{
    buf_reserve(&c->in, READ_CHUNK);
    size_t room = c->in.cap - c->in.len;
    for (;;) {
        ssize_t n = recv(c->fd, c->in.data + c->in.len, room, 0);
        if (n > 0) {
            c->in.len += (size_t)n;
            return 1;
        }
        if (n == 0) {
            c->eof = true;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return -1;
    }
}

static void conn_watch(struct conn *c, uint32_t events)
{
    if (c->events == events)
        return;
    struct epoll_event ev = { .events = events, .data.ptr = c };
    epoll_ctl(c->w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->events = events;
}

static void conn_free(struct conn *c)
{
    /* Count first: once the client sees the close, STATS must agree. */
    atomic_fetch_sub_explicit(&stat_conns, 1, memory_order_relaxed);
    close(c->fd);
    buf_free(&c->in);
    buf_free(&c->out);
    free(c);
}

static void conn_close(struct conn *c, const char *why)
{
    struct worker *w = c->w;
    log_msg("conn %lu from %s closed (%s)", c->id, c->peer, why);
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    pthread_mutex_lock(&w->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&w->lock);
    conn_free(c);
}

/*
 * Serve a connection epoll reported as ready: read, run requests, send
 * replies. While replies are unsent we stop reading (the client's own
 * sends then back up: that is TCP flow control doing its job) and wait for
 * the socket to become writable.
 */
static void conn_service(struct conn *c)
{
    int reads = 0;
    for (;;) {
        bool got = false;
        if (!c->eof && !c->quit && buf_pending(&c->out) == 0 && reads < READS_PER_TURN) {
            int r = conn_read(c);
            reads++;
            if (r < 0) {
                conn_close(c, strerror(errno));
                return;
            }
            got = r > 0;
        }
        bool more = conn_process(c);
        if (conn_flush(c) < 0) {
            conn_close(c, "send failed");
            return;
        }
        if (buf_pending(&c->out) > 0) {
            conn_watch(c, EPOLLOUT);          /* call us again when writable */
            return;
        }
        if (c->quit || (c->eof && !more)) {
            conn_close(c, c->quit ? "quit" : "client closed");
            return;
        }
        if (more)
            continue;                         /* output sent: run the rest */
        if (!got || reads >= READS_PER_TURN)
            break;
    }
    /* Idle (or yielding to other connections; level-triggered epoll will
     * report the socket again if it still has data). Give back memory a
     * large value left behind. */
    if (buf_pending(&c->in) == 0 && c->in.cap > IDLE_BUF_MAX)
        buf_free(&c->in);
    if (c->out.cap > IDLE_BUF_MAX)
        buf_free(&c->out);
    conn_watch(c, EPOLLIN);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event evs[64];
    while (!atomic_load(&stopping)) {
        int n = epoll_wait(w->epfd, evs, 64, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_msg("epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL)
                continue;                     /* the wake-up eventfd: loop re-checks `stopping` */
            conn_service(evs[i].data.ptr);
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Startup, accept loop, shutdown                                            */
/* ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fputs("usage: kvserver --port P [--bind ADDR] [--threads N] [--ready-file PATH] [--log PATH]\n"
          "  --port P           TCP port to listen on (1..65535; required)\n"
          "  --bind ADDR        numeric IPv4/IPv6 address to listen on (default 0.0.0.0)\n"
          "  --threads N        worker threads serving connections, 1..256 (default: online CPUs, at most 64)\n"
          "  --ready-file PATH  write the pid here once listening; removed on exit\n"
          "  --log PATH         append an event log (connections, errors) here\n",
          f);
}

/* Write the pid to `path` atomically (temporary file, then rename), so a
 * reader never sees it half written. */
static void write_ready_file(const char *path)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        die(1, "--ready-file: path too long");
    FILE *f = fopen(tmp, "w");
    if (!f)
        die(1, "--ready-file: cannot write %s: %s", tmp, strerror(errno));
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        die(1, "--ready-file: cannot write %s: %s", path, strerror(errno));
}

int main(int argc, char **argv)
{
    set_progname("kvserver");
    const char *port_s = NULL, *bind_s = "0.0.0.0", *ready_path = NULL, *log_path = NULL;
    long nthreads = sysconf(_SC_NPROCESSORS_ONLN);
    if (nthreads < 1)
        nthreads = 1;
    if (nthreads > 64)
        nthreads = 64;

    /* Options: "--name value" or "--name=value". */
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        static const char *const names[] = { "--port", "--bind", "--threads", "--ready-file", "--log", NULL };
        const char *val = NULL;
        const char *name = match_option(argc, argv, &i, names, &val);
        if (strcmp(name, "--port") == 0)
            port_s = val;
        else if (strcmp(name, "--bind") == 0)
            bind_s = val;
        else if (strcmp(name, "--threads") == 0)
            nthreads = parse_long_opt("--threads", val, 1, 256);
        else if (strcmp(name, "--ready-file") == 0)
            ready_path = val;
        else
            log_path = val;
    }
    if (!port_s)
        die(1, "--port: required (see --help)");
    int port = (int)parse_long_opt("--port", port_s, 1, 65535);
    struct kv_addr addr;
    if (addr_from_numeric(&addr, bind_s, port) < 0)
        die(1, "--bind: expected a numeric IPv4 or IPv6 address, got \"%s\"", bind_s);
    if (ready_path && ready_path[0] == '\0')
        die(1, "--ready-file: empty path");
    if (log_path) {
        logf = fopen(log_path, "a");
        if (!logf)
            die(1, "--log: cannot open %s: %s", log_path, strerror(errno));
        setvbuf(logf, NULL, _IOLBF, 0);
    }
    char where[80];
    addr_format(&addr, where, sizeof where);

    /* Signals: SIGTERM/SIGINT arrive through a signalfd that the accept
     * loop polls. They are blocked before any thread starts, so every thread
     * inherits the mask and none is interrupted by them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    int sigfd = signalfd(-1, &sigs, SFD_CLOEXEC);
    if (sigfd < 0)
        die(1, "signalfd: %s", strerror(errno));
    signal(SIGPIPE, SIG_IGN);   /* a vanished client is an error return, not a signal */

    int lfd = socket(addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        die(1, "socket: %s", strerror(errno));
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&addr.ss, addr.len) < 0 || listen(lfd, 1024) < 0)
        die(1, "cannot listen on %s: %s", where, strerror(errno));

    table_init();
    struct worker *workers = xcalloc((size_t)nthreads, sizeof *workers);
    for (long i = 0; i < nthreads; i++) {
        struct worker *w = &workers[i];
        pthread_mutex_init(&w->lock, NULL);
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        w->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->epfd < 0 || w->wakefd < 0)
            die(1, "epoll/eventfd: %s", strerror(errno));
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
        epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &ev);
        int err = pthread_create(&w->thread, NULL, worker_main, w);
        if (err)
            die(1, "pthread_create: %s", strerror(err));
    }

    /* Listening and able to serve: now tell the world. */
    if (ready_path)
        write_ready_file(ready_path);
    printf("kvserver listening on %s\n", where);
    fflush(stdout);
    log_msg("listening on %s with %ld threads (pid %ld)", where, nthreads, (long)getpid());

    unsigned long next_id = 1;
    size_t next_worker = 0;
    int signo = 0;
    while (!signo) {
        struct pollfd pfd[2] = { { .fd = lfd, .events = POLLIN }, { .fd = sigfd, .events = POLLIN } };
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            die(1, "poll: %s", strerror(errno));
        }
        if (pfd[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si)
                signo = (int)si.ssi_signo;
            continue;
        }
        if (!(pfd[0].revents & POLLIN))
            continue;

        /* Accept everything that is waiting. */
        for (;;) {
            struct kv_addr peer = { .len = sizeof peer.ss };
            int fd = accept4(lfd, (struct sockaddr *)&peer.ss, &peer.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE) {
                    log_msg("accept: %s", strerror(errno));
                    usleep(10000);            /* out of descriptors: let some close */
                } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                           errno != ECONNABORTED) {
                    log_msg("accept: %s", strerror(errno));
                }
                break;
            }
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

            struct conn *c = xcalloc(1, sizeof *c);
            c->fd = fd;
            c->id = next_id++;
            c->events = EPOLLIN;
            addr_format(&peer, c->peer, sizeof c->peer);
            c->w = &workers[next_worker++ % (size_t)nthreads];
            atomic_fetch_add_explicit(&stat_conns, 1, memory_order_relaxed);
            log_msg("conn %lu from %s opened", c->id, c->peer);

            /* Link it in, then hand it over: after EPOLL_CTL_ADD the worker
             * owns the connection and may already be serving it. */
            struct worker *w = c->w;
            pthread_mutex_lock(&w->lock);
            c->next = w->conns;
            if (w->conns)
                w->conns->prev = c;
            w->conns = c;
            pthread_mutex_unlock(&w->lock);
            struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
            if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                log_msg("epoll_ctl: %s", strerror(errno));
                conn_close(c, "cannot watch");
            }
        }
    }

    /* Shutdown: stop accepting, stop the workers, then close what is left. */
    log_msg("signal %d: shutting down", signo);
    close(lfd);
    atomic_store(&stopping, true);
    for (long i = 0; i < nthreads; i++) {
        uint64_t one64 = 1;
        if (write(workers[i].wakefd, &one64, sizeof one64) < 0)
            log_msg("wake worker: %s", strerror(errno));
    }
    for (long i = 0; i < nthreads; i++) {
        struct worker *w = &workers[i];
        pthread_join(w->thread, NULL);
        for (struct conn *c = w->conns, *next; c; c = next) {
            next = c->next;
            conn_free(c);
        }
        close(w->epfd);
        close(w->wakefd);
        pthread_mutex_destroy(&w->lock);
    }
    free(workers);
    table_free();
    close(sigfd);
    if (ready_path)
        unlink(ready_path);
    log_msg("stopped");
    if (logf)
        fclose(logf);
    return 0;
}
