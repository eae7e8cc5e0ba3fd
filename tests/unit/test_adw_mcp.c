/* SPDX-License-Identifier: MIT */
/*
 * Tests of adws/adw_mcp: the JSON-RPC dispatch of adw-mcp one line at a
 * time, the ask_user tool against a real ask socket, and the stdio loop.
 */
#include <cjson/cJSON.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adw_ask.h"
#include "adw_build.h"
#include "adw_mcp.h"
#include "testlib.h"

static struct adw_mcp m;

static void setup(void)
{
	adw_mcp_init(&m, NULL);
}

/* The raw reply to line (must exist). Caller frees. */
static char *raw(const char *line)
{
	char *r = adw_mcp_handle(&m, line, strlen(line));

	ck_assert_msg(r != NULL, "no reply to %s", line);
	ck_assert_msg(!strchr(r, '\n'), "newline in reply %s", r);
	return r;
}

/* The reply to line, parsed; checks "jsonrpc":"2.0". Caller cJSON_Deletes. */
static cJSON *call(const char *line)
{
	char *r = raw(line);
	cJSON *o = cJSON_Parse(r);

	ck_assert_msg(cJSON_IsObject(o), "reply is not an object: %s", r);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(o, "jsonrpc")->valuestring, "2.0");
	free(r);
	return o;
}

static const cJSON *get(const cJSON *o, const char *path)
{
	char buf[256], *save = NULL, *k;

	snprintf(buf, sizeof(buf), "%s", path);
	for (k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
		o = cJSON_IsArray(o) ? cJSON_GetArrayItem(o, (int)strtol(k, NULL, 10))
				     : cJSON_GetObjectItemCaseSensitive(o, k);
	return o;
}

static const char *str(const cJSON *o, const char *path)
{
	const cJSON *v = get(o, path);

	ck_assert_msg(cJSON_IsString(v), "'%s' is not a string", path);
	return v->valuestring;
}

/* Asserts o is an error reply with code and an id of null. */
static void assert_error(const cJSON *o, int code, bool id_null)
{
	ck_assert_msg(cJSON_IsNumber(get(o, "error.code")), "not an error reply");
	ck_assert_int_eq(get(o, "error.code")->valueint, code);
	ck_assert(cJSON_IsString(get(o, "error.message")));
	ck_assert_ptr_null(get(o, "result"));
	if (id_null)
		ck_assert(cJSON_IsNull(get(o, "id")));
}

static void assert_no_reply(const char *line)
{
	char *r = adw_mcp_handle(&m, line, strlen(line));

	ck_assert_msg(r == NULL, "a reply to %s: %s", line, r);
}

START_TEST(test_initialize)
{
	static const char *const known[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};
	char line[256];
	cJSON *o;
	size_t i;

	ck_assert(!m.initialized);
	for (i = 0; i < sizeof(known) / sizeof(*known); i++) {
		snprintf(line, sizeof(line),
			 "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
			 "\"protocolVersion\":\"%s\",\"capabilities\":{},\"clientInfo\":{\"name\":"
			 "\"t\",\"version\":\"1\"}}}",
			 known[i]);
		o = call(line);
		ck_assert_str_eq(str(o, "result.protocolVersion"), known[i]);
		ck_assert_int_eq(get(o, "id")->valueint, 0);
		ck_assert(cJSON_IsFalse(get(o, "result.capabilities.tools.listChanged")));
		ck_assert_str_eq(str(o, "result.serverInfo.name"), "adw");
		ck_assert_str_eq(str(o, "result.serverInfo.version"), ADW_VERSION);
		cJSON_Delete(o);
		ck_assert_str_eq(m.protocol, known[i]);
	}
	ck_assert(m.initialized);
	/* An unknown version (older, newer, or none) gets our latest. */
	o = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
		 "\"protocolVersion\":\"2026-07-28\",\"capabilities\":{}}}");
	ck_assert_str_eq(str(o, "result.protocolVersion"), "2025-11-25");
	cJSON_Delete(o);
	o = call("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\",\"params\":{"
		 "\"protocolVersion\":\"1.0.0\"}}");
	ck_assert_str_eq(str(o, "result.protocolVersion"), "2025-11-25");
	cJSON_Delete(o);
	o = call("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"initialize\"}");
	ck_assert_str_eq(str(o, "result.protocolVersion"), "2025-11-25");
	cJSON_Delete(o);
}
END_TEST

