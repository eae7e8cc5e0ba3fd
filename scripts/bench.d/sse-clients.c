/* SPDX-License-Identifier: MIT */
/*
 * sse-clients: N concurrent Server-Sent Events clients in one process (one
 * thread, epoll), for scripts/bench's "stream" section. Built by the script
 * with `cc -O2`; no dependencies beyond libc.
 *
 *   sse-clients --port P [--host 127.0.0.1] [--path /api/stream] --clients N
 *               [--tag T --expect K] [--timeout S]
 *
 * Opens N HTTP/1.1 connections to GET PATH (no keep-alive reuse: one socket
 * per client, as N browsers' EventSources would), decodes the chunked body,
 * splits it into SSE frames and, for every "event: TestEvent" frame whose
 * payload has "tag": T (written by tests/tools/adw_emit.c), records
 *   recv - t_us        (t_us: adw-emit's wall clock just before the write)
 *   recv - created_at  (events.created_at = clock_timestamp() at the insert)
 * where recv is CLOCK_REALTIME (µs) right after the read() that completed the
 * frame. Same host clock as the writer and PostgreSQL.
 *
 * Prints "ready clients=N ..." once every client got its 200 and the
 * "retry:" line, then runs until every client received K tagged events (K > 0),
 * or S seconds passed, or SIGTERM/SIGINT; then prints one "result" line and
 * two latency lines (milliseconds), all key=value. Exit 0, or 1 when a client
 * failed to connect or got a non-200.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LIN_US 100000	  /* 1 µs buckets below 100 ms */
#define LOG_BUCKETS 60000 /* then 1 ms buckets up to 60 s */
#define NBUCKETS (1 + LIN_US + LOG_BUCKETS + 1)

enum cstate { C_CONNECTING, C_HEADERS, C_BODY, C_DONE };
enum chstate { CH_SIZE, CH_DATA, CH_CRLF };

struct client {
	int fd;
	enum cstate state;
	enum chstate ch;
	size_t ch_left;
	unsigned long long ch_size;
	char *buf; /* headers, then SSE bytes not yet split into frames */
	size_t len, cap;
	long tagged, gaps, resyncs, pings;
	long long last_seq;
	int started, complete;
};

struct hist {
	uint64_t b[NBUCKETS];
	uint64_t n, neg;
	long long max_us;
};

static volatile sig_atomic_t stop;
static struct client *cl;
static int nclients, nready, ncomplete, nfailed, nclosed;
static const char *tag = "";
static size_t taglen;
static long expect;
static struct hist h_tus, h_created;
static unsigned long long total_bytes, total_reads, total_frames;
static long long first_recv_us, last_recv_us;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void hist_add(struct hist *h, long long us)
{
	size_t i;

	h->n++;
	if (us > h->max_us)
		h->max_us = us;
	if (us < 0) {
		h->neg++;
		us = 0;
	}
	if (us < LIN_US)
		i = 1 + (size_t)us;
	else if ((us - LIN_US) / 1000 < LOG_BUCKETS)
		i = 1 + LIN_US + (size_t)((us - LIN_US) / 1000);
	else
		i = NBUCKETS - 1;
	h->b[i]++;
}

/* The value (ms) at quantile q: nearest rank. */
static double hist_q(const struct hist *h, double q)
{
	uint64_t rank = (uint64_t)((double)h->n * q + 0.999999), seen = 0;

	if (!h->n)
		return -1;
	if (rank < 1)
		rank = 1;
	for (size_t i = 1; i < NBUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			if (i <= LIN_US)
				return (double)(i - 1) / 1000.0;
			return (double)(LIN_US + (long long)(i - 1 - LIN_US) * 1000) / 1000.0;
		}
	}
	return (double)h->max_us / 1000.0;
}

static void hist_print(const char *name, const struct hist *h)
{
	printf("%s n=%llu p50=%.3f p90=%.3f p99=%.3f p999=%.3f max=%.3f negative=%llu\n", name,
	       (unsigned long long)h->n, hist_q(h, 0.50), hist_q(h, 0.90), hist_q(h, 0.99),
	       hist_q(h, 0.999), h->n ? (double)h->max_us / 1000.0 : -1.0,
	       (unsigned long long)h->neg);
}

