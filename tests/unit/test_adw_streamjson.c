/* SPDX-License-Identifier: MIT */
/* The stream-json reader, fed lines shaped like agent-protocols.md §1.2. */
#include <stdlib.h>
#include <string.h>

#include "adw_buf.h"
#include "adw_streamjson.h"
#include "testlib.h"

struct seen {
	enum adw_event_category cat;
	char *type;
	char *content;
	char *summary;
	cJSON *payload;
};

struct collector {
	struct seen ev[64];
	size_t n;
};

static int collect(void *ud, struct adw_event *ev)
{
	struct collector *c = ud;
	struct seen *s;

	ck_assert_uint_lt(c->n, 64);
	s = &c->ev[c->n++];
	s->cat = ev->category;
	s->type = strdup(ev->type);
	s->content = ev->content ? strdup(ev->content) : NULL;
	s->summary = ev->summary ? strdup(ev->summary) : NULL;
	s->payload = ev->payload ? cJSON_Duplicate(ev->payload, 1) : NULL;
	return 0;
}

static void collector_release(struct collector *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->ev[i].type);
		free(c->ev[i].content);
		free(c->ev[i].summary);
		cJSON_Delete(c->ev[i].payload);
	}
	c->n = 0;
}

/* Shared state of one test: a reader, its result and the events. */
static struct adw_streamjson sj;
static struct adw_step_result res;
static struct collector col;

static void setup(void)
{
	memset(&res, 0, sizeof(res));
	memset(&col, 0, sizeof(col));
	adw_streamjson_init(&sj, collect, &col, &res);
}

static void teardown(void)
{
	adw_streamjson_release(&sj);
	adw_step_result_release(&res);
	collector_release(&col);
}

static void feed(const char *line)
{
	adw_streamjson_feed_line(&sj, line, strlen(line));
}

static void feed_bytes(const char *s)
{
	adw_streamjson_feed(&sj, s, strlen(s));
}

static const char *pstr(const struct seen *s, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s->payload, key));
}

static const cJSON *pitem(const struct seen *s, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(s->payload, key);
}

static void assert_event(size_t i, enum adw_event_category cat, const char *type)
{
	ck_assert_uint_lt(i, col.n);
	ck_assert_int_eq(col.ev[i].cat, cat);
	ck_assert_str_eq(col.ev[i].type, type);
}

#define SID "924a628c-1f4e-4c1b-9d7a-2b1a6f3e5d10"
#define USAGE_SNAPSHOT                                                                             \
	"\"usage\":{\"input_tokens\":10,\"cache_creation_input_tokens\":6843,"                     \
	"\"cache_read_input_tokens\":17098,\"cache_creation\":{\"ephemeral_5m_input_tokens\":0,"   \
	"\"ephemeral_1h_input_tokens\":6843},\"output_tokens\":4,\"service_tier\":\"standard\"}"
#define ASSISTANT(block)                                                                           \
	"{\"type\":\"assistant\",\"message\":{\"model\":\"claude-sonnet-4-5-20250929\","           \
	"\"id\":\"msg_01AbC\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[" block     \
	"],\"stop_reason\":null,\"stop_sequence\":null," USAGE_SNAPSHOT                            \
	",\"context_management\":null},\"parent_tool_use_id\":null,\"session_id\":\"" SID          \
	"\",\"uuid\":\"u-1\",\"request_id\":\"req_011X\"}"
