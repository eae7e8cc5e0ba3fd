/* SPDX-License-Identifier: MIT */
/*
 * adw-mcp's protocol side: JSON-RPC 2.0 dispatch of one line at a time
 * (initialize, ping, tools/list, tools/call of ask_user) and the stdio
 * loop around it. Replies are built as cJSON trees and printed unformatted,
 * so they never hold a raw newline.
 */
#include "adw_mcp.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adw_ask.h"
#include "adw_buf.h"
#include "adw_build.h"
#include "adw_log.h"

/* JSON-RPC 2.0 error codes. */
#define RPC_PARSE_ERROR (-32700)
#define RPC_INVALID_REQUEST (-32600)
#define RPC_METHOD_NOT_FOUND (-32601)
#define RPC_INVALID_PARAMS (-32602)

#define NO_SOCKET "adw-mcp: ADW_ASK_SOCKET is not set (not started by adw-run)"

/* Newest first; the first is what an unknown version gets. */
static const char *const protocol_versions[] = {
    ADW_MCP_PROTOCOL_LATEST,
    "2025-06-18",
    "2025-03-26",
    "2024-11-05",
};

void adw_mcp_init(struct adw_mcp *m, const char *ask_socket)
{
	memset(m, 0, sizeof(*m));
	m->ask_socket = ask_socket;
}

static void *check_mem(void *p)
{
	if (!p)
		adw_bug("out of memory");
	return p;
}

/* Prints root on one line and deletes it; the string is the caller's (free()). */
static char *print_take(cJSON *root)
{
	char *json = check_mem(cJSON_PrintUnformatted(root));
	char *s = adw_xstrdup(json);

	cJSON_free(json);
	cJSON_Delete(root);
	return s;
}

/* {"jsonrpc":"2.0","id":<id or null>} */
static cJSON *envelope(const cJSON *id)
{
	cJSON *o = check_mem(cJSON_CreateObject());

	cJSON_AddStringToObject(o, "jsonrpc", "2.0");
	cJSON_AddItemToObject(o, "id", check_mem(id ? cJSON_Duplicate(id, 1) : cJSON_CreateNull()));
	return o;
}

/* A JSON-RPC error reply; id NULL = null. data (may be NULL) is taken. */
static char *error_reply(const cJSON *id, int code, const char *message, cJSON *data)
{
	cJSON *o = envelope(id);
	cJSON *e = check_mem(cJSON_AddObjectToObject(o, "error"));

	cJSON_AddNumberToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", message);
	if (data)
		cJSON_AddItemToObject(e, "data", data);
	return print_take(o);
}

/* A JSON-RPC result reply; result is taken. */
static char *result_reply(const cJSON *id, cJSON *result)
{
	cJSON *o = envelope(id);

	cJSON_AddItemToObject(o, "result", result);
	return print_take(o);
}