static void reserve(struct client *c, size_t extra)
{
	if (c->len + extra + 1 <= c->cap)
		return;
	while (c->len + extra + 1 > c->cap)
		c->cap = c->cap ? c->cap * 2 : 4096;
	c->buf = realloc(c->buf, c->cap);
	if (!c->buf) {
		perror("sse-clients: realloc");
		exit(2);
	}
}

/* Finds "key" then ':' and blanks; returns the value's start or NULL. */
static const char *json_value(const char *s, const char *end, const char *key)
{
	size_t kl = strlen(key);
	const char *p = memmem(s, (size_t)(end - s), key, kl);

	if (!p)
		return NULL;
	p += kl;
	while (p < end && (*p == ' ' || *p == ':'))
		p++;
	return p < end ? p : NULL;
}

static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (long long)doe - 719468;
}

static int dig(const char *p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* "2026-11-22T22:03:33.123456Z" (adw_ts(), always 6 fraction digits) -> µs since the epoch, or -1.
 */
static long long parse_ts(const char *p, const char *end)
{
	int y, mo, d, h, mi, s, us;

	if (end - p < 27 || p[4] != '-' || p[10] != 'T' || p[19] != '.' || p[26] != 'Z')
		return -1;
	y = dig(p, 4), mo = dig(p + 5, 2), d = dig(p + 8, 2), h = dig(p + 11, 2);
	mi = dig(p + 14, 2), s = dig(p + 17, 2), us = dig(p + 20, 6);
	if (y < 0 || mo < 1 || d < 1 || h < 0 || mi < 0 || s < 0 || us < 0)
		return -1;
	return ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400) + h * 3600 + mi * 60 + s) *
		   1000000LL +
	       us;
}

static long long parse_ll(const char *p, const char *end)
{
	long long v = 0;

	while (p < end && *p >= '0' && *p <= '9')
		v = v * 10 + (*p++ - '0');
	return v;
}

/*
 * One TestEvent. The data line is event_json(): json_build_object output
 * ("key" : value) with created_at last and the jsonb payload
 * {"seq": N, "tag": "T", "t_us": N} just before it. The fast path reads
 * those fields backwards from the frame's end; anything else falls back to
 * key searches.
 */
static void test_event(struct client *c, const char *ev, const char *end, long long recv)
{
	static const char cat[] = "\"created_at\" : \"";
	const char *v, *ts = NULL, *tus = NULL, *tg = NULL, *sq = NULL, *q;
	long long seq = -1;

	/* ..."t_us": 1763849013123456}, "created_at" : "2026-11-22T22:03:33.123456Z"}\n */
	if (end - ev > 120 && end[-1] == '\n' && end[-2] == '}' && end[-3] == '"' &&
	    memcmp(end - 3 - 27 - (sizeof(cat) - 1), cat, sizeof(cat) - 1) == 0) {
		ts = end - 3 - 27;
		q = ts - (sizeof(cat) - 1) - 3; /* the payload's closing '}' */
		if (q[0] == '}' && q[1] == ',' && q[2] == ' ') {
			const char *d = q;

			while (d > ev && d[-1] >= '0' && d[-1] <= '9')
				d--;
			if (d - ev > 8 && memcmp(d - 8, "\"t_us\": ", 8) == 0) {
				tus = d;
				q = d - 8 - 3; /* the tag's closing quote, before ", " */
				if (q[0] == '"') {
					const char *t0 = q - (ptrdiff_t)taglen;

					if (t0 - ev > 8 && memcmp(t0 - 8, "\"tag\": \"", 8) == 0 &&
					    memcmp(t0, tag, taglen) == 0) {
						tg = t0;
						q = t0 - 8 - 3;
						d = q;
						while (d >= ev && *d >= '0' && *d <= '9')
							d--;
						if (d - ev > 7 &&
						    memcmp(d - 6, "\"seq\": ", 7) == 0)
							sq = d + 1;
					}
				}
			}
		}
	}
	if (!tg) { /* the slow path: other layouts or other tags */
		v = json_value(ev, end, "\"tag\"");
		if (!v || *v != '"' || (size_t)(end - v) < taglen + 2 ||
		    memcmp(v + 1, tag, taglen) != 0 || v[1 + taglen] != '"')
			return;
		sq = json_value(ev, end, "\"seq\"");
		tus = json_value(ev, end, "\"t_us\"");
		v = json_value(ev, end, "\"created_at\"");
		ts = v && *v == '"' ? v + 1 : NULL;
	}
	if (sq) {
		seq = parse_ll(sq, end);
		if (c->tagged && seq != c->last_seq + 1)
			c->gaps++;
		c->last_seq = seq;
	}
	if (tus)
		hist_add(&h_tus, recv - parse_ll(tus, end));
	if (ts) {
		long long t = parse_ts(ts, end);

		if (t > 0)
			hist_add(&h_created, recv - t);
	}
	if (!first_recv_us)
		first_recv_us = recv;
	last_recv_us = recv;
	c->tagged++;
	if (expect > 0 && c->tagged >= expect && !c->complete) {
		c->complete = 1;
		ncomplete++;
	}
}

