/* SPDX-License-Identifier: MIT */
/*
 * The ask bridge over a unix socket: adw-run's listening side (one
 * connection, one question, one answer) and adw-mcp's client side, with
 * the validation of the question both share.
 */
#include "adw_ask.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "adw_buf.h"
#include "adw_log.h"
#include "adw_mem.h"

#define LISTEN_BACKLOG 16
#define READ_CHUNK 4096

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline (0 = none: -1, wait forever). */
static int left_ms(long long deadline)
{
	long long left;

	if (!deadline)
		return -1;
	left = deadline - now_ms();
	if (left < 0)
		return 0;
	return left > 60000 ? 60000 : (int)left;
}

/* Fills sa and *len for name ("@x" abstract, else a path); -1 with err when it cannot be. */
static int make_addr(const char *name, struct sockaddr_un *sa, socklen_t *len, struct adw_err *err)
{
	size_t n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (!name || !*name || !strcmp(name, "@"))
		return adw_err_set(err, ADW_ERR_INVALID, "empty socket name");
	n = strlen(name);
	/* An abstract name may fill sun_path after its NUL; a path needs its own NUL. */
	if (n > sizeof(sa->sun_path) - (name[0] == '@' ? 0 : 1))
		return adw_err_set(err, ADW_ERR_INVALID, "socket name '%.120s' is too long", name);
	if (name[0] == '@') {
		/* sun_path[0] stays NUL; the length, not a NUL, ends the name. */
		memcpy(sa->sun_path + 1, name + 1, n - 1);
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		memcpy(sa->sun_path, name, n);
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	}
	return 0;
}

int adw_ask_listen(const char *name, struct adw_err *err)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd = -1, e;

	if (make_addr(name, &sa, &len, err) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return adw_err_set(err, ADW_ERR_UNAVAILABLE, "cannot create a unix socket: %s",
				   strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, len) < 0) {
		e = errno;
		close(fd);
		return adw_err_set(err, e == EADDRINUSE ? ADW_ERR_CONFLICT : ADW_ERR_UNAVAILABLE,
				   "cannot bind '%s': %s", name, strerror(e));
	}
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		e = errno;
		close(fd);
		return adw_err_set(err, ADW_ERR_UNAVAILABLE, "cannot listen on '%s': %s", name,
				   strerror(e));
	}
	return fd;
}