START_TEST(test_notifications)
{
	assert_no_reply("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
	assert_no_reply("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":"
			"{\"requestId\":2,\"reason\":\"x\"}}");
	assert_no_reply("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/whatever\"}");
	assert_no_reply("{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\",\"params\":{\"name\":"
			"\"ask_user\",\"arguments\":{\"question\":\"q\"}}}");
	/* Responses from the client, and blank lines. */
	assert_no_reply("{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{}}");
	assert_no_reply("{\"jsonrpc\":\"2.0\",\"id\":6,\"error\":{\"code\":-1,\"message\":\"x\"}}");
	assert_no_reply("");
	assert_no_reply("  \t\r");
}
END_TEST

START_TEST(test_tools_list)
{
	cJSON *o = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
	const cJSON *tools = get(o, "result.tools"), *t, *props, *req;

	ck_assert(cJSON_IsArray(tools));
	ck_assert_int_eq(cJSON_GetArraySize(tools), 1);
	t = cJSON_GetArrayItem(tools, 0);
	ck_assert_str_eq(str(t, "name"), "ask_user");
	ck_assert_str_eq(str(t, "title"), "Ask the user");
	ck_assert_ptr_nonnull(strstr(str(t, "description"), "decision"));
	ck_assert_ptr_nonnull(strstr(str(t, "description"), "blocks until"));
	ck_assert_str_eq(str(t, "inputSchema.type"), "object");
	ck_assert(cJSON_IsFalse(get(t, "inputSchema.additionalProperties")));
	props = get(t, "inputSchema.properties");
	ck_assert_int_eq(cJSON_GetArraySize(props), 4);
	ck_assert_str_eq(str(props, "question.type"), "string");
	ck_assert_str_eq(str(props, "options.type"), "array");
	ck_assert_str_eq(str(props, "options.items.type"), "string");
	ck_assert_int_eq(get(props, "options.maxItems")->valueint, ADW_QUESTION_OPTIONS_MAX);
	ck_assert_str_eq(str(props, "context.type"), "string");
	ck_assert_str_eq(str(props, "default.type"), "string");
	req = get(t, "inputSchema.required");
	ck_assert_int_eq(cJSON_GetArraySize(req), 1);
	ck_assert_str_eq(cJSON_GetArrayItem(req, 0)->valuestring, "question");
	ck_assert_str_eq(str(t, "outputSchema.type"), "object");
	ck_assert_str_eq(str(t, "outputSchema.properties.answer.type"), "string");
	cJSON_Delete(o);
	/* With a cursor param it is the same single page. */
	o = call("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\",\"params\":{\"cursor\":"
		 "\"x\"}}");
	ck_assert_int_eq(cJSON_GetArraySize(get(o, "result.tools")), 1);
	ck_assert_ptr_null(get(o, "result.nextCursor"));
	cJSON_Delete(o);
}
END_TEST

START_TEST(test_ping_and_ids)
{
	char *r;

	r = raw("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"ping\"}");
	ck_assert_str_eq(r, "{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{}}");
	free(r);
	r = raw("{\"jsonrpc\":\"2.0\",\"id\":\"abc-1\",\"method\":\"ping\"}");
	ck_assert_str_eq(r, "{\"jsonrpc\":\"2.0\",\"id\":\"abc-1\",\"result\":{}}");
	free(r);
	r = raw("{\"method\":\"ping\",\"id\":\"0\",\"jsonrpc\":\"2.0\",\"params\":{}}");
	ck_assert_str_eq(r, "{\"jsonrpc\":\"2.0\",\"id\":\"0\",\"result\":{}}");
	free(r);
	r = raw("{\"jsonrpc\":\"2.0\",\"id\":-42,\"method\":\"ping\"}\r");
	ck_assert_str_eq(r, "{\"jsonrpc\":\"2.0\",\"id\":-42,\"result\":{}}");
	free(r);
	r = raw("{\"jsonrpc\":\"2.0\",\"id\":123456789,\"method\":\"nope\"}");
	ck_assert_ptr_nonnull(strstr(r, "\"id\":123456789,"));
	free(r);
}
END_TEST

START_TEST(test_errors)
{
	cJSON *o;

	o = call("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"resources/list\"}");
	assert_error(o, -32601, false);
	ck_assert_int_eq(get(o, "id")->valueint, 4);
	cJSON_Delete(o);
	o = call("{\"jsonrpc\":\"2.0\",\"id\":\"d\",\"method\":\"server/discover\",\"params\":{}}");
	assert_error(o, -32601, false);
	ck_assert_str_eq(str(o, "id"), "d");
	cJSON_Delete(o);
	o = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\",\"params\":{"
		 "\"level\":\"info\"}}");
	assert_error(o, -32601, false);
	cJSON_Delete(o);

	o = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"");
	assert_error(o, -32700, true);
	cJSON_Delete(o);
	o = call("not json at all");
	assert_error(o, -32700, true);
	cJSON_Delete(o);
	o = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} {}");
	assert_error(o, -32700, true);
	cJSON_Delete(o);
	{
		char *r = adw_mcp_handle(&m, "{\"id\":1\0}", 9);

		o = cJSON_Parse(r);
		assert_error(o, -32700, true);
		cJSON_Delete(o);
		free(r);
	}

	o = call("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]");
	assert_error(o, -32600, true);
	cJSON_Delete(o);
	o = call("[]");
	assert_error(o, -32600, true);
	cJSON_Delete(o);
	o = call("42");
	assert_error(o, -32600, true);
	cJSON_Delete(o);
	o = call("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}");
	assert_error(o, -32600, true);
	cJSON_Delete(o);
	o = call("{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}");
	assert_error(o, -32600, true);
	cJSON_Delete(o);
	o = call("{\"id\":7,\"method\":\"ping\"}");
	assert_error(o, -32600, false);
	ck_assert_int_eq(get(o, "id")->valueint, 7);
	cJSON_Delete(o);
	o = call("{\"jsonrpc\":\"1.0\",\"id\":7,\"method\":\"ping\"}");
	assert_error(o, -32600, false);
	cJSON_Delete(o);
	o = call("{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":3}");
	assert_error(o, -32600, false);
	ck_assert_int_eq(get(o, "id")->valueint, 8);
	cJSON_Delete(o);
	o = call("{\"jsonrpc\":\"2.0\",\"id\":9}");
	assert_error(o, -32600, false);
	cJSON_Delete(o);
	o = call("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/list\",\"params\":[1]}");
	assert_error(o, -32602, false);
	cJSON_Delete(o);
}
END_TEST