#define TOOL_RESULT(id, content, extra)                                                            \
	"{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":[{\"tool_use_id\":\"" id    \
	"\",\"type\":\"tool_result\",\"content\":" content extra "}]},"                            \
	"\"parent_tool_use_id\":null,\"session_id\":\"" SID "\",\"uuid\":\"u-2\","                 \
	"\"timestamp\":\"2026-07-12T07:43:54.022Z\",\"tool_use_result\":{\"stdout\":\"x\"}}"

static const char init_line[] =
    "{\"type\":\"system\",\"subtype\":\"init\",\"cwd\":\"/repo\",\"session_id\":\"" SID "\","
    "\"tools\":[\"Task\",\"Bash\",\"Read\",\"Write\"],"
    "\"mcp_servers\":[{\"name\":\"orchestrator\",\"status\":\"connected\"}],"
    "\"model\":\"claude-sonnet-4-5-20250929\",\"permissionMode\":\"acceptEdits\","
    "\"slash_commands\":[\"compact\",\"review\"],\"apiKeySource\":\"ANTHROPIC_API_KEY\","
    "\"claude_code_version\":\"2.1.240\",\"output_style\":\"default\","
    "\"agents\":[\"general-purpose\"],\"skills\":[],\"plugins\":[],\"uuid\":\"u-0\","
    "\"fast_mode_state\":\"off\"}";

static const char success_line[] =
    "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"api_error_status\":null,"
    "\"duration_ms\":7205,\"duration_api_ms\":7762,\"num_turns\":2,"
    "\"result\":\"Done. All good\","
    "\"stop_reason\":\"end_turn\",\"session_id\":\"" SID "\",\"total_cost_usd\":0.0205089,"
    "\"usage\":{\"input_tokens\":18,\"cache_creation_input_tokens\":7165,"
    "\"cache_read_input_tokens\":41039,\"output_tokens\":294,"
    "\"server_tool_use\":{\"web_search_requests\":0,\"web_fetch_requests\":0},"
    "\"service_tier\":\"standard\"},"
    "\"modelUsage\":{\"claude-haiku-4-5-20251001\":{\"inputTokens\":540,\"outputTokens\":307,"
    "\"costUSD\":0.0205089,\"contextWindow\":200000}},"
    "\"permission_denials\":[],\"terminal_reason\":\"completed\",\"fast_mode_state\":\"off\","
    "\"uuid\":\"u-9\"}";

START_TEST(test_init)
{
	const cJSON *tools;

	feed(init_line);
	ck_assert_uint_eq(col.n, 1);
	assert_event(0, ADW_CAT_SYSTEM, "SystemInfo");
	ck_assert_str_eq(col.ev[0].content, "Claude Code 2.1.240 started: session " SID
					    ", model claude-sonnet-4-5-20250929");
	ck_assert_ptr_null(col.ev[0].summary);
	ck_assert_str_eq(pstr(&col.ev[0], "subtype"), "init");
	ck_assert_str_eq(pstr(&col.ev[0], "cwd"), "/repo");
	ck_assert_str_eq(pstr(&col.ev[0], "permissionMode"), "acceptEdits");
	ck_assert_str_eq(pstr(&col.ev[0], "claude_code_version"), "2.1.240");
	tools = pitem(&col.ev[0], "tools");
	ck_assert(cJSON_IsArray(tools));
	ck_assert_int_eq(cJSON_GetArraySize(tools), 4);
	ck_assert(cJSON_IsArray(pitem(&col.ev[0], "mcp_servers")));
	ck_assert_ptr_null(pitem(&col.ev[0], "slash_commands"));
	ck_assert_str_eq(res.session_id, SID);
	ck_assert(!sj.got_result);
}
END_TEST

START_TEST(test_text_and_thinking_blocks)
{
	feed(ASSISTANT("{\"type\":\"thinking\",\"thinking\":\"Let me look.\","
		       "\"signature\":\"EqQBCkYIBxgC\"}"));
	feed(ASSISTANT("{\"type\":\"text\",\"text\":\"Hello there\"}"));
	feed(ASSISTANT("{\"type\":\"redacted_thinking\",\"data\":\"EmwKAhgBEgy3va3\"}"));
	ck_assert_uint_eq(col.n, 3);
	assert_event(0, ADW_CAT_RESPONSE, "ThinkingBlock");
	ck_assert_str_eq(col.ev[0].content, "Let me look.");
	ck_assert_str_eq(pstr(&col.ev[0], "thinking"), "Let me look.");
	ck_assert_str_eq(pstr(&col.ev[0], "message_id"), "msg_01AbC");
	ck_assert_ptr_null(pitem(&col.ev[0], "signature"));
	ck_assert_ptr_null(col.ev[0].summary);
	assert_event(1, ADW_CAT_RESPONSE, "TextBlock");
	ck_assert_str_eq(col.ev[1].content, "Hello there");
	ck_assert_str_eq(pstr(&col.ev[1], "text"), "Hello there");
	ck_assert_str_eq(pstr(&col.ev[1], "message_id"), "msg_01AbC");
	assert_event(2, ADW_CAT_RESPONSE, "ThinkingBlock");
	ck_assert_str_eq(col.ev[2].content, "[redacted]");
	/* Session id taken from the lines even without an init. */
	ck_assert_str_eq(res.session_id, SID);
}
END_TEST

START_TEST(test_several_blocks_in_one_line)
{
	feed(ASSISTANT("{\"type\":\"text\",\"text\":\"Running tests\"},"
		       "{\"type\":\"tool_use\",\"id\":\"toolu_01A\",\"name\":\"Bash\","
		       "\"input\":{\"command\":\"make test\",\"description\":\"Run tests\"},"
		       "\"caller\":{\"type\":\"direct\"}}"));
	ck_assert_uint_eq(col.n, 3);
	assert_event(0, ADW_CAT_RESPONSE, "TextBlock");
	assert_event(1, ADW_CAT_RESPONSE, "ToolUseBlock");
	ck_assert_str_eq(col.ev[1].content, "[Tool] Bash");
	ck_assert_str_eq(pstr(&col.ev[1], "tool_name"), "Bash");
	ck_assert_str_eq(pstr(&col.ev[1], "tool_use_id"), "toolu_01A");
	ck_assert_str_eq(
	    cJSON_GetStringValue(cJSON_GetObjectItem(pitem(&col.ev[1], "tool_input"), "command")),
	    "make test");
	assert_event(2, ADW_CAT_HOOK, "PreToolUse");
	ck_assert_str_eq(col.ev[2].content, "Using tool: Bash");
	ck_assert_str_eq(pstr(&col.ev[2], "tool_use_id"), "toolu_01A");
	ck_assert(cJSON_IsObject(pitem(&col.ev[2], "tool_input")));
}
END_TEST

START_TEST(test_tool_pairing)
{
	const cJSON *input;

	feed(ASSISTANT("{\"type\":\"tool_use\",\"id\":\"toolu_B\",\"name\":\"Bash\","
		       "\"input\":{\"command\":\"cat nope\"}}"));
	feed(ASSISTANT("{\"type\":\"tool_use\",\"id\":\"toolu_R\",\"name\":\"Read\","
		       "\"input\":{\"file_path\":\"/repo/main.c\"}}"));
	ck_assert_uint_eq(col.n, 4);
	/* Results out of order; the first as an array of blocks. */
	feed(TOOL_RESULT("toolu_R",
			 "[{\"type\":\"text\",\"text\":\"1\\tint main;\"},"
			 "{\"type\":\"image\",\"source\":{}},"
			 "{\"type\":\"text\",\"text\":\"2\\t\"}]",
			 ""));
	ck_assert_uint_eq(col.n, 6);
	assert_event(4, ADW_CAT_RESPONSE, "ToolResultBlock");
	ck_assert_str_eq(col.ev[4].content, "1\tint main;\n[image]\n2\t");
	ck_assert_str_eq(pstr(&col.ev[4], "tool_name"), "Read");
	ck_assert_str_eq(pstr(&col.ev[4], "tool_use_id"), "toolu_R");
	ck_assert_str_eq(pstr(&col.ev[4], "content"), "1\tint main;\n[image]\n2\t");
	ck_assert(cJSON_IsFalse(pitem(&col.ev[4], "is_error")));
	assert_event(5, ADW_CAT_HOOK, "PostToolUse");
	ck_assert_str_eq(col.ev[5].content, "PostToolUse: Read");
	input = pitem(&col.ev[5], "tool_input");
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(input, "file_path")),
			 "/repo/main.c");
	ck_assert_str_eq(pstr(&col.ev[5], "tool_response"), "1\tint main;\n[image]\n2\t");

	feed(TOOL_RESULT("toolu_B", "\"Error: Exit code 1\\ncat: nope: No such file\"",
			 ",\"is_error\":true"));
	ck_assert_uint_eq(col.n, 8);
	ck_assert_str_eq(pstr(&col.ev[6], "tool_name"), "Bash");
	ck_assert(cJSON_IsTrue(pitem(&col.ev[6], "is_error")));
	ck_assert_str_eq(col.ev[6].content, "Error: Exit code 1\ncat: nope: No such file");
	ck_assert_str_eq(col.ev[7].content, "PostToolUse: Bash");
	ck_assert(cJSON_IsTrue(pitem(&col.ev[7], "is_error")));
	ck_assert_uint_eq(sj.ntools, 0);

	/* A result nobody asked for still shows, unnamed. */
	feed(TOOL_RESULT("toolu_X", "\"late\"", ""));
	ck_assert_uint_eq(col.n, 10);
	ck_assert_str_eq(pstr(&col.ev[8], "tool_name"), "unknown");
	ck_assert(cJSON_IsNull(pitem(&col.ev[9], "tool_input")));
}
END_TEST