/* Reads exactly n random bytes from /dev/urandom; -1 when it cannot. */
static int urandom_bytes(unsigned char *p, size_t n)
{
	size_t got = 0;
	ssize_t r;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (got < n) {
		r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	return got == n ? 0 : -1;
}

char *adw_ask_socket_name(void)
{
	static unsigned counter;
	unsigned char rnd[8];
	char hex[2 * sizeof(rnd) + 1];
	size_t i;

	if (RAND_bytes(rnd, (int)sizeof(rnd)) != 1 && urandom_bytes(rnd, sizeof(rnd)) < 0) {
		/*
		 * Unique enough: the name is no secret (the peer's uid is what
		 * guards the socket) and a clash only makes bind() fail.
		 */
		struct timespec ts;
		unsigned long long v;

		adw_log_warn("ask: no random bytes; naming the socket after the clock");
		clock_gettime(CLOCK_REALTIME, &ts);
		v = (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
		v ^= (unsigned long long)__atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) << 48;
		for (i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)(v >> (8 * i));
	}
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	return adw_xasprintf("@adw-ask-%ld-%s", (long)getpid(), hex);
}

/*
 * Writes all n bytes to the socket fd, waiting for room with poll() until
 * deadline (monotonic ms; 0 = none). No SIGPIPE. -1 with errno set (ETIMEDOUT).
 */
static int write_all(int fd, const char *p, size_t n, long long deadline)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	ssize_t w;
	int pr;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		pr = poll(&pfd, 1, left_ms(deadline));
		if (pr < 0 && errno != EINTR)
			return -1;
		if (pr == 0 && deadline && now_ms() >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

/*
 * Reads one line (without its newline) of at most max bytes from the
 * socket fd until deadline (monotonic ms; 0 = none) into *line (caller
 * frees) and its length into *len. Bytes after the newline are dropped.
 * Returns 0, or -1 with *why (caller frees): timeout, too long, closed
 * before a newline, or a read error.
 */
static int read_line(int fd, size_t max, long long deadline, char **line, size_t *len, char **why)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	struct adw_buf b;
	char chunk[READ_CHUNK];
	const char *nl;
	ssize_t r;
	int pr, rc = -1;

	adw_buf_init(&b, 0);
	for (;;) {
		r = recv(fd, chunk, sizeof(chunk), 0);
		if (r > 0) {
			nl = memchr(chunk, '\n', (size_t)r);
			if (adw_buf_add(&b, chunk, nl ? (size_t)(nl - chunk) : (size_t)r) < 0)
				adw_bug("uncapped buffer refused bytes");
			if (b.len > max) {
				*why = adw_xasprintf("line longer than %zu bytes", max);
				goto out;
			}
			if (nl)
				break;
			continue;
		}
		if (r == 0) {
			*why = adw_xstrdup(b.len ? "connection closed in the middle of a line"
						 : "connection closed before a line");
			goto out;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			*why = adw_xasprintf("cannot read: %s", strerror(errno));
			goto out;
		}
		pr = poll(&pfd, 1, left_ms(deadline));
		if (pr < 0 && errno != EINTR) {
			*why = adw_xasprintf("cannot poll: %s", strerror(errno));
			goto out;
		}
		if (pr == 0 && deadline && now_ms() >= deadline) {
			*why = adw_xasprintf("no complete line within %d ms", ADW_ASK_READ_MS);
			goto out;
		}
	}
	*len = b.len;
	*line = b.len ? adw_buf_detach(&b) : adw_xstrdup("");
	rc = 0;
out:
	adw_buf_release(&b);
	return rc;
}

/* A non-blank string member of at most ADW_QUESTION_TEXT_MAX bytes, else -1 with err. */
static int check_text(const cJSON *it, const char *what, struct adw_err *err)
{
	const char *s;
	size_t n;

	if (!cJSON_IsString(it) || !it->valuestring)
		return adw_err_set(err, ADW_ERR_INVALID, "%s must be a string", what);
	s = it->valuestring;
	n = strlen(s);
	if (n > ADW_QUESTION_TEXT_MAX)
		return adw_err_set(err, ADW_ERR_INVALID, "%s is longer than %d bytes", what,
				   ADW_QUESTION_TEXT_MAX);
	if (strspn(s, " \t\r\n") == n)
		return adw_err_set(err, ADW_ERR_INVALID, "%s must not be empty", what);
	return 0;
}

static int parse_options(const cJSON *arr, struct adw_question_req *q, const char **opts,
			 struct adw_err *err)
{
	const cJSON *it;
	char what[48];
	int n = 0, i;

	if (!cJSON_IsArray(arr))
		return adw_err_set(err, ADW_ERR_INVALID, "'options' must be an array of strings");
	cJSON_ArrayForEach (it, arr) {
		if (n == ADW_QUESTION_OPTIONS_MAX)
			return adw_err_set(err, ADW_ERR_INVALID,
					   "'options' has more than %d entries",
					   ADW_QUESTION_OPTIONS_MAX);
		snprintf(what, sizeof(what), "'options[%d]'", n);
		if (check_text(it, what, err) < 0)
			return -1;
		for (i = 0; i < n; i++) {
			if (!strcmp(opts[i], it->valuestring))
				return adw_err_set(err, ADW_ERR_INVALID,
						   "'options[%d]' repeats 'options[%d]'", n, i);
		}
		opts[n++] = it->valuestring;
	}
	q->options = n ? opts : NULL;
	q->noptions = n;
	return 0;
}

int adw_ask_parse(const struct cJSON *obj, struct adw_question_req *q, const char **opts,
		  struct adw_err *err)
{
	const cJSON *it, *question = NULL, *options = NULL, *context = NULL, *dflt = NULL;
	const cJSON **slot;
	int i;

	memset(q, 0, sizeof(*q));
	if (!cJSON_IsObject(obj))
		return adw_err_set(err, ADW_ERR_INVALID, "the question must be a JSON object");
	cJSON_ArrayForEach (it, obj) {
		if (!strcmp(it->string, "question"))
			slot = &question;
		else if (!strcmp(it->string, "options"))
			slot = &options;
		else if (!strcmp(it->string, "context"))
			slot = &context;
		else if (!strcmp(it->string, "default"))
			slot = &dflt;
		else
			return adw_err_set(err, ADW_ERR_INVALID, "unknown member '%.64s'",
					   it->string);
		if (*slot)
			return adw_err_set(err, ADW_ERR_INVALID, "member '%s' given twice",
					   it->string);
		*slot = it;
	}
	if (!question)
		return adw_err_set(err, ADW_ERR_INVALID, "'question' is required");
	if (check_text(question, "'question'", err) < 0)
		return -1;
	q->question = question->valuestring;
	if (options && parse_options(options, q, opts, err) < 0)
		return -1;
	if (context) {
		if (!cJSON_IsString(context) || !context->valuestring)
			return adw_err_set(err, ADW_ERR_INVALID, "'context' must be a string");
		q->context = context->valuestring;
	}
	if (dflt) {
		if (check_text(dflt, "'default'", err) < 0)
			return -1;
		q->default_answer = dflt->valuestring;
		for (i = 0; i < q->noptions; i++) {
			if (!strcmp(q->options[i], q->default_answer))
				break;
		}
		if (q->noptions && i == q->noptions)
			return adw_err_set(err, ADW_ERR_INVALID,
					   "'default' must be one of the 'options'");
	}
	return 0;
}

/* One reply line: {"key":text} and a newline. Caller frees. */
static char *reply_line(const char *key, const char *text)
{
	cJSON *o = cJSON_CreateObject();
	char *json, *line;

	if (!o || !cJSON_AddStringToObject(o, key, text))
		adw_bug("out of memory");
	json = cJSON_PrintUnformatted(o);
	if (!json)
		adw_bug("out of memory");
	line = adw_xasprintf("%s\n", json);
	cJSON_free(json);
	cJSON_Delete(o);
	return line;
}

/* Sends {"key":text}; a peer that is gone is only logged. */
static void send_reply(int fd, const char *key, const char *text)
{
	char *line = reply_line(key, text);
	size_t n = strlen(line);

	if (n - 1 > ADW_ASK_LINE_MAX) {
		free(line);
		line = reply_line("error", "the answer is too long");
		n = strlen(line);
	}
	if (write_all(fd, line, n, now_ms() + ADW_ASK_READ_MS) < 0)
		adw_log_warn("ask: cannot send the reply: %s", strerror(errno));
	free(line);
}

/* Reads, checks and answers the request of the accepted connection fd. */
static void serve_conn(int fd, adw_ask_fn fn, void *ud)
{
	struct adw_err err = {0};
	struct adw_question_req q;
	const char *opts[ADW_QUESTION_OPTIONS_MAX];
	cJSON *req = NULL;
	char *line = NULL, *why = NULL, *answer = NULL;
	size_t len = 0;

	if (read_line(fd, ADW_ASK_LINE_MAX, now_ms() + ADW_ASK_READ_MS, &line, &len, &why) < 0) {
		adw_log_warn("ask: bad request: %s", why);
		send_reply(fd, "error", why);
		goto out;
	}
	if (memchr(line, '\0', len)) {
		send_reply(fd, "error", "the request contains a NUL byte");
		goto out;
	}
	req = cJSON_ParseWithOpts(line, NULL, 1);
	if (!req) {
		send_reply(fd, "error", "the request is not JSON");
		goto out;
	}
	if (adw_ask_parse(req, &q, opts, &err) < 0) {
		adw_log_warn("ask: bad request: %s", err.msg);
		send_reply(fd, "error", err.msg);
		goto out;
	}
	if (fn(ud, &q, &answer, &why) == 0 && answer) {
		send_reply(fd, "answer", answer);
	} else {
		send_reply(fd, "error", why ? why : "the question was not answered");
	}
out:
	cJSON_Delete(req);
	free(line);
	free(why);
	free(answer);
}

int adw_ask_serve(int listen_fd, adw_ask_fn fn, void *ud)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd, rc = -1;

	do {
		fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		/* Nothing pending, or the peer left before we took it. */
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED)
			return 0;
		adw_log_error("ask: cannot accept: %s", strerror(errno));
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		adw_log_error("ask: cannot read the peer's credentials: %s", strerror(errno));
		goto out;
	}
	if (cred.uid != geteuid()) {
		adw_log_warn("ask: refused a connection from uid=%ld pid=%ld", (long)cred.uid,
			     (long)cred.pid);
		rc = 0;
		goto out;
	}
	serve_conn(fd, fn, ud);
	rc = 0;
