/*
 * common.h — small helpers shared by kvserver and kvload.
 *
 * Everything here is plain libc: option parsing that rejects junk with a
 * message naming the option, address parsing without the resolver (both
 * programs are linked statically, and a static glibc cannot load the NSS
 * modules that getaddrinfo() needs for host names), and a growable buffer.
 */
#ifndef KV_COMMON_H
#define KV_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Protocol limits, shared so that the load generator never sends what the
 * server would refuse. */
#define KV_MAX_KEY 250            /* bytes in a key */
#define KV_MAX_VALUE (1u << 20)   /* bytes in a value (1 MiB) */
#define KV_MAX_LINE 512           /* bytes in a request line, "\r\n" included */

/* Print "<prog>: <message>\n" to stderr and exit with `code`. */
void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* Set the program name used by die(). */
void set_progname(const char *name);

/*
 * Match argv[*i] against the NULL-terminated option names, as "--name value" (advancing *i past
 * the value) or "--name=value". Returns the matched name and sets *val; dies with a message
 * naming the option when it is unknown or its value is missing.
 */
const char *match_option(int argc, char **argv, int *i, const char *const *names, const char **val);

/* Parse a whole decimal string into [min, max]; on failure exit 1 with
 * `<prog>: <opt>: expected <min>..<max>, got "<s>"`. */
long parse_long_opt(const char *opt, const char *s, long min, long max);

/* Parse a whole decimal number (fractions allowed) into [min, max]; same
 * failure behaviour as parse_long_opt. */
double parse_double_opt(const char *opt, const char *s, double min, double max);

/* A network address: a numeric IPv4/IPv6 address and a port. */
struct kv_addr {
    struct sockaddr_storage ss;
    socklen_t len;
};

/* Fill `a` from a numeric address ("127.0.0.1", "::1", "[::1]") and port.
 * Returns 0, or -1 if `host` is not a numeric address. */
int addr_from_numeric(struct kv_addr *a, const char *host, int port);

/* Parse "HOST:PORT" or "[V6]:PORT". HOST may be numeric, "localhost" or a
 * name listed in /etc/hosts. Returns 0, or -1 with a reason in `err`. */
int addr_parse_hostport(struct kv_addr *a, const char *s, char *err, size_t errlen);

/* Format an address as "1.2.3.4:80" or "[::1]:80". */
void addr_format(const struct kv_addr *a, char *out, size_t outlen);

/* A growable byte buffer: bytes [off, len) are pending. */
struct buf {
    char *data;
    size_t len, off, cap;
};

void buf_reserve(struct buf *b, size_t extra);   /* room for `extra` more bytes at the end */
void buf_append(struct buf *b, const void *p, size_t n);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_compact(struct buf *b);                 /* move pending bytes to the front */
void buf_free(struct buf *b);
static inline size_t buf_pending(const struct buf *b) { return b->len - b->off; }

/* Allocation that exits on failure (both programs are small; running out of
 * memory is fatal for them). */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
void *xcalloc(size_t n, size_t size);

#endif