/* A tools/call of ask_user with the given arguments JSON (NULL: none). */
static cJSON *call_tool(const char *name, const char *args)
{
	char *line = adw_xasprintf("{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"tools/call\","
				   "\"params\":{\"name\":\"%s\"%s%s}}",
				   name, args ? ",\"arguments\":" : "", args ? args : "");
	cJSON *o = call(line);

	free(line);
	return o;
}

/* Asserts o is a tool result with isError and a text containing what. */
static void assert_tool_error(const cJSON *o, const char *what)
{
	ck_assert_msg(cJSON_IsTrue(get(o, "result.isError")), "not a tool error");
	ck_assert_int_eq(get(o, "id")->valueint, 11);
	ck_assert_str_eq(str(o, "result.content.0.type"), "text");
	ck_assert_msg(strstr(str(o, "result.content.0.text"), what), "'%s' lacks '%s'",
		      str(o, "result.content.0.text"), what);
	ck_assert_ptr_null(get(o, "result.structuredContent"));
}

START_TEST(test_call_errors)
{
	static const struct {
		const char *args, *what;
	} bad[] = {
	    {NULL, "'question' is required"},
	    {"{}", "invalid arguments: 'question' is required"},
	    {"null", "'question' is required"},
	    {"{\"question\":\"\"}", "'question' must not be empty"},
	    {"{\"question\":\"q\",\"options\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\","
	     "\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"]}",
	     "'options' has more than 16 entries"},
	    {"{\"question\":\"q\",\"options\":[\"a\"],\"default\":\"b\"}", "one of the 'options'"},
	    {"{\"question\":\"q\",\"extra\":1}", "unknown member 'extra'"},
	};
	cJSON *o;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		o = call_tool("ask_user", bad[i].args);
		assert_tool_error(o, bad[i].what);
		cJSON_Delete(o);
	}
	/* Good arguments, but adw-mcp was not started by adw-run. */
	o = call_tool("ask_user", "{\"question\":\"q\"}");
	assert_tool_error(o, "adw-mcp: ADW_ASK_SOCKET is not set (not started by adw-run)");
	ck_assert_str_eq(str(o, "result.content.0.text"),
			 "adw-mcp: ADW_ASK_SOCKET is not set (not started by adw-run)");
	cJSON_Delete(o);
	adw_mcp_init(&m, "");
	o = call_tool("ask_user", "{\"question\":\"q\"}");
	assert_tool_error(o, "ADW_ASK_SOCKET is not set");
	cJSON_Delete(o);
	/* A socket nobody listens on. */
	adw_mcp_init(&m, "@adw-ask-test-nobody-listens");
	o = call_tool("ask_user", "{\"question\":\"q\"}");
	assert_tool_error(o, "cannot connect to adw-run at '@adw-ask-test-nobody-listens'");
	cJSON_Delete(o);

	/* Protocol errors: unknown tool, no name, arguments not an object. */
	o = call_tool("rm_rf", "{}");
	assert_error(o, -32602, false);
	ck_assert_int_eq(get(o, "id")->valueint, 11);
	ck_assert_ptr_nonnull(strstr(str(o, "error.message"), "rm_rf"));
	cJSON_Delete(o);
	o = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{}}");
	assert_error(o, -32602, false);
	cJSON_Delete(o);
	o = call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\"}");
	assert_error(o, -32602, false);
	cJSON_Delete(o);
	o = call_tool("ask_user", "[\"q\"]");
	assert_error(o, -32602, false);
	cJSON_Delete(o);
}
END_TEST