out:
	close(fd);
	return rc;
}

/*
 * Reads the reply of fd into *answer (0) or *error (-1). When no line
 * comes, *error is set only if must (else it stays NULL).
 */
static int read_reply(int fd, char **answer, char **error, bool must)
{
	cJSON *o = NULL, *a, *e;
	char *line = NULL, *why = NULL;
	size_t len = 0;
	int rc = -1;

	if (read_line(fd, ADW_ASK_LINE_MAX, 0, &line, &len, &why) < 0) {
		if (must)
			*error = adw_xasprintf("no reply from adw-run: %s", why);
		goto out;
	}
	o = memchr(line, '\0', len) ? NULL : cJSON_ParseWithOpts(line, NULL, 1);
	a = cJSON_GetObjectItemCaseSensitive(o, "answer");
	e = cJSON_GetObjectItemCaseSensitive(o, "error");
	if (cJSON_IsString(a) && a->valuestring && !e) {
		*answer = adw_xstrdup(a->valuestring);
		rc = 0;
	} else if (cJSON_IsString(e) && e->valuestring && !a) {
		*error = adw_xstrdup(e->valuestring);
	} else {
		*error = adw_xasprintf("bad reply from adw-run: '%.200s'", line);
	}
out:
	cJSON_Delete(o);
	free(line);
	free(why);
	return rc;
}

