/*
 * kvload — a closed-loop load generator for kvserver.
 *
 *   kvload --servers HOST:PORT[,HOST:PORT...] --clients N --value-size BYTES
 *          --duration SECONDS [--keys K] [--get-ratio R] [--seed S] [--json PATH]
 *
 * N client threads each open one connection (client i uses server i mod the
 * number of servers). First the clients of each server store keys 0..K-1 on
 * it with SET, splitting the keys between them. Then, after all clients are
 * loaded, every client runs a closed loop for the duration: pick GET (with
 * probability R) or SET, pick a key uniformly, send the request, wait for the
 * reply, record the latency (CLOCK_MONOTONIC), repeat.
 *
 * Output: one JSON object on stdout (and in --json PATH):
 *
 *   {"clients":8,"value_size":100,"duration_s":2.000,"ops":...,"errors":0,
 *    "throughput_ops_s":...,"latency_us":{"p50":..,"p90":..,"p99":..,"p999":..,
 *    "max":..,"mean":..},"servers":["127.0.0.1:7000"], ...}
 *
 * duration_s is the measured length of the timed phase, throughput_ops_s is
 * ops / duration_s. Only requests that succeeded count as ops and have their
 * latency recorded.
 *
 * Latency percentiles come from a log-linear histogram (HDR-like): values in
 * nanoseconds, exact below 256 ns, above that 128 buckets per power of two.
 * A reported percentile is the middle of its bucket, so it is within 0.4% of
 * the exact value. max and mean are exact. Memory is fixed (about 60 KiB per
 * client) however long the run.
 *
 * Errors: a failed connection, a failed send or receive, an ERROR reply or a
 * reply that makes no sense each count as one error. A client whose
 * connection failed stops. Exit status: 0 if all went well, 2 if errors > 0
 * or ops == 0 (the JSON is printed anyway), 1 for bad options.
 */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 5000
#define IO_TIMEOUT_S 10          /* a reply slower than this is an error */

/* ------------------------------------------------------------------------ */
/* Latency histogram                                                         */
/* ------------------------------------------------------------------------ */

#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)              /* buckets per power of two */
#define HIST_BUCKETS ((64 - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
    uint64_t count[HIST_BUCKETS];
    uint64_t n, sum, min, max;                     /* exact, in ns */
};

/* Values below 2*HIST_SUB get a bucket each; above, a value with top bit e
 * lands in one of HIST_SUB equal buckets spanning [2^e, 2^(e+1)). */
static size_t hist_index(uint64_t v)
{
    if (v < 2 * HIST_SUB)
        return (size_t)v;
    int e = 63 - __builtin_clzll(v);
    int shift = e - HIST_SUB_BITS;
    return (size_t)(shift + 1) * HIST_SUB + (size_t)((v >> shift) - HIST_SUB);
}

/* The middle of bucket `i`. */
static uint64_t hist_value(size_t i)
{
    if (i < 2 * HIST_SUB)
        return i;
    int shift = (int)(i / HIST_SUB) - 1;
    uint64_t lo = (uint64_t)(i % HIST_SUB + HIST_SUB) << shift;
    return lo + ((1ull << shift) - 1) / 2;
}

static void hist_record(struct hist *h, uint64_t v)
{
    h->count[hist_index(v)]++;
    if (h->n == 0 || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->n++;
    h->sum += v;
}

static void hist_merge(struct hist *into, const struct hist *h)
{
    if (h->n == 0)
        return;
    for (size_t i = 0; i < HIST_BUCKETS; i++)
        into->count[i] += h->count[i];
    if (into->n == 0 || h->min < into->min)
        into->min = h->min;
    if (h->max > into->max)
        into->max = h->max;
    into->n += h->n;
    into->sum += h->sum;
}

/* The smallest recorded value v such that a fraction p of all values is
 * <= v (rank ceil(p*n)), clamped to [min, max] so p50 <= p99 <= max holds. */
static uint64_t hist_percentile(const struct hist *h, double p)
{
    if (h->n == 0)
        return 0;
    uint64_t rank = (uint64_t)ceil(p * (double)h->n);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        seen += h->count[i];
        if (seen >= rank) {
            uint64_t v = hist_value(i);
            return v < h->min ? h->min : v > h->max ? h->max : v;
        }
    }
    return h->max;
}

/* ------------------------------------------------------------------------ */
/* Options and shared state                                                  */
/* ------------------------------------------------------------------------ */

