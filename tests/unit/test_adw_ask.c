/* SPDX-License-Identifier: MIT */
/*
 * Tests of adws/adw_ask: the ask bridge's socket, one served question per
 * connection, the strict request checks and the client's error paths.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adw_ask.h"
#include "testlib.h"

/* What the test's ask function saw and what it answers. */
static struct {
	int calls;
	char question[256];
	int noptions;
	char options[ADW_QUESTION_OPTIONS_MAX][32];
	char context[256];
	char default_answer[64];
	bool has_context, has_default;
	const char *answer; /* NULL: fail with why */
	const char *why;
	size_t answer_len; /* > 0: answer with this many 'y' bytes */
} seen;

static int test_ask(void *ud, const struct adw_question_req *q, char **answer, char **why)
{
	int i;

	ck_assert_ptr_eq(ud, &seen);
	seen.calls++;
	snprintf(seen.question, sizeof(seen.question), "%s", q->question);
	seen.noptions = q->noptions;
	for (i = 0; i < q->noptions; i++)
		snprintf(seen.options[i], sizeof(seen.options[i]), "%s", q->options[i]);
	seen.has_context = q->context != NULL;
	seen.has_default = q->default_answer != NULL;
	snprintf(seen.context, sizeof(seen.context), "%s", q->context ? q->context : "");
	snprintf(seen.default_answer, sizeof(seen.default_answer), "%s",
		 q->default_answer ? q->default_answer : "");
	if (seen.answer_len) {
		*answer = adw_xmalloc(seen.answer_len + 1);
		memset(*answer, 'y', seen.answer_len);
		(*answer)[seen.answer_len] = '\0';
		return 0;
	}
	if (seen.answer) {
		*answer = adw_xstrdup(seen.answer);
		return 0;
	}
	*why = adw_xstrdup(seen.why);
	return -1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *name;
static int lfd = -1;

static void setup(void)
{
	struct adw_err err = {0};

	memset(&seen, 0, sizeof(seen));
	seen.answer = "yes";
	name = adw_ask_socket_name();
	lfd = adw_ask_listen(name, &err);
	ck_assert_msg(lfd >= 0, "listen %s: %s", name, err.msg);
}

static void teardown(void)
{
	close(lfd);
	free(name);
}

/* Waits until a connection is pending, then serves it. */
static void serve_one(void)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};

	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	ck_assert_int_eq(adw_ask_serve(lfd, test_ask, &seen), 0);
}

/* A blocking client connection to the test's socket. */
static int raw_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(name);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memcpy(sa.sun_path + 1, name + 1, n - 1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa,
				 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)),
			 0);
	return fd;
}