/* The ask_user tool as tools/list describes it. */
static cJSON *ask_tool(void)
{
	char *json = adw_xasprintf(
	    "{\"name\":\"" ADW_MCP_TOOL_ASK "\",\"title\":\"Ask the user\","
	    "\"description\":\"Ask the person supervising this workflow a question and wait for "
	    "the answer. Use it when you need a decision from a person: to choose between "
	    "options, to approve a risky or irreversible change, or to settle an ambiguity you "
	    "cannot resolve from the task, the code or the documentation. Give the options when "
	    "there is a fixed set of answers, and the context the person needs to decide. It "
	    "blocks until the person answers, which may take a long time; the result is their "
	    "answer as text.\","
	    "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
	    "\"question\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":%d,"
	    "\"description\":\"The question, specific and self-contained\"},"
	    "\"options\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"minLength\":1,"
	    "\"maxLength\":%d},\"maxItems\":%d,\"uniqueItems\":true,"
	    "\"description\":\"The answers to choose from; leave out for a free-text answer\"},"
	    "\"context\":{\"type\":\"string\",\"description\":\"What the person needs to know to "
	    "decide: what you found, the trade-offs, your recommendation\"},"
	    "\"default\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":%d,"
	    "\"description\":\"The answer taken when nobody answers in time; one of the options "
	    "when options are given\"}},"
	    "\"required\":[\"question\"],\"additionalProperties\":false},"
	    "\"outputSchema\":{\"type\":\"object\",\"properties\":{\"answer\":{\"type\":\"string\"}"
	    "},"
	    "\"required\":[\"answer\"]},"
	    "\"annotations\":{\"title\":\"Ask the user\",\"readOnlyHint\":true,"
	    "\"destructiveHint\":false,\"idempotentHint\":false,\"openWorldHint\":false}}",
	    ADW_QUESTION_TEXT_MAX, ADW_QUESTION_TEXT_MAX, ADW_QUESTION_OPTIONS_MAX,
	    ADW_QUESTION_TEXT_MAX);
	cJSON *tool = cJSON_Parse(json);

	if (!tool)
		adw_bug("the ask_user tool definition is not JSON");
	free(json);
	return tool;
}

/* A tools/call result of one text block; structuredContent {"answer"} unless is_error. */
static cJSON *tool_result(const char *text, bool is_error)
{
	cJSON *r = check_mem(cJSON_CreateObject());
	cJSON *content = check_mem(cJSON_AddArrayToObject(r, "content"));
	cJSON *block = check_mem(cJSON_CreateObject());

	cJSON_AddStringToObject(block, "type", "text");
	cJSON_AddStringToObject(block, "text", text);
	cJSON_AddItemToArray(content, block);
	if (!is_error) {
		cJSON *sc = check_mem(cJSON_AddObjectToObject(r, "structuredContent"));

		cJSON_AddStringToObject(sc, "answer", text);
	}
	cJSON_AddBoolToObject(r, "isError", is_error);
	return r;
}

/* Validates the arguments of ask_user and asks adw-run; always a tool result. */
static cJSON *call_ask(struct adw_mcp *m, const cJSON *args)
{
	struct adw_err err = {0};
	struct adw_question_req q;
	const char *opts[ADW_QUESTION_OPTIONS_MAX];
	cJSON *empty = NULL, *result = NULL;
	char *req = NULL, *answer = NULL, *error = NULL, *why = NULL;

	if (!args)
		args = empty = check_mem(cJSON_CreateObject());
	if (adw_ask_parse(args, &q, opts, &err) < 0) {
		why = adw_xasprintf("invalid arguments: %s", err.msg);
		result = tool_result(why, true);
		goto out;
	}
	if (!m->ask_socket || !*m->ask_socket) {
		result = tool_result(NO_SOCKET, true);
		goto out;
	}
	req = check_mem(cJSON_PrintUnformatted(args));
	adw_log_info("ask: question sent to adw-run (%d options)", q.noptions);
	if (adw_ask_request(m->ask_socket, req, &answer, &error) < 0) {
		adw_log_warn("ask: no answer: %s", error);
		result = tool_result(error, true);
		goto out;
	}
	adw_log_info("ask: answered");
	result = tool_result(answer, false);
out:
	cJSON_Delete(empty);
	cJSON_free(req);
	free(answer);
	free(error);
	free(why);
	return result;
}