/* One SSE frame, f up to end (end is just after the frame's first '\n' of "\n\n"). */
static void frame(struct client *c, const char *f, const char *end, long long recv)
{
	const char *ev;

	total_frames++;
	if (*f == ':') {
		c->pings++;
		return;
	}
	if (end - f >= 6 && memcmp(f, "retry:", 6) == 0) {
		if (!c->started) {
			c->started = 1;
			nready++;
		}
		return;
	}
	/* "id: N\nevent: TYPE\n" */
	ev = memchr(f, '\n', (size_t)(end - f));
	if (!ev || end - ev < 8 || memcmp(ev + 1, "event: ", 7) != 0) {
		ev = memmem(f, (size_t)(end - f), "event: ", 7);
		if (!ev)
			return;
	} else {
		ev += 1;
	}
	ev += 7;
	if ((size_t)(end - ev) >= 10 && memcmp(ev, "TestEvent\n", 10) == 0) {
		test_event(c, ev + 10, end, recv);
		return;
	}
	if ((size_t)(end - ev) >= 6 && memcmp(ev, "resync", 6) == 0)
		c->resyncs++;
}

/* The first "\n\n" in p[0..n), by memchr (vectorised), or NULL. */
static const char *find_blank(const char *p, size_t n)
{
	const char *end = p + n;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl || nl + 1 >= end)
			return NULL;
		if (nl[1] == '\n')
			return nl;
		p = nl + 1;
	}
	return NULL;
}

/*
 * SSE bytes of one chunk. Complete frames are parsed where they lie; only a
 * frame split across reads is copied into the client's buffer.
 */
static void sse_bytes(struct client *c, const char *p, size_t n, long long recv)
{
	const char *end = p + n, *e;

	if (c->len) {
		/* Finish the pending frame: "\n\n" may straddle the boundary. */
		if (c->buf[c->len - 1] == '\n' && *p == '\n') {
			e = p;
		} else {
			e = find_blank(p, n);
			if (e)
				e++;
		}
		if (!e) {
			reserve(c, n);
			memcpy(c->buf + c->len, p, n);
			c->len += n;
			return;
		}
		reserve(c, (size_t)(e - p));
		memcpy(c->buf + c->len, p, (size_t)(e - p));
		c->len += (size_t)(e - p);
		frame(c, c->buf, c->buf + c->len, recv);
		c->len = 0;
		p = e + 1;
	}
	while (p < end) {
		e = find_blank(p, (size_t)(end - p));
		if (!e)
			break;
		frame(c, p, e + 1, recv);
		p = e + 2;
	}
	if (p < end) {
		reserve(c, (size_t)(end - p));
		memcpy(c->buf, p, (size_t)(end - p));
		c->len = (size_t)(end - p);
	}
}