START_TEST(test_usage_not_summed)
{
	feed(init_line);
	feed(ASSISTANT("{\"type\":\"thinking\",\"thinking\":\"a\",\"signature\":\"s\"}"));
	feed(ASSISTANT("{\"type\":\"text\",\"text\":\"b\"}"));
	feed(ASSISTANT("{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"Glob\","
		       "\"input\":{\"pattern\":\"*.c\"}}"));
	ck_assert_int_eq(res.input_tokens, 0);
	ck_assert_int_eq(res.output_tokens, 0);
	feed(success_line);
	ck_assert_int_eq(res.input_tokens, 18);
	ck_assert_int_eq(res.output_tokens, 294);
}
END_TEST

START_TEST(test_success_result)
{
	struct seen *r, *stop;

	feed(init_line);
	feed(success_line);
	ck_assert_uint_eq(col.n, 3);
	r = &col.ev[1];
	stop = &col.ev[2];
	assert_event(1, ADW_CAT_RESPONSE, "Result");
	ck_assert_str_eq(r->content, "Done. All good");
	ck_assert_str_eq(pstr(r, "subtype"), "success");
	ck_assert(cJSON_IsFalse(pitem(r, "is_error")));
	ck_assert(cJSON_IsObject(pitem(r, "usage")));
	ck_assert(cJSON_IsObject(pitem(r, "modelUsage")));
	ck_assert(cJSON_IsNumber(pitem(r, "total_cost_usd")));
	ck_assert(cJSON_IsNull(pitem(r, "api_error_status")));
	ck_assert(cJSON_IsArray(pitem(r, "permission_denials")));
	ck_assert_str_eq(pstr(r, "terminal_reason"), "completed");
	ck_assert_ptr_null(pitem(r, "uuid"));
	assert_event(2, ADW_CAT_HOOK, "Stop");
	ck_assert_str_eq(stop->content, "Agent stopped: completed");

	ck_assert(sj.got_result);
	ck_assert(res.ok);
	ck_assert_ptr_null(res.error);
	ck_assert_str_eq(res.subtype, "success");
	ck_assert_str_eq(res.result_text, "Done. All good");
	ck_assert_str_eq(res.session_id, SID);
	ck_assert_double_eq_tol(res.cost_usd, 0.0205089, 1e-9);
	ck_assert_int_eq(res.duration_ms, 7205);
	ck_assert_int_eq(res.num_turns, 2);
}
END_TEST

