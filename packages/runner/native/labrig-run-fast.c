/*
 * labrig-run-fast: the labrig agent's thin client without a Node start-up (about 70 ms here).
 * bin/labrig-run runs it when it is built (by bin/labrig-run itself, with cc); whatever keeps it
 * from handing the command to a running agent (no agent, another program's agent, an executor
 * that must run in its own process, a socket path too long, LABRIG_AGENT=off, --no-agent) makes
 * it exec the Node client (lib/launch.mjs through bin/labrig-run.mjs), which starts an agent or
 * runs the command itself. Only an agent that ends during a command fails that command, as with
 * the Node client (lib/agent-client.mjs).
 *
 * It speaks the link protocol (lib/link.mjs): a `hello` with the token, a `run` frame with
 * `"raw": true`, after which the agent answers with binary frames (1 byte kind, 4 bytes length
 * big-endian, payload): 1 stdout, 2 stderr, 3 exit status (4 bytes, big-endian), 4 refusal
 * (its JSON frame). SIGINT, SIGTERM and SIGHUP become `signal` frames (this command only); a
 * second SIGINT or SIGTERM a second later exits at once with 128 + the first signal.
 *
 *   labrig-run-fast <labrig-run.mjs> <package>:<executor> <project> <projectRoot> [--option ...]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char **fallback_argv;

/* Run the Node client instead (nothing was sent to an agent yet). */
static void fallback(void) {
  execvp("node", fallback_argv);
  perror("labrig-run: cannot run node");
  _exit(2);
}

/* A growing byte buffer. */
typedef struct {
  char *p;
  size_t n, cap;
} buf_t;

static void put(buf_t *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    b->cap = (b->n + n + 1) * 2;
    b->p = realloc(b->p, b->cap);
    if (!b->p) fallback();
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}
static void puts_(buf_t *b, const char *s) { put(b, s, strlen(s)); }

/* A JSON string of the bytes of s (UTF-8 passed through, as Node reads the environment). */
static void put_json(buf_t *b, const char *s) {
  static const char hex[] = "0123456789abcdef";
  put(b, "\"", 1);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"') put(b, "\\\"", 2);
    else if (*c == '\\') put(b, "\\\\", 2);
    else if (*c < 0x20) {
      char e[6] = {'\\', 'u', '0', '0', hex[*c >> 4], hex[*c & 15]};
      put(b, e, 6);
    } else put(b, (const char *)c, 1);
  }
  put(b, "\"", 1);
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int read_all(int fd, char *p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static volatile sig_atomic_t pending_signal = 0, first_signal = 0;
static struct timespec first_at;
static int sock = -1;

static void on_signal(int sig) {
  if (first_signal && sig != SIGHUP) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - first_at.tv_sec > 1) _exit(128 + first_signal);
  }
  if (!first_signal) {
    first_signal = sig;
    clock_gettime(CLOCK_MONOTONIC, &first_at);
  }
  pending_signal = sig;
}