/* Decodes chunked transfer encoding. Returns -1 at the end of the body. */
static int body_bytes(struct client *c, const char *p, size_t n, long long recv)
{
	while (n) {
		switch (c->ch) {
		case CH_SIZE:
			if (*p == '\n') {
				if (c->ch_size == 0)
					return -1;
				c->ch_left = c->ch_size;
				c->ch_size = 0;
				c->ch = CH_DATA;
			} else if (*p >= '0' && *p <= '9') {
				c->ch_size = c->ch_size * 16 + (unsigned)(*p - '0');
			} else if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f') {
				c->ch_size = c->ch_size * 16 + (unsigned)((*p | 0x20) - 'a' + 10);
			}
			p++;
			n--;
			break;
		case CH_DATA: {
			size_t k = n < c->ch_left ? n : c->ch_left;

			sse_bytes(c, p, k, recv);
			p += k;
			n -= k;
			c->ch_left -= k;
			if (!c->ch_left)
				c->ch = CH_CRLF;
			break;
		}
		case CH_CRLF:
			if (*p == '\n')
				c->ch = CH_SIZE;
			p++;
			n--;
			break;
		}
	}
	return 0;
}

static void close_client(struct client *c, int ep, int failed)
{
	if (c->state == C_DONE)
		return;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->state = C_DONE;
	if (failed)
		nfailed++;
	else
		nclosed++;
}