int adw_ask_request(const char *name, const char *request_json, char **answer, char **error)
{
	struct adw_err err = {0};
	struct sockaddr_un sa;
	socklen_t len;
	char *msg = NULL;
	size_t n;
	int fd = -1, rc = -1;

	*answer = NULL;
	*error = NULL;
	if (make_addr(name, &sa, &len, &err) < 0) {
		*error = adw_xasprintf("ask socket: %s", err.msg);
		goto out;
	}
	n = request_json ? strlen(request_json) : 0;
	if (!n || n > ADW_ASK_LINE_MAX || memchr(request_json, '\n', n)) {
		*error = adw_xstrdup(!n			    ? "empty request"
				     : n > ADW_ASK_LINE_MAX ? "request too long"
							    : "the request contains a newline");
		goto out;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error = adw_xasprintf("cannot create a unix socket: %s", strerror(errno));
		goto out;
	}
	while (connect(fd, (struct sockaddr *)&sa, len) < 0) {
		/* A connect interrupted by a signal goes on in the background: wait for it. */
		if (errno == EINTR || errno == EINPROGRESS) {
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};
			int soerr = 0;
			socklen_t sl = sizeof(soerr);

			while (poll(&pfd, 1, -1) < 0 && errno == EINTR) {
			}
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && !soerr)
				break;
			errno = soerr ? soerr : EIO;
		}
		*error =
		    adw_xasprintf("cannot connect to adw-run at '%s': %s", name, strerror(errno));
		goto out;
	}
	msg = adw_xasprintf("%s\n", request_json);
	if (write_all(fd, msg, n + 1, 0) < 0) {
		int e = errno;

		/* adw-run may have refused the request early: its reply says why. */
		if (read_reply(fd, answer, error, false) < 0 && !*error)
			*error =
			    adw_xasprintf("cannot send the question to adw-run: %s", strerror(e));
		goto out;
	}
	rc = read_reply(fd, answer, error, true);
out:
	if (fd >= 0)
		close(fd);
	free(msg);
	return rc;
}