/* Reads until the peer closes; returns what came (caller frees). */
static char *read_all(int fd)
{
	char *buf = adw_xcalloc(1, 1 << 20);
	size_t len = 0;
	ssize_t r;

	while ((r = read(fd, buf + len, (1 << 20) - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	return buf;
}

/* Reads one line (up to its newline) from the blocking fd. Caller frees. */
static char *read_line_raw(int fd)
{
	char *buf = adw_xcalloc(1, 4096);
	size_t len = 0;

	while (len < 4095 && read(fd, buf + len, 1) == 1 && buf[len] != '\n')
		len++;
	buf[len] = '\0';
	return buf;
}

/* Sends bytes (all of them fit in the socket buffer), serves, returns the reply. */
static char *raw_exchange(const char *bytes, size_t n)
{
	int fd = raw_connect();
	char *reply;

	ck_assert_int_eq(send(fd, bytes, n, MSG_NOSIGNAL), (ssize_t)n);
	serve_one();
	reply = read_all(fd);
	close(fd);
	return reply;
}

/* The text of {"error":...} in reply, or fails. Caller frees. */
static char *reply_error(const char *reply)
{
	cJSON *o = cJSON_Parse(reply);
	cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
	char *s;

	ck_assert_msg(cJSON_IsString(e), "not an error reply: %s", reply);
	ck_assert_msg(reply[strlen(reply) - 1] == '\n', "reply without newline: %s", reply);
	ck_assert_int_eq(cJSON_GetArraySize(o), 1);
	s = adw_xstrdup(e->valuestring);
	cJSON_Delete(o);
	return s;
}

/* A client thread running adw_ask_request. */
struct client {
	pthread_t t;
	const char *request;
	int rc;
	char *answer, *error;
};

static void *client_main(void *arg)
{
	struct client *c = arg;

	c->rc = adw_ask_request(name, c->request, &c->answer, &c->error);
	return NULL;
}

static void client_start(struct client *c, const char *request)
{
	memset(c, 0, sizeof(*c));
	c->request = request;
	ck_assert_int_eq(pthread_create(&c->t, NULL, client_main, c), 0);
}

static void client_join(struct client *c)
{
	ck_assert_int_eq(pthread_join(c->t, NULL), 0);
}

static void client_release(struct client *c)
{
	free(c->answer);
	free(c->error);
}

/* Asks request through adw_ask_request against adw_ask_serve. */
static void ask(struct client *c, const char *request)
{
	client_start(c, request);
	serve_one();
	client_join(c);
}

START_TEST(test_socket_name)
{
	char *a = adw_ask_socket_name(), *b = adw_ask_socket_name();
	char prefix[64];
	size_t i, n;

	snprintf(prefix, sizeof(prefix), "@adw-ask-%ld-", (long)getpid());
	n = strlen(prefix);
	ck_assert_int_eq(strncmp(a, prefix, n), 0);
	ck_assert_uint_eq(strlen(a), n + 16);
	for (i = n; a[i]; i++)
		ck_assert_ptr_nonnull(strchr("0123456789abcdef", a[i]));
	ck_assert_str_ne(a, b);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_listen_errors)
{
	struct adw_err err = {0};
	char longname[200], path[64];
	size_t n;
	int fd;

	ck_assert_int_eq(adw_ask_listen("", &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_int_eq(adw_ask_listen("@", &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[0] = '@';
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(adw_ask_listen(longname, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "too long"));
	/* An abstract name may fill sun_path: 107 bytes after the '@', not 108. */
	snprintf(longname, sizeof(longname), "@adw-ask-test-%ld-", (long)getpid());
	n = strlen(longname);
	memset(longname + n, 'x', 109 - n);
	longname[109] = '\0';
	ck_assert_int_eq(adw_ask_listen(longname, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	longname[108] = '\0';
	fd = adw_ask_listen(longname, &err);
	ck_assert_msg(fd >= 0, "%s", err.msg);
	close(fd);
	/* The fixture's name is taken. */
	ck_assert_int_eq(adw_ask_listen(name, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_CONFLICT);
	/* A filesystem path works too, and is taken while the file exists. */
	snprintf(path, sizeof(path), "/tmp/adw-ask-test-%ld.sock", (long)getpid());
	unlink(path);
	fd = adw_ask_listen(path, &err);
	ck_assert_msg(fd >= 0, "%s", err.msg);
	ck_assert_int_eq(adw_ask_listen(path, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_CONFLICT);
	close(fd);
	unlink(path);
}
END_TEST

START_TEST(test_round_trip)
{
	struct client c;

	seen.answer = "b, with a \"quote\"\nand a newline";
	ask(&c, "{\"question\":\"Which one?\",\"options\":[\"a\",\"b, with a \\\"quote\\\"\\nand a "
		"newline\"],\"context\":\"We found two ways.\",\"default\":\"a\"}");
	ck_assert_msg(c.rc == 0, "error: %s", c.error);
	ck_assert_ptr_null(c.error);
	ck_assert_str_eq(c.answer, "b, with a \"quote\"\nand a newline");
	ck_assert_int_eq(seen.calls, 1);
	ck_assert_str_eq(seen.question, "Which one?");
	ck_assert_int_eq(seen.noptions, 2);
	ck_assert_str_eq(seen.options[0], "a");
	ck_assert_str_eq(seen.options[1], "b, with a \"quote\"\nand a newline");
	ck_assert_str_eq(seen.context, "We found two ways.");
	ck_assert_str_eq(seen.default_answer, "a");
	client_release(&c);

	/* Only the question: no options, context or default. */
	seen.answer = "free text";
	ask(&c, "{\"question\":\"What name?\"}");
	ck_assert_int_eq(c.rc, 0);
	ck_assert_str_eq(c.answer, "free text");
	ck_assert_int_eq(seen.calls, 2);
	ck_assert_int_eq(seen.noptions, 0);
	ck_assert(!seen.has_context);
	ck_assert(!seen.has_default);
	client_release(&c);

	/* An empty options array is no options; a default is then free. */
	ask(&c, "{\"question\":\"q\",\"options\":[],\"default\":\"anything\"}");
	ck_assert_int_eq(c.rc, 0);
	ck_assert_int_eq(seen.noptions, 0);
	ck_assert_str_eq(seen.default_answer, "anything");
	client_release(&c);
}
END_TEST

START_TEST(test_nothing_pending)
{
	long long t0 = now_ms();

	ck_assert_int_eq(adw_ask_serve(lfd, test_ask, &seen), 0);
	ck_assert_int_eq(adw_ask_serve(lfd, test_ask, &seen), 0);
	ck_assert_int_lt(now_ms() - t0, 100);
	ck_assert_int_eq(seen.calls, 0);
}
END_TEST

START_TEST(test_malformed)
{
	static const struct {
		const char *line;
		const char *error; /* a part of the reply's error */
	} cases[] = {
	    {"not json\n", "not JSON"},
	    {"{\"question\":\"q\"} trailing\n", "not JSON"},
	    {"[\"question\"]\n", "must be a JSON object"},
	    {"\"q\"\n", "must be a JSON object"},
	    {"{}\n", "'question' is required"},
	    {"{\"question\":\"\"}\n", "'question' must not be empty"},
	    {"{\"question\":\" \\t \"}\n", "'question' must not be empty"},
	    {"{\"question\":7}\n", "'question' must be a string"},
	    {"{\"question\":null}\n", "'question' must be a string"},
	    {"{\"question\":\"q\",\"options\":\"a\"}\n", "'options' must be an array"},
	    {"{\"question\":\"q\",\"options\":[\"a\",2]}\n", "'options[1]' must be a string"},
	    {"{\"question\":\"q\",\"options\":[\"\"]}\n", "'options[0]' must not be empty"},
	    {"{\"question\":\"q\",\"options\":[\"a\",\"a\"]}\n",
	     "'options[1]' repeats 'options[0]'"},
	    {"{\"question\":\"q\",\"context\":1}\n", "'context' must be a string"},
	    {"{\"question\":\"q\",\"default\":\"\"}\n", "'default' must not be empty"},
	    {"{\"question\":\"q\",\"options\":[\"a\"],\"default\":\"b\"}\n",
	     "'default' must be one of the 'options'"},
	    {"{\"question\":\"q\",\"urgent\":true}\n", "unknown member 'urgent'"},
	    {"{\"question\":\"q\",\"question\":\"r\"}\n", "member 'question' given twice"},
	    {"\n", "not JSON"},
	    {"{\"question\":\"q\"}", "closed in the middle of a line"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int fd = raw_connect();
		char *reply, *e;

		ck_assert_int_eq(send(fd, cases[i].line, strlen(cases[i].line), MSG_NOSIGNAL),
				 (ssize_t)strlen(cases[i].line));
		shutdown(fd, SHUT_WR);
		serve_one();
		reply = read_all(fd);
		close(fd);
		e = reply_error(reply);
		ck_assert_msg(strstr(e, cases[i].error), "case %zu: '%s' lacks '%s'", i, e,
			      cases[i].error);
		free(e);
		free(reply);
	}
	ck_assert_int_eq(seen.calls, 0);
}
END_TEST

START_TEST(test_nul_byte)
{
	char *reply = raw_exchange("{\"question\":\"a\0b\"}\n", 19);
	char *e = reply_error(reply);

	ck_assert_str_eq(e, "the request contains a NUL byte");
	ck_assert_int_eq(seen.calls, 0);
	free(e);
	free(reply);
}
END_TEST

/* {"question":"q","options":["o0",...,"o<n-1>"]} */
static char *options_request(int n)
{
	char *s = adw_xstrdup("{\"question\":\"q\",\"options\":["), *t;
	int i;

	for (i = 0; i < n; i++) {
		t = adw_xasprintf("%s%s\"o%d\"", s, i ? "," : "", i);
		free(s);
		s = t;
	}
	t = adw_xasprintf("%s]}", s);
	free(s);
	return t;
}

START_TEST(test_limits)
{
	struct client c;
	char *req = options_request(ADW_QUESTION_OPTIONS_MAX), *big, *reply, *e;
	cJSON *o;

	ask(&c, req);
	ck_assert_int_eq(c.rc, 0);
	ck_assert_int_eq(seen.calls, 1);
	ck_assert_int_eq(seen.noptions, ADW_QUESTION_OPTIONS_MAX);
	ck_assert_str_eq(seen.options[ADW_QUESTION_OPTIONS_MAX - 1], "o15");
	client_release(&c);
	free(req);

	req = options_request(ADW_QUESTION_OPTIONS_MAX + 1);
	ask(&c, req);
	ck_assert_int_eq(c.rc, -1);
	ck_assert_ptr_null(c.answer);
	ck_assert_str_eq(c.error, "'options' has more than 16 entries");
	ck_assert_int_eq(seen.calls, 1);
	client_release(&c);
	free(req);

	/* A question of exactly ADW_QUESTION_TEXT_MAX bytes passes; one more does not. */
	big = adw_xmalloc(ADW_QUESTION_TEXT_MAX + 2);
	memset(big, 'q', ADW_QUESTION_TEXT_MAX + 1);
	big[ADW_QUESTION_TEXT_MAX + 1] = '\0';
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "question", big);
	req = cJSON_PrintUnformatted(o);
	reply = adw_xasprintf("%s\n", req);
	cJSON_Delete(o);
	cJSON_free(req);
	big[ADW_QUESTION_TEXT_MAX] = '\0';
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "question", big);
	req = cJSON_PrintUnformatted(o);
	ask(&c, req);
	ck_assert_int_eq(c.rc, 0);
	ck_assert_int_eq(seen.calls, 2);
	client_release(&c);
	cJSON_Delete(o);
	cJSON_free(req);
	free(big);

	req = reply;
	reply = raw_exchange(req, strlen(req));
	e = reply_error(reply);
	ck_assert_str_eq(e, "'question' is longer than 16384 bytes");
	ck_assert_int_eq(seen.calls, 2);
	free(e);
	free(reply);
	free(req);
}
END_TEST

START_TEST(test_fn_error)
{
	struct client c;

	seen.answer = NULL;
	seen.why = "the ADW was cancelled";
	ask(&c, "{\"question\":\"Go on?\",\"options\":[\"yes\",\"no\"]}");
	ck_assert_int_eq(c.rc, -1);
	ck_assert_ptr_null(c.answer);
	ck_assert_str_eq(c.error, "the ADW was cancelled");
	ck_assert_int_eq(seen.calls, 1);
	client_release(&c);

	/* An answer that does not fit a reply line is an error, not a cut answer. */
	seen.answer_len = ADW_ASK_LINE_MAX + 1;
	ask(&c, "{\"question\":\"Long?\"}");
	ck_assert_int_eq(c.rc, -1);
	ck_assert_str_eq(c.error, "the answer is too long");
	client_release(&c);
}
END_TEST

START_TEST(test_read_timeout)
{
	long long t0 = now_ms(), dt;
	char *reply = raw_exchange("{\"question\":", 12), *e;

	dt = now_ms() - t0;
	ck_assert_int_ge(dt, ADW_ASK_READ_MS - 50);
	ck_assert_int_lt(dt, ADW_ASK_READ_MS + 1500);
	e = reply_error(reply);
	ck_assert_str_eq(e, "no complete line within 2000 ms");
	ck_assert_int_eq(seen.calls, 0);
	free(e);
	free(reply);
}
END_TEST

/* Sends more than ADW_ASK_LINE_MAX bytes without a newline, then reads the reply. */
static void *flood_main(void *arg)
{
	char **out = arg;
	size_t n = ADW_ASK_LINE_MAX + 100000, off = 0;
	char *buf = adw_xmalloc(n);
	int fd = raw_connect();
	ssize_t w;

	memset(buf, ' ', n);
	while (off < n) {
		w = send(fd, buf + off, n - off, MSG_NOSIGNAL);
		if (w <= 0)
			break; /* refused early: the reply says why */
		off += (size_t)w;
	}
	*out = read_all(fd);
	close(fd);
	free(buf);
	return NULL;
}

START_TEST(test_too_long)
{
	pthread_t t;
	char *reply = NULL, *e;

	ck_assert_int_eq(pthread_create(&t, NULL, flood_main, &reply), 0);
	serve_one();
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	e = reply_error(reply);
	ck_assert_str_eq(e, "line longer than 262144 bytes");
	ck_assert_int_eq(seen.calls, 0);
	free(e);
	free(reply);
}
END_TEST

START_TEST(test_client_errors)
{
	static const char *const bad[] = {"garbage\n", "{\"answer\":1}\n",
					  "{\"answer\":\"a\",\"error\":\"e\"}\n", "{}\n", ""};
	struct client c;
	char *a = NULL, *e = NULL, *other = adw_ask_socket_name();
	const char *line;
	size_t i;
	int fd;

	/* Nobody listens. */
	ck_assert_int_eq(adw_ask_request(other, "{\"question\":\"q\"}", &a, &e), -1);
	ck_assert_ptr_null(a);
	ck_assert_ptr_nonnull(strstr(e, "cannot connect to adw-run at '@adw-ask-"));
	free(e);
	free(other);
	ck_assert_int_eq(adw_ask_request("", "{}", &a, &e), -1);
	ck_assert_str_eq(e, "ask socket: empty socket name");
	free(e);
	ck_assert_int_eq(adw_ask_request(name, "{\"question\":\n\"q\"}", &a, &e), -1);
	ck_assert_str_eq(e, "the request contains a newline");
	free(e);

	/* A server that answers something else than the two reply forms, or nothing. */
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};

		client_start(&c, "{\"question\":\"q\"}");
		ck_assert_int_eq(poll(&p, 1, 10000), 1);
		fd = accept(lfd, NULL, NULL);
		ck_assert_int_ge(fd, 0);
		free(read_line_raw(fd));
		line = bad[i][0] ? bad[i] : NULL;
		if (line)
			ck_assert_int_eq(send(fd, line, strlen(line), MSG_NOSIGNAL),
					 (ssize_t)strlen(line));
		close(fd);
		client_join(&c);
		ck_assert_int_eq(c.rc, -1);
		ck_assert_ptr_null(c.answer);
		if (line)
			ck_assert_msg(strstr(c.error, "bad reply from adw-run"), "%s", c.error);
		else
			ck_assert_msg(strstr(c.error, "no reply from adw-run"), "%s", c.error);
		client_release(&c);
	}
}
END_TEST

START_TEST(test_other_uid_refused)
{
	pid_t pid;
	int status;

	if (geteuid() != 0)
		return; /* needs root to be another user */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd;
		char buf[64];
		ssize_t r;
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		size_t n = strlen(name);

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(3);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		memcpy(sa.sun_path + 1, name + 1, n - 1);
		if (connect(fd, (struct sockaddr *)&sa,
			    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0)
			_exit(4);
		/* The send fails when the server has closed already: fine too. */
		if (send(fd, "{\"question\":\"q\"}\n", 17, MSG_NOSIGNAL) != 17)
			_exit(0);
		r = read(fd, buf, sizeof(buf));
		_exit(r <= 0 ? 0 : 6); /* closed unanswered */
	}
	serve_one();
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(seen.calls, 0);
}
END_TEST

START_TEST(test_parse_direct)
{
	struct adw_err err = {0};
	struct adw_question_req q;
	const char *opts[ADW_QUESTION_OPTIONS_MAX];
	cJSON *o = cJSON_Parse("{\"default\":\"n\",\"options\":[\"y\",\"n\"],\"question\":\"Ok?\","
			       "\"context\":\"\"}");

	ck_assert_int_eq(adw_ask_parse(o, &q, opts, &err), 0);
	ck_assert_str_eq(q.question, "Ok?");
	ck_assert_int_eq(q.noptions, 2);
	ck_assert_ptr_eq(q.options, opts);
	ck_assert_str_eq(q.options[1], "n");
	ck_assert_str_eq(q.context, "");
	ck_assert_str_eq(q.default_answer, "n");
	cJSON_Delete(o);
	ck_assert_int_eq(adw_ask_parse(NULL, &q, opts, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("adw_ask");
	TCase *tc = tcase_create("bridge");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_socket_name);
	tcase_add_test(tc, test_listen_errors);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_nothing_pending);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_nul_byte);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_fn_error);
	tcase_add_test(tc, test_read_timeout);
	tcase_add_test(tc, test_too_long);
	tcase_add_test(tc, test_client_errors);
	tcase_add_test(tc, test_other_uid_refused);
	tcase_add_test(tc, test_parse_direct);
	suite_add_tcase(s, tc);
	return testlib_run(s);
}
