/*
 * common.c — helpers shared by kvserver and kvload (see common.h).
 */
#define _GNU_SOURCE
#include "common.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *progname = "kv";

void set_progname(const char *name) { progname = name; }

void die(int code, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

long parse_long_opt(const char *opt, const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    /* strtol accepts leading spaces and signs; we want plain digits only. */
    if (!isdigit((unsigned char)s[0]) || *end != '\0' || errno != 0 || v < min || v > max)
        die(1, "%s: expected %ld..%ld, got \"%s\"", opt, min, max, s);
    return v;
}

double parse_double_opt(const char *opt, const char *s, double min, double max)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!(isdigit((unsigned char)s[0]) || s[0] == '.') || *end != '\0' || errno != 0 ||
        !isfinite(v) || v < min || v > max)
        die(1, "%s: expected %g..%g, got \"%s\"", opt, min, max, s);
    return v;
}

int addr_from_numeric(struct kv_addr *a, const char *host, int port)
{
    char tmp[64];
    size_t n = strlen(host);

    /* Accept "[::1]" as well as "::1". */
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        if (n - 2 >= sizeof tmp)
            return -1;
        memcpy(tmp, host + 1, n - 2);
        tmp[n - 2] = '\0';
        host = tmp;
    }
    memset(a, 0, sizeof *a);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&a->ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        a->len = sizeof *v4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        a->len = sizeof *v6;
        return 0;
    }
    return -1;
}

/* Look `name` up in /etc/hosts (first match wins). This is the part of name
 * resolution a static binary can do on its own; it covers testbeds where the
 * hosts file lists the nodes. */
static int lookup_etc_hosts(const char *name, char *out, size_t outlen)
{
    FILE *f = fopen("/etc/hosts", "r");
    if (!f)
        return -1;
    char line[1024];
    int found = -1;
    while (found < 0 && fgets(line, sizeof line, f)) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *save = NULL;
        char *addr = strtok_r(line, " \t\r\n", &save);
        if (!addr)
            continue;
        for (char *alias; (alias = strtok_r(NULL, " \t\r\n", &save)) != NULL;) {
            if (strcasecmp(alias, name) == 0 && strlen(addr) < outlen) {
                strcpy(out, addr);
                found = 0;
                break;
            }
        }
    }
    fclose(f);
    return found;
}

int addr_parse_hostport(struct kv_addr *a, const char *s, char *err, size_t errlen)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || colon[1] == '\0') {
        snprintf(err, errlen, "expected HOST:PORT, got \"%s\"", s);
        return -1;
    }
    char host[256];
    size_t hlen = (size_t)(colon - s);
    if (hlen >= sizeof host) {
        snprintf(err, errlen, "host name too long in \"%s\"", s);
        return -1;
    }
    memcpy(host, s, hlen);
    host[hlen] = '\0';

    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (!isdigit((unsigned char)colon[1]) || *end != '\0' || errno || port < 1 || port > 65535) {
        snprintf(err, errlen, "bad port in \"%s\" (expected 1..65535)", s);
        return -1;
    }
    if (addr_from_numeric(a, host, (int)port) == 0)
        return 0;

    char numeric[64];
    if (lookup_etc_hosts(host, numeric, sizeof numeric) == 0 &&
        addr_from_numeric(a, numeric, (int)port) == 0)
        return 0;
    if (strcasecmp(host, "localhost") == 0 && addr_from_numeric(a, "127.0.0.1", (int)port) == 0)
        return 0;
    snprintf(err, errlen,
             "cannot resolve \"%s\" (use an IP address or a name from /etc/hosts; "
             "this static binary does not use DNS)", host);
    return -1;
}

void addr_format(const struct kv_addr *a, char *out, size_t outlen)
{
    char ip[INET6_ADDRSTRLEN];
    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&a->ss;
        inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);
        snprintf(out, outlen, "[%s]:%u", ip, ntohs(v6->sin6_port));
    } else {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)&a->ss;
        inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
        snprintf(out, outlen, "%s:%u", ip, ntohs(v4->sin_port));
    }
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die(3, "out of memory (%zu bytes)", n);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        die(3, "out of memory (%zu bytes)", n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        die(3, "out of memory (%zu x %zu bytes)", n, size);
    return p;
}

void buf_reserve(struct buf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return;
    buf_compact(b);
    if (b->cap - b->len >= extra)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < extra)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_append(struct buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    buf_reserve(b, (size_t)n + 1);   /* +1: vsnprintf writes a NUL we then drop */
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void buf_compact(struct buf *b)
{
    if (b->off == 0)
        return;
    memmove(b->data, b->data + b->off, b->len - b->off);
    b->len -= b->off;
    b->off = 0;
}

void buf_free(struct buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

const char *match_option(int argc, char **argv, int *i, const char *const *names, const char **val)
{
    const char *arg = argv[*i];
    for (size_t k = 0; names[k] != NULL; k++) {
        size_t len = strlen(names[k]);
        if (strcmp(arg, names[k]) == 0) {
            if (*i + 1 >= argc)
                die(1, "%s: missing value", names[k]);
            *val = argv[++*i];
            return names[k];
        }
        if (strncmp(arg, names[k], len) == 0 && arg[len] == '=') {
            *val = arg + len + 1;
            return names[k];
        }
    }
    die(1, "unknown option \"%s\" (see --help)", arg);
}