START_TEST(test_api_error_is_failure)
{
	feed("{\"type\":\"assistant\",\"message\":{\"id\":\"x\",\"model\":\"<synthetic>\","
	     "\"role\":\"assistant\",\"type\":\"message\",\"content\":[{\"type\":\"text\","
	     "\"text\":\"API Error: 529 Overloaded\"}]},\"parent_tool_use_id\":null,"
	     "\"session_id\":\"" SID "\",\"uuid\":\"u\",\"error\":\"overloaded\"}");
	feed("{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":true,"
	     "\"api_error_status\":529,\"duration_ms\":31874,\"num_turns\":1,"
	     "\"result\":\"API Error: 529 Overloaded\",\"stop_reason\":\"stop_sequence\","
	     "\"session_id\":\"" SID "\",\"total_cost_usd\":0,\"usage\":{\"input_tokens\":0,"
	     "\"output_tokens\":0},\"modelUsage\":{},\"permission_denials\":[],"
	     "\"terminal_reason\":\"api_error\"}");
	ck_assert_uint_eq(col.n, 3);
	assert_event(0, ADW_CAT_RESPONSE, "TextBlock");
	ck_assert_str_eq(pstr(&col.ev[0], "error"), "overloaded");
	assert_event(1, ADW_CAT_RESPONSE, "Result");
	ck_assert_str_eq(col.ev[2].content, "Agent stopped: api_error");
	ck_assert(sj.got_result);
	ck_assert(!res.ok);
	ck_assert_str_eq(res.subtype, "success");
	ck_assert_str_eq(res.error, "claude reported an error (api_error_status 529): "
				    "API Error: 529 Overloaded");
}
END_TEST