static struct {
    char **server_names;      /* as given, for the report */
    struct kv_addr *servers;
    int nservers;
    long clients;
    long value_size;
    double duration;
    long keys;
    double get_ratio;
    unsigned long long seed;
    const char *json_path;
} opt = { .keys = 1000, .get_ratio = 0.9, .seed = 1 };

static char *value;                   /* the value every SET sends */
static pthread_barrier_t loaded;      /* all clients connected and loaded */
static pthread_barrier_t started;     /* the deadline is set */
static uint64_t deadline_ns;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------------ */
/* One client: a connection and the requests on it                           */
/* ------------------------------------------------------------------------ */

struct client {
    pthread_t thread;
    int idx;
    int server;                  /* index into opt.servers */
    long first_key, key_step;    /* this client loads keys first_key, +key_step, ... */
    int fd;
    struct buf in;               /* bytes received, not yet parsed */
    uint64_t rng;
    uint64_t ops, gets, sets, errors;
    char first_error[160];
    struct hist lat;
};

/* Remember the first error of each client for the report. */
static void client_error(struct client *c, const char *what, const char *detail)
{
    c->errors++;
    if (c->first_error[0] != '\0')
        return;
    int n = snprintf(c->first_error, sizeof c->first_error, "%s: %s%s%s",
                     opt.server_names[c->server], what, detail ? ": " : "", detail ? detail : "");
    (void)n;   /* a long message is cut short, which is fine */
}

/* xorshift64*: a fast PRNG, seeded per client from --seed by splitmix64. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ull;
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Connect with a timeout; replies must then come within IO_TIMEOUT_S. */
static int client_connect(struct client *c)
{
    const struct kv_addr *a = &opt.servers[c->server];
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        client_error(c, "socket", strerror(errno));
        return -1;
    }
    int rc = connect(fd, (const struct sockaddr *)&a->ss, a->len);
    if (rc < 0 && errno == EINPROGRESS) {
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        rc = poll(&p, 1, CONNECT_TIMEOUT_MS);
        if (rc == 0) {
            errno = ETIMEDOUT;
            rc = -1;
        } else if (rc > 0) {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            errno = err;
            rc = err ? -1 : 0;
        }
    }
    if (rc < 0) {
        client_error(c, "connect", strerror(errno));
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    c->fd = fd;
    return 0;
}

static void client_disconnect(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->in.off = c->in.len = 0;
}

/* Send all of iov[0..n), however the kernel splits it. */
static int send_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n };
        ssize_t sent = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        while (n > 0 && (size_t)sent >= iov->iov_len) {
            sent -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + sent;
            iov->iov_len -= (size_t)sent;
        }
    }
    return 0;
}