static void tty_json(buf_t *b, int fd) {
  puts_(b, "{\"isTTY\":");
  puts_(b, isatty(fd) ? "true" : "false");
  struct winsize ws;
  if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    char t[64];
    snprintf(t, sizeof t, ",\"columns\":%u,\"rows\":%u", ws.ws_col, ws.ws_row);
    puts_(b, t);
  }
  puts_(b, "}");
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: labrig-run-fast <labrig-run.mjs> <package>:<executor> <project> <projectRoot> [--option ...]\n");
    return 2;
  }
  /* The Node client: node <labrig-run.mjs> <args...> */
  fallback_argv = calloc((size_t)argc + 1, sizeof(char *));
  if (!fallback_argv) return 2;
  fallback_argv[0] = "node";
  for (int i = 1; i < argc; i++) fallback_argv[i] = argv[i];

  const char *mode = getenv("LABRIG_AGENT");
  if (mode && (!strcmp(mode, "off") || !strcmp(mode, "0") || !strcmp(mode, "false") || !strcmp(mode, "no"))) fallback();
  const char *ci = getenv("CI");
  int on = mode && (!strcmp(mode, "on") || !strcmp(mode, "1") || !strcmp(mode, "true") || !strcmp(mode, "yes"));
  if (!on && ci && *ci && strcmp(ci, "false") && strcmp(ci, "0")) fallback();
  for (int i = 5; i < argc; i++)
    if (!strcmp(argv[i], "--no-agent")) fallback();

  /* The workspace root: the nearest folder upwards holding nx.json. */
  char cwd[4096], root[4096], path[4200];
  if (!getcwd(cwd, sizeof cwd)) fallback();
  strcpy(root, cwd);
  for (;;) {
    struct stat st;
    snprintf(path, sizeof path, "%s/nx.json", root);
    if (stat(path, &st) == 0) break;
    char *slash = strrchr(root, '/');
    if (!slash || slash == root) fallback();
    *slash = 0;
  }
  char token[256];
  snprintf(path, sizeof path, "%s/.labrig/agent/token", root);
  int tfd = open(path, O_RDONLY);
  if (tfd < 0) fallback();
  ssize_t tn = read(tfd, token, sizeof token - 1);
  close(tfd);
  if (tn <= 0) fallback();
  token[tn] = 0;
  token[strcspn(token, "\r\n")] = 0;

  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  int pn = snprintf(addr.sun_path, sizeof addr.sun_path, "%s/.labrig/agent/agent.sock", root);
  if (pn < 0 || (size_t)pn > 100) fallback(); /* the Node client knows the long-path socket */
  sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0) fallback();

  buf_t b = {0};
  puts_(&b, "{\"t\":\"hello\",\"protocol\":1,\"token\":");
  put_json(&b, token);
  /* The agent refuses this hello once the deadline passed: the command is never run twice. */
  struct timespec rt;
  clock_gettime(CLOCK_REALTIME, &rt);
  char dl[64];
  snprintf(dl, sizeof dl, ",\"deadline\":%lld", (long long)rt.tv_sec * 1000 + rt.tv_nsec / 1000000 + 4500);
  puts_(&b, dl);
  puts_(&b, ",\"checkProgram\":true}\n{\"t\":\"run\",\"raw\":true,\"ref\":");
  put_json(&b, argv[2]);
  puts_(&b, ",\"project\":");
  put_json(&b, argv[3]);
  puts_(&b, ",\"projectRoot\":");
  put_json(&b, argv[4]);
  puts_(&b, ",\"argv\":[");
  for (int i = 5; i < argc; i++) {
    if (i > 5) puts_(&b, ",");
    put_json(&b, argv[i]);
  }
  puts_(&b, "],\"cwd\":");
  put_json(&b, cwd);
  puts_(&b, ",\"env\":{");
  int first = 1;
  for (char **e = environ; *e; e++) {
    char *eq = strchr(*e, '=');
    if (!eq || eq == *e) continue;
    if (!first) puts_(&b, ",");
    first = 0;
    *eq = 0;
    put_json(&b, *e);
    *eq = '=';
    puts_(&b, ":");
    put_json(&b, eq + 1);
  }
  puts_(&b, "},\"tty\":{\"stdout\":");
  tty_json(&b, 1);
  puts_(&b, ",\"stderr\":");
  tty_json(&b, 2);
  puts_(&b, "}}\n");

  /* The welcome is a JSON line; what follows the run frame is binary. */
  if (write_all(sock, b.p, b.n) < 0) fallback();
  free(b.p);
  char line[1024];
  size_t ln = 0;
  /* A stopped or stuck agent: this command runs in its own process (the Node client, agent off). */
  struct pollfd hp = {.fd = sock, .events = POLLIN};
  int hr;
  do hr = poll(&hp, 1, 5000);
  while (hr < 0 && errno == EINTR);
  if (hr == 0) {
    fprintf(stderr, "labrig-run: the labrig agent did not answer within 5 s (stopped or stuck?); this command runs in its own process\n");
    setenv("LABRIG_AGENT", "off", 1);
    fallback();
  }
  while (ln < sizeof line - 1) {
    ssize_t r = read(sock, line + ln, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) fallback();
    if (line[ln] == '\n') break;
    ln++;
  }
  line[ln] = 0;
  if (!strstr(line, "\"t\":\"welcome\"")) fallback(); /* refused: another program, a retiring agent, ... */

  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  int started = 0; /* the agent sent output or said it runs it: no fallback after that */
  for (;;) {
    if (pending_signal) {
      const char *name = pending_signal == SIGINT ? "SIGINT" : pending_signal == SIGTERM ? "SIGTERM" : "SIGHUP";
      char f[64];
      int n = snprintf(f, sizeof f, "{\"t\":\"signal\",\"signal\":\"%s\"}\n", name);
      pending_signal = 0;
      write_all(sock, f, (size_t)n);
    }
    struct pollfd pfd = {.fd = sock, .events = POLLIN};
    int pr = poll(&pfd, 1, -1);
    if (pr < 0) {
      if (errno == EINTR) continue;
      break;
    }
    unsigned char head[5];
    if (read_all(sock, (char *)head, 5) < 0) break;
    uint32_t len = ((uint32_t)head[1] << 24) | ((uint32_t)head[2] << 16) | ((uint32_t)head[3] << 8) | head[4];
    char *payload = malloc(len ? len : 1);
    if (!payload || read_all(sock, payload, len) < 0) break;
    if (head[0] == 1 || head[0] == 2) {
      started = 1;
      write_all(head[0], payload, len);
    } else if (head[0] == 3 && len == 4) {
      int code = ((unsigned char)payload[0] << 24) | ((unsigned char)payload[1] << 16) | ((unsigned char)payload[2] << 8) | (unsigned char)payload[3];
      return code;
    } else if (head[0] == 4) {
      /* Refused before it ran (this executor runs in its own process; another program): the Node client. */
      if (!started) {
        close(sock);
        fallback();
      }
    }
    free(payload);
  }
  fprintf(stderr, "\xe2\x9c\x96 labrig-run: the labrig agent ended during this command; what ran on the hosts is in the run's journal (.labrig/runs/)\n");
  fprintf(stderr, "  hint: run the command again (a new agent starts), or with LABRIG_AGENT=off to run it in this process; the agent's log is %s/.labrig/agent/agent.log\n", root);
  return 1;
}