static int start_connect(struct client *c, int ep, const struct sockaddr_in *sa)
{
	struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		perror("sse-clients: socket (raise ulimit -n?)");
		return -1;
	}
	if (connect(c->fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 && errno != EINPROGRESS) {
		perror("sse-clients: connect");
		close(c->fd);
		return -1;
	}
	c->state = C_CONNECTING;
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"host", required_argument, NULL, 'h'},    {"port", required_argument, NULL, 'p'},
	    {"path", required_argument, NULL, 'P'},    {"clients", required_argument, NULL, 'n'},
	    {"tag", required_argument, NULL, 't'},     {"expect", required_argument, NULL, 'k'},
	    {"timeout", required_argument, NULL, 'T'}, {NULL, 0, NULL, 0},
	};
	const char *host = "127.0.0.1", *path = "/api/stream";
	int port = 0, opt, ep, connecting = 0, next = 0;
	double timeout_s = 60;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	static char rbuf[65536];
	char req[1024];
	size_t reqlen;
	long long t_start, t_ready = 0, deadline;
	struct epoll_event evs[256];
	struct rusage ru;
	long gaps = 0, resyncs = 0, pings = 0, events = 0, fewest = -1;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'h': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'P': path = optarg; break;
		case 'n': nclients = atoi(optarg); break;
		case 't': tag = optarg; break;
		case 'k': expect = atol(optarg); break;
		case 'T': timeout_s = atof(optarg); break;
		default: return 2;
		}
	}
	if (port <= 0 || nclients <= 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "usage: sse-clients --port P --clients N [--host IPv4] [--path P] "
				"[--tag T --expect K] [--timeout S]\n");
		return 2;
	}
	taglen = strlen(tag);
	sa.sin_port = htons((uint16_t)port);
	reqlen = (size_t)snprintf(req, sizeof(req),
				  "GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n"
				  "Cache-Control: no-cache\r\n\r\n",
				  path, host, port);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	cl = calloc((size_t)nclients, sizeof(*cl));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!cl || ep < 0)
		return 2;
	t_start = mono_ms();
	deadline = t_start + (long long)(timeout_s * 1000);
	while (!stop) {
		int n;

		/* At most 128 connects in flight: the listen backlog is not the subject. */
		while (next < nclients && connecting < 128) {
			if (start_connect(&cl[next], ep, &sa) < 0) {
				cl[next].state = C_DONE;
				nfailed++;
			} else {
				connecting++;
			}
			next++;
		}
		if (!t_ready && nready + nfailed + nclosed >= nclients && next == nclients) {
			t_ready = mono_ms();
			printf("ready clients=%d failed=%d connect_ms=%lld\n", nready, nfailed,
			       t_ready - t_start);
			fflush(stdout);
		}
		if (expect > 0 && ncomplete + nfailed + nclosed >= nclients && t_ready)
			break;
		if (mono_ms() >= deadline)
			break;
		n = epoll_wait(ep, evs, 256, 100);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			struct client *c = evs[i].data.ptr;

			if (c->state == C_CONNECTING) {
				int soerr = 0;
				socklen_t sl = sizeof(soerr);
				struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};

				connecting--;
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
				if (soerr || write(c->fd, req, reqlen) != (ssize_t)reqlen) {
					fprintf(stderr, "sse-clients: connect: %s\n",
						strerror(soerr ? soerr : errno));
					close_client(c, ep, 1);
					continue;
				}
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				c->state = C_HEADERS;
				continue;
			}
			for (;;) {
				ssize_t r = read(c->fd, rbuf, sizeof(rbuf));
				long long recv;

				if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
					break;
				if (r <= 0) {
					close_client(c, ep, c->state == C_HEADERS);
					break;
				}
				recv = now_us();
				total_reads++;
				total_bytes += (unsigned long long)r;
				if (c->state == C_HEADERS) {
					char *end;

					reserve(c, (size_t)r);
					memcpy(c->buf + c->len, rbuf, (size_t)r);
					c->len += (size_t)r;
					c->buf[c->len] = '\0';
					end = strstr(c->buf, "\r\n\r\n");
					if (!end)
						continue;
					*end = '\0';
					if (strncmp(c->buf, "HTTP/1.1 200", 12) != 0 ||
					    !strcasestr(c->buf, "transfer-encoding: chunked")) {
						fprintf(
						    stderr,
						    "sse-clients: unexpected response: %.120s\n",
						    c->buf);
						close_client(c, ep, 1);
						break;
					}
					{
						size_t body = (size_t)(end + 4 - c->buf),
						       rest = c->len - body;
						char *tmp = malloc(rest + 1);

						memcpy(tmp, c->buf + body, rest);
						c->len = 0;
						c->state = C_BODY;
						c->ch = CH_SIZE;
						if (rest && body_bytes(c, tmp, rest, recv) < 0)
							close_client(c, ep, 0);
						free(tmp);
					}
					if (c->state == C_DONE)
						break;
					continue;
				}
				if (body_bytes(c, rbuf, (size_t)r, recv) < 0) {
					close_client(c, ep, 0);
					break;
				}
			}
		}
	}
	for (int i = 0; i < nclients; i++) {
		gaps += cl[i].gaps;
		resyncs += cl[i].resyncs;
		pings += cl[i].pings;
		events += cl[i].tagged;
		if (fewest < 0 || cl[i].tagged < fewest)
			fewest = cl[i].tagged;
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("result clients=%d ready=%d failed=%d closed=%d complete=%d events=%ld expected=%ld "
	       "fewest=%ld gaps=%ld resyncs=%ld pings=%ld frames=%llu reads=%llu bytes=%llu "
	       "bytes_per_read=%.0f first_to_last_ms=%.1f cpu_user_ms=%.0f cpu_sys_ms=%.0f "
	       "maxrss_kb=%ld\n",
	       nclients, nready, nfailed, nclosed, ncomplete, events, expect * nclients, fewest,
	       gaps, resyncs, pings, total_frames, total_reads, total_bytes,
	       total_reads ? (double)total_bytes / (double)total_reads : 0.0,
	       (double)(last_recv_us - first_recv_us) / 1000.0,
	       (double)ru.ru_utime.tv_sec * 1000 + (double)ru.ru_utime.tv_usec / 1000,
	       (double)ru.ru_stime.tv_sec * 1000 + (double)ru.ru_stime.tv_usec / 1000,
	       ru.ru_maxrss);
	hist_print("latency_t_us_ms", &h_tus);
	hist_print("latency_created_at_ms", &h_created);
	for (int i = 0; i < nclients; i++) {
		if (cl[i].state != C_DONE)
			close(cl[i].fd);
		free(cl[i].buf);
	}
	free(cl);
	return nfailed ? 1 : 0;
}