static char *on_initialize(struct adw_mcp *m, const cJSON *id, const cJSON *params)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, "protocolVersion");
	const char *version = protocol_versions[0];
	cJSON *r, *caps, *info;
	size_t i;

	for (i = 0; cJSON_IsString(v) && i < sizeof(protocol_versions) / sizeof(*protocol_versions);
	     i++) {
		if (!strcmp(v->valuestring, protocol_versions[i]))
			version = protocol_versions[i];
	}
	snprintf(m->protocol, sizeof(m->protocol), "%s", version);
	m->initialized = true;
	r = check_mem(cJSON_CreateObject());
	cJSON_AddStringToObject(r, "protocolVersion", version);
	caps = check_mem(cJSON_AddObjectToObject(r, "capabilities"));
	cJSON_AddFalseToObject(check_mem(cJSON_AddObjectToObject(caps, "tools")), "listChanged");
	info = check_mem(cJSON_AddObjectToObject(r, "serverInfo"));
	cJSON_AddStringToObject(info, "name", "adw");
	cJSON_AddStringToObject(info, "version", ADW_VERSION);
	cJSON_AddStringToObject(r, "instructions",
				"Use the " ADW_MCP_TOOL_ASK " tool when you need a decision from "
				"the person supervising this workflow; it blocks until they "
				"answer.");
	adw_log_debug("mcp: initialize, protocol %s", version);
	return result_reply(id, r);
}

static char *on_tools_call(struct adw_mcp *m, const cJSON *id, const cJSON *params)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(params, "name");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(params, "arguments");
	char *msg, *reply;

	if (!cJSON_IsString(name) || !name->valuestring)
		return error_reply(id, RPC_INVALID_PARAMS,
				   "Invalid params: 'name' must be a string", NULL);
	if (strcmp(name->valuestring, ADW_MCP_TOOL_ASK) != 0) {
		msg = adw_xasprintf("Unknown tool: '%.128s'", name->valuestring);
		reply = error_reply(id, RPC_INVALID_PARAMS, msg, NULL);
		free(msg);
		return reply;
	}
	if (cJSON_IsNull(args))
		args = NULL;
	if (args && !cJSON_IsObject(args))
		return error_reply(id, RPC_INVALID_PARAMS,
				   "Invalid params: 'arguments' must be an object", NULL);
	return result_reply(id, call_ask(m, args));
}

/* Dispatches a request (method a string, id a string or number). */
static char *on_request(struct adw_mcp *m, const cJSON *id, const char *method, const cJSON *params)
{
	cJSON *r, *data;

	if (!strcmp(method, "initialize"))
		return on_initialize(m, id, params);
	if (!strcmp(method, "ping"))
		return result_reply(id, check_mem(cJSON_CreateObject()));
	if (!strcmp(method, "tools/list")) {
		r = check_mem(cJSON_CreateObject());
		cJSON_AddItemToArray(check_mem(cJSON_AddArrayToObject(r, "tools")), ask_tool());
		return result_reply(id, r);
	}
	if (!strcmp(method, "tools/call"))
		return on_tools_call(m, id, params);
	/* Everything else, server/discover included, so modern clients fall back to initialize. */
	data = check_mem(cJSON_CreateObject());
	cJSON_AddStringToObject(data, "method", method);
	return error_reply(id, RPC_METHOD_NOT_FOUND, "Method not found", data);
}

/* Handles one parsed message that is a JSON object. */
static char *on_message(struct adw_mcp *m, const cJSON *msg)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	const cJSON *method = cJSON_GetObjectItemCaseSensitive(msg, "method");
	const cJSON *version = cJSON_GetObjectItemCaseSensitive(msg, "jsonrpc");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "params");

	if (!id && cJSON_IsString(method)) {
		/* A notification (initialized, cancelled, ...): never answered. */
		adw_log_debug("mcp: notification %.64s", method->valuestring);
		return NULL;
	}
	if (!method && id &&
	    (cJSON_HasObjectItem(msg, "result") || cJSON_HasObjectItem(msg, "error")))
		return NULL; /* a response; we send no requests, so nothing waits for it */
	if (id && !cJSON_IsString(id) && !cJSON_IsNumber(id))
		return error_reply(NULL, RPC_INVALID_REQUEST,
				   "Invalid Request: 'id' must be a string or a number", NULL);
	if (!cJSON_IsString(version) || strcmp(version->valuestring, "2.0") != 0)
		return error_reply(id, RPC_INVALID_REQUEST,
				   "Invalid Request: 'jsonrpc' must be \"2.0\"", NULL);
	if (!cJSON_IsString(method) || !method->valuestring)
		return error_reply(id, RPC_INVALID_REQUEST,
				   "Invalid Request: 'method' must be a string", NULL);
	if (cJSON_IsNull(params))
		params = NULL;
	if (params && !cJSON_IsObject(params))
		return error_reply(id, RPC_INVALID_PARAMS,
				   "Invalid params: 'params' must be an object", NULL);
	return on_request(m, id, method->valuestring, params);
}