/* The adw-run side: one served question on a real ask socket. */
static struct {
	int lfd;
	pthread_t t;
	char *name;
	const char *answer, *why;
	char *question, *options, *context, *dflt;
} srv;

static int srv_ask(void *ud, const struct adw_question_req *q, char **answer, char **why)
{
	char *s = adw_xstrdup("");
	int i;

	srv.question = adw_xstrdup(q->question);
	for (i = 0; i < q->noptions; i++) {
		char *t = adw_xasprintf("%s%s%s", s, i ? "|" : "", q->options[i]);

		free(s);
		s = t;
	}
	srv.options = s;
	srv.context = adw_xstrdup(q->context);
	srv.dflt = adw_xstrdup(q->default_answer);
	if (srv.answer) {
		*answer = adw_xstrdup(srv.answer);
		return 0;
	}
	*why = adw_xstrdup(srv.why);
	return -1;
}

static void *srv_main(void *arg)
{
	struct pollfd p = {.fd = srv.lfd, .events = POLLIN};

	if (poll(&p, 1, 10000) == 1)
		adw_ask_serve(srv.lfd, srv_ask, NULL);
	return NULL;
}

static void srv_start(const char *answer, const char *why)
{
	struct adw_err err = {0};

	memset(&srv, 0, sizeof(srv));
	srv.answer = answer;
	srv.why = why;
	srv.name = adw_ask_socket_name();
	srv.lfd = adw_ask_listen(srv.name, &err);
	ck_assert_msg(srv.lfd >= 0, "%s", err.msg);
	ck_assert_int_eq(pthread_create(&srv.t, NULL, srv_main, NULL), 0);
	adw_mcp_init(&m, srv.name);
}

static void srv_stop(void)
{
	ck_assert_int_eq(pthread_join(srv.t, NULL), 0);
	close(srv.lfd);
}

static void srv_release(void)
{
	free(srv.name);
	free(srv.question);
	free(srv.options);
	free(srv.context);
	free(srv.dflt);
}

START_TEST(test_call_ask_user)
{
	cJSON *o;

	srv_start("Use PostgreSQL \"15\"", NULL);
	o = call_tool("ask_user", "{\"question\":\"Which database?\",\"options\":[\"SQLite\","
				  "\"Use PostgreSQL \\\"15\\\"\"],\"context\":\"Both work.\","
				  "\"default\":\"SQLite\"}");
	srv_stop();
	ck_assert_int_eq(get(o, "id")->valueint, 11);
	ck_assert(cJSON_IsFalse(get(o, "result.isError")));
	ck_assert_int_eq(cJSON_GetArraySize(get(o, "result.content")), 1);
	ck_assert_str_eq(str(o, "result.content.0.type"), "text");
	ck_assert_str_eq(str(o, "result.content.0.text"), "Use PostgreSQL \"15\"");
	ck_assert_str_eq(str(o, "result.structuredContent.answer"), "Use PostgreSQL \"15\"");
	ck_assert_str_eq(srv.question, "Which database?");
	ck_assert_str_eq(srv.options, "SQLite|Use PostgreSQL \"15\"");
	ck_assert_str_eq(srv.context, "Both work.");
	ck_assert_str_eq(srv.dflt, "SQLite");
	cJSON_Delete(o);
	srv_release();

	/* adw-run's refusal comes back as a tool error with its text. */
	srv_start(NULL, "the question timed out and has no default");
	o = call_tool("ask_user", "{\"question\":\"Still there?\"}");
	srv_stop();
	assert_tool_error(o, "the question timed out and has no default");
	ck_assert_str_eq(srv.question, "Still there?");
	ck_assert_ptr_null(srv.context);
	ck_assert_ptr_null(srv.dflt);
	cJSON_Delete(o);
	srv_release();
}
END_TEST