START_TEST(test_max_turns_without_result_key)
{
	feed("{\"type\":\"result\",\"subtype\":\"error_max_turns\",\"duration_ms\":4120,"
	     "\"duration_api_ms\":3870,\"is_error\":true,\"num_turns\":2,"
	     "\"stop_reason\":\"tool_use\",\"session_id\":\"" SID "\","
	     "\"total_cost_usd\":0.0113374,\"usage\":{\"input_tokens\":10,\"output_tokens\":61},"
	     "\"modelUsage\":{},\"permission_denials\":[],\"terminal_reason\":\"max_turns\","
	     "\"errors\":[\"Reached maximum number of turns (1)\"]}");
	ck_assert_uint_eq(col.n, 2);
	ck_assert_str_eq(col.ev[0].content, "Reached maximum number of turns (1)");
	ck_assert(cJSON_IsArray(pitem(&col.ev[0], "errors")));
	ck_assert_str_eq(col.ev[1].content, "Agent stopped: max_turns");
	ck_assert(!res.ok);
	ck_assert_ptr_null(res.result_text);
	ck_assert_str_eq(res.subtype, "error_max_turns");
	ck_assert_str_eq(res.error, "claude: error_max_turns: Reached maximum number of turns (1)");
	ck_assert_int_eq(res.num_turns, 2);
	ck_assert_int_eq(res.output_tokens, 61);
}
END_TEST

START_TEST(test_unknown_types_kept)
{
	feed("{\"type\":\"rate_limit_event\",\"rate_limit_info\":{\"status\":\"allowed_warning\","
	     "\"resetsAt\":1767225600,\"rateLimitType\":\"five_hour\"},"
	     "\"session_id\":\"" SID "\"}");
	feed("{\"type\":\"system\",\"subtype\":\"api_retry\",\"attempt\":1,\"max_retries\":10,"
	     "\"retry_delay_ms\":1200,\"error_status\":529}");
	feed("{\"type\":\"stream_event\",\"event\":{\"type\":\"message_start\"}}");
	feed("{\"no_type\":1}");
	ck_assert_uint_eq(col.n, 4);
	for (size_t i = 0; i < 4; i++)
		assert_event(i, ADW_CAT_SYSTEM, "SystemInfo");
	ck_assert_str_eq(col.ev[0].summary, "claude: rate_limit_event");
	ck_assert_str_eq(cJSON_GetStringValue(
			     cJSON_GetObjectItem(pitem(&col.ev[0], "rate_limit_info"), "status")),
			 "allowed_warning");
	ck_assert_str_eq(pstr(&col.ev[0], "type"), "rate_limit_event");
	ck_assert_str_eq(col.ev[1].summary, "claude: system/api_retry");
	ck_assert_int_eq((int)cJSON_GetNumberValue(pitem(&col.ev[1], "attempt")), 1);
	ck_assert_str_eq(col.ev[2].summary, "claude: stream_event");
	ck_assert_str_eq(col.ev[3].summary, "claude: (no type)");
	ck_assert(!sj.got_result);
}
END_TEST

START_TEST(test_not_json)
{
	feed("\x1b[?1004l");
	feed("42");
	feed("{\"type\":\"assistant\",");
	feed("");
	feed("  \r");
	ck_assert_uint_eq(col.n, 3);
	assert_event(0, ADW_CAT_SYSTEM, "SystemWarning");
	ck_assert_str_eq(col.ev[0].content, "\x1b[?1004l");
	ck_assert_ptr_nonnull(strstr(col.ev[0].summary, "non-JSON"));
	assert_event(1, ADW_CAT_SYSTEM, "SystemWarning");
	ck_assert_str_eq(col.ev[1].content, "42");
	assert_event(2, ADW_CAT_SYSTEM, "SystemWarning");
	ck_assert_uint_eq(sj.lines, 3);
}
END_TEST