char *adw_mcp_handle(struct adw_mcp *m, const char *line, size_t len)
{
	cJSON *msg = NULL;
	char *text = NULL, *reply = NULL;
	size_t i;

	if (len && line[len - 1] == '\r')
		len--;
	for (i = 0; i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'); i++) {
	}
	if (i == len)
		return NULL; /* a blank line */
	if (memchr(line, '\0', len)) {
		reply = error_reply(NULL, RPC_PARSE_ERROR, "Parse error: NUL byte in the message",
				    NULL);
		goto out;
	}
	text = adw_xstrndup(line, len);
	msg = cJSON_ParseWithOpts(text, NULL, 1);
	if (!msg)
		reply = error_reply(NULL, RPC_PARSE_ERROR, "Parse error", NULL);
	else if (cJSON_IsArray(msg))
		reply = error_reply(NULL, RPC_INVALID_REQUEST,
				    "Invalid Request: batches are not supported", NULL);
	else if (!cJSON_IsObject(msg))
		reply = error_reply(NULL, RPC_INVALID_REQUEST, "Invalid Request: not a JSON object",
				    NULL);
	else
		reply = on_message(m, msg);
out:
	cJSON_Delete(msg);
	free(text);
	return reply;
}

/* Handles one line and writes the reply, if any. -1 when out failed. */
static int serve_line(struct adw_mcp *m, const struct adw_buf *line, bool too_long, FILE *out)
{
	char *reply;
	int rc = 0;

	if (too_long)
		reply = error_reply(NULL, RPC_INVALID_REQUEST,
				    "Invalid Request: message longer than 10485760 bytes", NULL);
	else
		reply = adw_mcp_handle(m, adw_buf_str(line), line->len);
	if (!reply)
		return 0;
	if (fputs(reply, out) == EOF || putc('\n', out) == EOF || fflush(out) == EOF) {
		adw_log_error("mcp: cannot write a reply: %s", strerror(errno));
		rc = -1;
	}
	free(reply);
	return rc;
}

int adw_mcp_serve(struct adw_mcp *m, FILE *in, FILE *out)
{
	struct adw_buf line;
	char chunk[4096];
	size_t n = 0;
	bool too_long = false;
	int c, rc = -1;

	adw_buf_init(&line, 0);
	for (;;) {
		c = getc(in);
		if (c == EOF && ferror(in) && errno == EINTR) {
			clearerr(in);
			continue;
		}
		if (c != EOF && c != '\n') {
			chunk[n++] = (char)c;
			if (n < sizeof(chunk))
				continue;
		}
		/* The chunk is full, or the line or the input ended: keep what fits. */
		if (!too_long && line.len + n > ADW_MCP_LINE_MAX) {
			too_long = true;
			adw_buf_reset(&line);
		}
		if (!too_long && adw_buf_add(&line, chunk, n) < 0)
			adw_bug("uncapped buffer refused bytes");
		n = 0;
		if (c != EOF && c != '\n')
			continue;
		if (c == EOF && ferror(in)) {
			adw_log_error("mcp: cannot read the input: %s", strerror(errno));
			goto out;
		}
		if ((c == '\n' || line.len || too_long) && serve_line(m, &line, too_long, out) < 0)
			goto out;
		adw_buf_reset(&line);
		too_long = false;
		if (c == EOF)
			break;
	}
	rc = 0;
out:
	adw_buf_release(&line);
	return rc;
}