/* Runs adw_mcp_serve over input; returns the output (caller frees). */
static char *serve_text(const char *input, size_t len)
{
	FILE *in = fmemopen((void *)input, len, "r");
	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);

	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(adw_mcp_serve(&m, in, f), 0);
	fclose(in);
	fclose(f);
	return out;
}

START_TEST(test_serve_loop)
{
	static const char input[] =
	    "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
	    "\"protocolVersion\":"
	    "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}"
	    "\r\n"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n"
	    "\n"
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}\n"
	    "{oops\n"
	    "{\"jsonrpc\":\"2.0\",\"id\":\"last\",\"method\":\"ping\"}";
	char *out = serve_text(input, sizeof(input) - 1), *line, *save = NULL;
	int n = 0;
	cJSON *o;

	ck_assert_int_eq(out[strlen(out) - 1], '\n');
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
		o = cJSON_Parse(line);
		ck_assert_msg(o != NULL, "bad line %s", line);
		switch (n) {
		case 0: ck_assert_str_eq(str(o, "result.protocolVersion"), "2025-06-18"); break;
		case 1: ck_assert_str_eq(str(o, "result.tools.0.name"), "ask_user"); break;
		case 2: assert_error(o, -32700, true); break;
		case 3: ck_assert_str_eq(str(o, "id"), "last"); break;
		default: ck_abort_msg("extra line %s", line);
		}
		cJSON_Delete(o);
	}
	ck_assert_int_eq(n, 4);
	free(out);
}
END_TEST

START_TEST(test_serve_long_lines)
{
	/* A message over the limit is refused; the next one is served. */
	size_t big = ADW_MCP_LINE_MAX + 10;
	const char *tail = "\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\n";
	char *input = adw_xmalloc(big + strlen(tail) + 1), *out;

	memset(input, 'x', big);
	memcpy(input + big, tail, strlen(tail) + 1);
	out = serve_text(input, strlen(input));
	ck_assert_str_eq(out, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
			      "\"message\":\"Invalid Request: message longer than 10485760 "
			      "bytes\"}}\n{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}\n");
	free(out);
	free(input);

	/* A long message under the limit is read whole (context of 1 MB). */
	{
		size_t clen = 1 << 20;
		char *ctx = adw_xmalloc(clen + 1);
		char *line;

		memset(ctx, 'c', clen);
		ctx[clen] = '\0';
		line =
		    adw_xasprintf("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\","
				  "\"params\":{\"name\":\"ask_user\",\"arguments\":{\"question\":"
				  "\"q\",\"context\":\"%s\"}}}\n",
				  ctx);
		adw_mcp_init(&m, "@adw-ask-test-unused");
		out = serve_text(line, strlen(line));
		/* Valid, but too long for one line of the ask bridge: a tool error. */
		ck_assert_ptr_nonnull(strstr(out, "\"isError\":true"));
		ck_assert_ptr_nonnull(strstr(out, "request too long"));
		free(out);
		free(line);
		free(ctx);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("adw_mcp");
	TCase *tc = tcase_create("mcp");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_initialize);
	tcase_add_test(tc, test_notifications);
	tcase_add_test(tc, test_tools_list);
	tcase_add_test(tc, test_ping_and_ids);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_call_errors);
	tcase_add_test(tc, test_call_ask_user);
	tcase_add_test(tc, test_serve_loop);
	tcase_add_test(tc, test_serve_long_lines);
	suite_add_tcase(s, tc);
	return testlib_run(s);
}