/* A 10 MB tool_result line, arriving in odd-sized chunks. */
START_TEST(test_big_line)
{
	struct adw_buf line;
	size_t big = 10u << 20, off = 0;

	adw_buf_init(&line, 0);
	ck_assert_int_eq(adw_buf_adds(&line, ASSISTANT("{\"type\":\"tool_use\",\"id\":\"t_big\","
						       "\"name\":\"Read\",\"input\":{"
						       "\"file_path\":\"/repo/big.txt\"}}") "\n"),
			 0);
	ck_assert_int_eq(adw_buf_adds(&line, "{\"type\":\"user\",\"message\":{\"role\":\"user\","
					     "\"content\":[{\"tool_use_id\":\"t_big\","
					     "\"type\":\"tool_result\",\"content\":\""),
			 0);
	{
		/* 'y's with an "é" every 100 bytes, so the clip must respect UTF-8. */
		char *fill = malloc(big);

		memset(fill, 'y', big);
		for (size_t i = 98; i + 1 < big; i += 100)
			memcpy(fill + i, "\xc3\xa9", 2);
		ck_assert_int_eq(adw_buf_add(&line, fill, big), 0);
		free(fill);
	}
	ck_assert_int_eq(adw_buf_adds(&line, "\"}]},\"session_id\":\"" SID "\"}\r\n"), 0);
	while (off < line.len) {
		size_t n = line.len - off < 65537 ? line.len - off : 65537;

		adw_streamjson_feed(&sj, line.data + off, n);
		off += n;
	}
	adw_streamjson_finish(&sj);
	adw_buf_release(&line);

	ck_assert_uint_eq(col.n, 4);
	assert_event(2, ADW_CAT_RESPONSE, "ToolResultBlock");
	ck_assert_str_eq(pstr(&col.ev[2], "tool_name"), "Read");
	ck_assert_uint_le(strlen(col.ev[2].content), 4003);
	ck_assert_uint_ge(strlen(col.ev[2].content), 3990);
	ck_assert_ptr_nonnull(strstr(col.ev[2].content, "..."));
	ck_assert_str_eq(col.ev[2].content, pstr(&col.ev[2], "content"));
	assert_event(3, ADW_CAT_HOOK, "PostToolUse");
	ck_assert_uint_le(strlen(pstr(&col.ev[3], "tool_response")), 2003);
	ck_assert_int_eq(sj.dropped, 0);
}
END_TEST

/* Byte-at-a-time input, CRLF endings and a last line without '\n'. */
START_TEST(test_feed_splits_lines)
{
	static const char stream[] =
	    "{\"type\":\"system\",\"subtype\":\"status\",\"status\":\"requesting\"}\r\n"
	    "\n"
	    "not json\n"
	    "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,"
	    "\"result\":\"ok\"}";

	for (size_t i = 0; i < sizeof(stream) - 1; i++)
		adw_streamjson_feed(&sj, stream + i, 1);
	ck_assert_uint_eq(col.n, 2);
	adw_streamjson_finish(&sj);
	ck_assert_uint_eq(col.n, 4);
	ck_assert_str_eq(col.ev[0].summary, "claude: system/status");
	assert_event(1, ADW_CAT_SYSTEM, "SystemWarning");
	ck_assert_str_eq(col.ev[1].content, "not json");
	assert_event(2, ADW_CAT_RESPONSE, "Result");
	ck_assert(res.ok);
}
END_TEST

START_TEST(test_line_cap_drops)
{
	char big[5000];

	memset(big, 'z', sizeof(big));
	sj.max_line = 1000;
	feed_bytes("{\"type\":\"x\",\"pad\":\"");
	adw_streamjson_feed(&sj, big, sizeof(big));
	adw_streamjson_feed(&sj, big, sizeof(big));
	feed_bytes("\"}\n{\"type\":\"result\",\"is_error\":false,\"result\":\"r\"}\n");
	ck_assert_int_eq(sj.dropped, 1);
	ck_assert_uint_eq(col.n, 3);
	assert_event(0, ADW_CAT_SYSTEM, "SystemWarning");
	ck_assert_ptr_nonnull(strstr(col.ev[0].content, "longer than 1000 bytes"));
	assert_event(1, ADW_CAT_RESPONSE, "Result");
	ck_assert_str_eq(res.result_text, "r");
	ck_assert(res.ok);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("adw_streamjson");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_init);
	tcase_add_test(tc, test_text_and_thinking_blocks);
	tcase_add_test(tc, test_several_blocks_in_one_line);
	tcase_add_test(tc, test_tool_pairing);
	tcase_add_test(tc, test_usage_not_summed);
	tcase_add_test(tc, test_success_result);
	tcase_add_test(tc, test_api_error_is_failure);
	tcase_add_test(tc, test_max_turns_without_result_key);
	tcase_add_test(tc, test_unknown_types_kept);
	tcase_add_test(tc, test_not_json);
	tcase_add_test(tc, test_big_line);
	tcase_add_test(tc, test_feed_splits_lines);
	tcase_add_test(tc, test_line_cap_drops);
	suite_add_tcase(s, tc);
	return testlib_run(s);
}