/* Receive until at least `n` unparsed bytes are buffered. */
static int recv_at_least(struct client *c, size_t n)
{
    while (buf_pending(&c->in) < n) {
        buf_reserve(&c->in, n - buf_pending(&c->in) > 65536 ? n - buf_pending(&c->in) : 65536);
        ssize_t got = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
        if (got > 0) {
            c->in.len += (size_t)got;
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        if (got == 0)
            errno = ECONNRESET;
        else if (errno == EAGAIN || errno == EWOULDBLOCK)
            errno = ETIMEDOUT;
        return -1;
    }
    return 0;
}

/* Receive one reply line; *line points into the buffer, without "\r\n". */
static int recv_line(struct client *c, const char **line, size_t *len)
{
    for (;;) {
        const char *p = c->in.data + c->in.off;
        const char *nl = buf_pending(&c->in) ? memchr(p, '\n', buf_pending(&c->in)) : NULL;
        if (nl) {
            *line = p;
            *len = (size_t)(nl - p);
            if (*len > 0 && p[*len - 1] == '\r')
                (*len)--;
            c->in.off += (size_t)(nl - p) + 1;
            return 0;
        }
        if (buf_pending(&c->in) > KV_MAX_LINE) {
            errno = EPROTO;
            return -1;
        }
        if (recv_at_least(c, buf_pending(&c->in) + 1) < 0)
            return -1;
    }
}

static bool line_is(const char *line, size_t len, const char *word)
{
    return len == strlen(word) && memcmp(line, word, len) == 0;
}

/* Outcome of one request. */
enum { OK = 0, REFUSED = 1, BROKEN = -1 };

/* Read a reply that should be `expect`. An ERROR reply leaves the
 * connection usable; anything else unexpected means we lost track of the
 * stream. */
static int expect_reply(struct client *c, const char *expect, const char *what)
{
    const char *line;
    size_t len;
    if (recv_line(c, &line, &len) < 0) {
        client_error(c, what, strerror(errno));
        return BROKEN;
    }
    if (line_is(line, len, expect))
        return OK;
    char shown[64];
    snprintf(shown, sizeof shown, "%.*s", (int)(len < 60 ? len : 60), line);
    client_error(c, what, shown);
    return len >= 5 && memcmp(line, "ERROR", 5) == 0 ? REFUSED : BROKEN;
}

static int do_set(struct client *c, long key)
{
    char hdr[64];
    int n = snprintf(hdr, sizeof hdr, "SET key%ld %ld\r\n", key, opt.value_size);
    struct iovec iov[3] = {
        { .iov_base = hdr, .iov_len = (size_t)n },
        { .iov_base = value, .iov_len = (size_t)opt.value_size },
        { .iov_base = "\r\n", .iov_len = 2 },
    };
    if (send_all(c->fd, iov, 3) < 0) {
        client_error(c, "send SET", strerror(errno));
        return BROKEN;
    }
    return expect_reply(c, "STORED", "SET");
}

static int do_get(struct client *c, long key)
{
    char req[64];
    int n = snprintf(req, sizeof req, "GET key%ld\r\n", key);
    struct iovec iov = { .iov_base = req, .iov_len = (size_t)n };
    if (send_all(c->fd, &iov, 1) < 0) {
        client_error(c, "send GET", strerror(errno));
        return BROKEN;
    }
    const char *line;
    size_t len;
    if (recv_line(c, &line, &len) < 0) {
        client_error(c, "GET", strerror(errno));
        return BROKEN;
    }
    if (line_is(line, len, "NOT_FOUND"))
        return OK;
    unsigned long vlen;
    char tail;
    char copy[64];   /* a VALUE line is short; longer ones are shown cut */
    snprintf(copy, sizeof copy, "%.*s", (int)(len < sizeof copy ? len : sizeof copy - 1), line);
    if (len < sizeof copy && sscanf(copy, "VALUE %lu%c", &vlen, &tail) == 1 && vlen <= KV_MAX_VALUE) {
        /* The value and its "\r\n". */
        if (recv_at_least(c, vlen + 2) < 0) {
            client_error(c, "GET", strerror(errno));
            return BROKEN;
        }
        const char *end = c->in.data + c->in.off + vlen;
        c->in.off += vlen + 2;
        if (end[0] == '\r' && end[1] == '\n')
            return OK;
        client_error(c, "GET", "value not followed by \\r\\n");
        return BROKEN;
    }
    client_error(c, "GET", copy);
    return len >= 5 && memcmp(line, "ERROR", 5) == 0 ? REFUSED : BROKEN;
}

static void *client_main(void *arg)
{
    struct client *c = arg;
    c->fd = -1;

    /* Phase 1: connect and store this client's share of the keys. */
    if (client_connect(c) == 0) {
        for (long k = c->first_key; k < opt.keys; k += c->key_step) {
            int r = do_set(c, k);
            if (r == BROKEN) {
                client_disconnect(c);
                break;
            }
        }
    }
    pthread_barrier_wait(&loaded);
    pthread_barrier_wait(&started);

    /* Phase 2: the closed loop, until the deadline. */
    uint64_t get_threshold = (uint64_t)(opt.get_ratio * 18446744073709551615.0);
    if (opt.get_ratio >= 1.0)
        get_threshold = UINT64_MAX;
    for (uint64_t t = now_ns(); c->fd >= 0 && t < deadline_ns;) {
        bool get = rng_next(&c->rng) <= get_threshold && opt.get_ratio > 0;
        long key = (long)(rng_next(&c->rng) % (uint64_t)opt.keys);
        uint64_t t0 = now_ns();
        int r = get ? do_get(c, key) : do_set(c, key);
        t = now_ns();
        if (r == OK) {
            hist_record(&c->lat, t - t0);
            c->ops++;
            if (get)
                c->gets++;
            else
                c->sets++;
        } else if (r == BROKEN) {
            client_disconnect(c);
        }
    }
    client_disconnect(c);
    buf_free(&c->in);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Report                                                                    */
/* ------------------------------------------------------------------------ */

static void json_string(struct buf *b, const char *s)
{
    buf_append(b, "\"", 1);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            buf_printf(b, "\\%c", ch);
        else if (ch < 0x20)
            buf_printf(b, "\\u%04x", ch);
        else
            buf_append(b, s, 1);
    }
    buf_append(b, "\"", 1);
}

static void usage(FILE *f)
{
    fputs("usage: kvload --servers HOST:PORT[,HOST:PORT...] --clients N --value-size BYTES\n"
          "              --duration SECONDS [--keys K] [--get-ratio R] [--seed S] [--json PATH]\n"
          "  --servers     kvservers to load (IP addresses, or names from /etc/hosts)\n"
          "  --clients     client threads, one connection each, spread round robin (1..4096)\n"
          "  --value-size  bytes per value (0..1048576)\n"
          "  --duration    seconds of timed load after loading the keys (> 0)\n"
          "  --keys        keys stored and used (default 1000)\n"
          "  --get-ratio   fraction of GETs in the timed phase, 0..1 (default 0.9)\n"
          "  --seed        seed of the request sequence (default 1)\n"
          "  --json        also write the JSON report to this file\n"
          "exit status: 0 ok, 1 bad options, 2 errors > 0 or ops == 0\n",
          f);
}

static void parse_servers(const char *list)
{
    char *copy = strdup(list);
    if (!copy)
        die(1, "out of memory");
    for (char *save = NULL, *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        opt.servers = xrealloc(opt.servers, (size_t)(opt.nservers + 1) * sizeof *opt.servers);
        opt.server_names = xrealloc(opt.server_names, (size_t)(opt.nservers + 1) * sizeof(char *));
        char err[200];
        if (addr_parse_hostport(&opt.servers[opt.nservers], s, err, sizeof err) < 0)
            die(1, "--servers: %s", err);
        opt.server_names[opt.nservers] = strdup(s);
        opt.nservers++;
    }
    free(copy);
    if (opt.nservers == 0)
        die(1, "--servers: expected HOST:PORT[,HOST:PORT...], got \"%s\"", list);
}

int main(int argc, char **argv)
{
    set_progname("kvload");
    bool have_clients = false, have_size = false, have_duration = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        static const char *const names[] = { "--servers", "--clients", "--value-size", "--duration",
                                             "--keys",    "--get-ratio", "--seed",     "--json", NULL };
        const char *val = NULL;
        const char *name = match_option(argc, argv, &i, names, &val);
        if (strcmp(name, "--servers") == 0) {
            parse_servers(val);
        } else if (strcmp(name, "--clients") == 0) {
            opt.clients = parse_long_opt(name, val, 1, 4096);
            have_clients = true;
        } else if (strcmp(name, "--value-size") == 0) {
            opt.value_size = parse_long_opt(name, val, 0, KV_MAX_VALUE);
            have_size = true;
        } else if (strcmp(name, "--duration") == 0) {
            opt.duration = parse_double_opt(name, val, 0.001, 86400);
            have_duration = true;
        } else if (strcmp(name, "--keys") == 0) {
            opt.keys = parse_long_opt(name, val, 1, 100000000);
        } else if (strcmp(name, "--get-ratio") == 0) {
            opt.get_ratio = parse_double_opt(name, val, 0, 1);
        } else if (strcmp(name, "--seed") == 0) {
            opt.seed = (unsigned long long)parse_long_opt(name, val, 0, 0x7fffffffffffffffL);
        } else {
            opt.json_path = val;
        }
    }
    if (opt.nservers == 0)
        die(1, "--servers: required (see --help)");
    if (!have_clients)
        die(1, "--clients: required (see --help)");
    if (!have_size)
        die(1, "--value-size: required (see --help)");
    if (!have_duration)
        die(1, "--duration: required (see --help)");
    signal(SIGPIPE, SIG_IGN);

    /* A printable value, so a captured session is readable. */
    value = xmalloc((size_t)opt.value_size + 1);
    for (long i = 0; i < opt.value_size; i++)
        value[i] = (char)('a' + i % 26);

    /* Clients of server s are s, s+S, s+2S, ...; between them they store
     * every key on s, client number g of G taking keys g, g+G, g+2G, ... */
    long nclients = opt.clients;
    struct client *cl = xcalloc((size_t)nclients, sizeof *cl);
    pthread_barrier_init(&loaded, NULL, (unsigned)nclients + 1);
    pthread_barrier_init(&started, NULL, (unsigned)nclients + 1);
    for (long i = 0; i < nclients; i++) {
        struct client *c = &cl[i];
        long s = i % opt.nservers;
        c->idx = (int)i;
        c->server = (int)s;
        c->first_key = i / opt.nservers;
        c->key_step = (nclients - s + opt.nservers - 1) / opt.nservers;
        c->rng = splitmix64(opt.seed * 1000003ull + (uint64_t)i) | 1;
        int err = pthread_create(&c->thread, NULL, client_main, c);
        if (err)
            die(1, "pthread_create: %s", strerror(err));
    }

    /* Start the timed phase only once every client is loaded. */
    pthread_barrier_wait(&loaded);
    uint64_t start = now_ns();
    deadline_ns = start + (uint64_t)(opt.duration * 1e9);
    pthread_barrier_wait(&started);
    for (long i = 0; i < nclients; i++)
        pthread_join(cl[i].thread, NULL);
    double elapsed = (double)(now_ns() - start) / 1e9;

    /* Merge the clients' results. */
    struct hist *all = xcalloc(1, sizeof *all);
    uint64_t ops = 0, gets = 0, sets = 0, errors = 0;
    const char *first_error = NULL;
    for (long i = 0; i < nclients; i++) {
        hist_merge(all, &cl[i].lat);
        ops += cl[i].ops;
        gets += cl[i].gets;
        sets += cl[i].sets;
        errors += cl[i].errors;
        if (!first_error && cl[i].first_error[0])
            first_error = cl[i].first_error;
    }

    struct buf out = { 0 };
    buf_printf(&out, "{\"clients\":%ld,\"value_size\":%ld,\"duration_s\":%.3f,", nclients,
               opt.value_size, elapsed);
    buf_printf(&out, "\"ops\":%llu,\"errors\":%llu,\"throughput_ops_s\":%.1f,",
               (unsigned long long)ops, (unsigned long long)errors,
               elapsed > 0 ? (double)ops / elapsed : 0.0);
    buf_printf(&out,
               "\"latency_us\":{\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,\"p999\":%.2f,"
               "\"max\":%.2f,\"mean\":%.2f},",
               hist_percentile(all, 0.50) / 1e3, hist_percentile(all, 0.90) / 1e3,
               hist_percentile(all, 0.99) / 1e3, hist_percentile(all, 0.999) / 1e3,
               all->max / 1e3, all->n ? (double)all->sum / (double)all->n / 1e3 : 0.0);
    buf_printf(&out, "\"servers\":[");
    for (int s = 0; s < opt.nservers; s++) {
        if (s)
            buf_append(&out, ",", 1);
        json_string(&out, opt.server_names[s]);
    }
    buf_printf(&out, "],\"keys\":%ld,\"get_ratio\":%g,\"seed\":%llu,\"gets\":%llu,\"sets\":%llu,",
               opt.keys, opt.get_ratio, opt.seed, (unsigned long long)gets,
               (unsigned long long)sets);
    buf_printf(&out, "\"latency_method\":\"%s\",\"first_error\":",
               "histogram (percentiles within 0.4%; max and mean exact)");
    if (first_error)
        json_string(&out, first_error);
    else
        buf_append(&out, "null", 4);
    buf_append(&out, "}\n", 2);

    fwrite(out.data, 1, out.len, stdout);
    fflush(stdout);
    int status = (errors > 0 || ops == 0) ? 2 : 0;
    if (opt.json_path) {
        FILE *f = fopen(opt.json_path, "w");
        if (!f || fwrite(out.data, 1, out.len, f) != out.len || fclose(f) != 0) {
            fprintf(stderr, "kvload: --json: cannot write %s: %s\n", opt.json_path, strerror(errno));
            status = status ? status : 1;
        }
    }
    if (errors > 0 && first_error)
        fprintf(stderr, "kvload: %llu errors, first: %s\n", (unsigned long long)errors, first_error);

    buf_free(&out);
    free(all);
    free(cl);
    free(value);
    for (int s = 0; s < opt.nservers; s++)
        free(opt.server_names[s]);
    free(opt.server_names);
    free(opt.servers);
    pthread_barrier_destroy(&loaded);
    pthread_barrier_destroy(&started);
    return status;
}
