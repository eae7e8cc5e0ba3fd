/* SPDX-License-Identifier: MIT */
/*
 * Tests of backend/adw_event: clipping on UTF-8 boundaries, repairing
 * invalid UTF-8, fallback summaries and (with ADW_TEST_DATABASE_URL)
 * inserts into the events table.
 */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adw_db.h"
#include "adw_event.h"
#include "testlib.h"

/*
 * Strict UTF-8 validation as PostgreSQL does it (pg_utf8_islegal): no
 * overlong forms, no surrogates, nothing above U+10FFFF.
 */
static bool utf8_valid(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		unsigned char c = *s;
		size_t n;
		unsigned char lo = 0x80, hi = 0xBF;

		if (c < 0x80) {
			s++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			n = 2;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 3;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 4;
		else
			return false;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
		else if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
		if (s[1] < lo || s[1] > hi)
			return false;
		for (size_t i = 2; i < n; i++) {
			if (s[i] < 0x80 || s[i] > 0xBF)
				return false;
		}
		s += n;
	}
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---- adw_event_clip ---- */

START_TEST(test_clip_ascii)
{
	char *s;

	s = adw_event_clip("hello", 10, 0);
	ck_assert_str_eq(s, "hello");
	free(s);
	s = adw_event_clip("hello", 5, 0);
	ck_assert_str_eq(s, "hello");
	free(s);
	s = adw_event_clip("hello world", 5, 0);
	ck_assert_str_eq(s, "hello...");
	free(s);
	s = adw_event_clip("hello", 0, 0);
	ck_assert_str_eq(s, "...");
	free(s);
	s = adw_event_clip("", 0, 0);
	ck_assert_str_eq(s, "");
	free(s);
	s = adw_event_clip(NULL, 5, 1);
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

START_TEST(test_clip_utf8_boundary)
{
	/* "h" + "é" (2 bytes) + "llo" */
	char *s = adw_event_clip("h\xc3\xa9llo", 2, 0);

	ck_assert_str_eq(s, "h...");
	free(s);
	s = adw_event_clip("h\xc3\xa9llo", 3, 0);
	ck_assert_str_eq(s, "h\xc3\xa9...");
	free(s);
	/* Two 4-byte emoji: a cut anywhere inside the second keeps only the first. */
	for (size_t max = 4; max < 8; max++) {
		s = adw_event_clip("\xf0\x9f\x98\x80\xf0\x9f\x98\x80", max, 0);
		ck_assert_str_eq(s, "\xf0\x9f\x98\x80...");
		free(s);
	}
	for (size_t max = 0; max < 4; max++) {
		s = adw_event_clip("\xf0\x9f\x98\x80\xf0\x9f\x98\x80", max, 0);
		ck_assert_str_eq(s, "...");
		free(s);
	}
	/* "✓" is 3 bytes. */
	s = adw_event_clip("ab\xe2\x9c\x93", 4, 0);
	ck_assert_str_eq(s, "ab...");
	free(s);
}
END_TEST

START_TEST(test_clip_every_cut_is_valid)
{
	/* Every cut of a mixed string is a valid UTF-8 prefix as long as possible. */
	const char *text = "a\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80z\xe6\x97\xa5\xe6\x9c\xac\xc3\xbc";
	size_t len = strlen(text);

	for (size_t max = 0; max <= len + 2; max++) {
		char *s = adw_event_clip(text, max, 0);
		size_t n = strlen(s);

		if (max >= len) {
			ck_assert_str_eq(s, text);
		} else {
			ck_assert_msg(ends_with(s, "..."), "max %zu: '%s'", max, s);
			n -= 3;
			ck_assert_msg(n <= max, "max %zu kept %zu bytes", max, n);
			ck_assert_int_eq(memcmp(s, text, n), 0);
			/* Cut on a boundary, and no further back than the character start. */
			ck_assert_msg(((unsigned char)text[n] & 0xC0) != 0x80, "max %zu cut inside",
				      max);
			for (size_t k = n + 1; k <= max; k++)
				ck_assert_msg(((unsigned char)text[k] & 0xC0) == 0x80,
					      "max %zu backed up too far (%zu)", max, n);
		}
		ck_assert_msg(utf8_valid(s), "max %zu: invalid UTF-8", max);
		free(s);
	}
}
END_TEST

START_TEST(test_clip_fold)
{
	char *s = adw_event_clip("a\nb\r\nc\td", 100, 1);

	ck_assert_str_eq(s, "a b  c d");
	free(s);
	s = adw_event_clip("a\nb", 100, 0);
	ck_assert_str_eq(s, "a\nb");
	free(s);
	s = adw_event_clip("line1\nline2\nline3", 8, 1);
	ck_assert_str_eq(s, "line1 li...");
	free(s);
}
END_TEST

/* ---- adw_event_fix_utf8 ---- */

static void check_fix(const char *in, const char *want)
{
	char *s = adw_xstrdup(in);

	adw_event_fix_utf8(s);
	ck_assert_str_eq(s, want);
	free(s);
}

START_TEST(test_fix_utf8_valid_untouched)
{
	check_fix("plain ascii", "plain ascii");
	check_fix(
	    "h\xc3\xa9llo \xe2\x9c\x93 \xe2\x9c\x97 \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac",
	    "h\xc3\xa9llo \xe2\x9c\x93 \xe2\x9c\x97 \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac");
	/* The extremes of the valid ranges. */
	check_fix("\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf",
		  "\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf");
	check_fix("", "");
	adw_event_fix_utf8(NULL);
}
END_TEST

START_TEST(test_fix_utf8_bad_bytes)
{
	check_fix("a\xff"
		  "b",
		  "a?b");
	check_fix("a\x80"
		  "b",
		  "a?b");
	check_fix("end\xc3", "end?");
	check_fix("\xc3(", "?(");
	check_fix("\xe2\x82x", "??x");
	check_fix("\xc0\xaf", "??");
	check_fix("\xc1\xbf", "??");
	check_fix("\xf5\x80\x80\x80", "????");
	check_fix("\xf8\x88\x80\x80\x80", "?????");
	/* A bad byte between good characters leaves them alone. */
	check_fix("\xc3\xa9\xff\xc3\xa9", "\xc3\xa9?\xc3\xa9");
}
END_TEST

START_TEST(test_fix_utf8_strict)
{
	/*
	 * Sequences that have the right shape but that PostgreSQL rejects:
	 * overlong 3- and 4-byte forms, UTF-16 surrogates, code points above
	 * U+10FFFF. After fixing, the text must be valid for the database.
	 */
	static const char *const bad[] = {
	    "x\xe0\x80\x80y",	  /* overlong U+0000 */
	    "x\xe0\x9f\xbfy",	  /* overlong U+07FF */
	    "x\xed\xa0\x80y",	  /* surrogate U+D800 */
	    "x\xed\xbf\xbfy",	  /* surrogate U+DFFF */
	    "x\xf0\x80\x80\x80y", /* overlong 4-byte */
	    "x\xf0\x8f\xbf\xbfy", /* overlong U+FFFF */
	    "x\xf4\x90\x80\x80y", /* U+110000 */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *s = adw_xstrdup(bad[i]);
		size_t len = strlen(s);

		adw_event_fix_utf8(s);
		ck_assert_uint_eq(strlen(s), len);
		ck_assert_int_eq(s[0], 'x');
		ck_assert_int_eq(s[len - 1], 'y');
		ck_assert_msg(utf8_valid(s), "case %zu still invalid after adw_event_fix_utf8", i);
		free(s);
	}
}
END_TEST

/* ---- adw_event_summarize ---- */

static char *summarize(const char *type, const char *content, const char *payload_json)
{
	cJSON *p = payload_json ? cJSON_Parse(payload_json) : NULL;
	struct adw_event ev = {
	    .category = ADW_CAT_HOOK, .type = type, .content = content, .payload = p};
	char *s;

	ck_assert_msg(!payload_json || p, "bad test JSON %s", payload_json);
	s = adw_event_summarize(&ev);
	cJSON_Delete(p);
	ck_assert_ptr_nonnull(s);
	return s;
}

static void check_summary(const char *type, const char *content, const char *payload,
			  const char *want)
{
	char *s = summarize(type, content, payload);

	ck_assert_str_eq(s, want);
	free(s);
}

START_TEST(test_summary_pre_tool_use)
{
	check_summary(
	    "PreToolUse", "Using tool: Read",
	    "{\"tool_name\":\"Read\",\"tool_input\":{\"file_path\":\"/src/backend/main.c\"}}",
	    "Read: main.c");
	check_summary("PreToolUse", "",
		      "{\"tool_name\":\"Write\",\"tool_input\":{\"file_path\":\"specs/plan.md\","
		      "\"content\":\"# Plan\"}}",
		      "Write: plan.md");
	check_summary("PreToolUse", "",
		      "{\"tool_name\":\"Edit\",\"tool_input\":{\"file_path\":\"README\"}}",
		      "Edit: README");
	check_summary("PreToolUse", "",
		      "{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"make test\"}}",
		      "Bash: make test");
	check_summary("PreToolUse", "",
		      "{\"tool_name\":\"Glob\",\"tool_input\":{\"pattern\":\"**/*.c\"}}",
		      "Glob: **/*.c");
	check_summary("PreToolUse", "",
		      "{\"tool_name\":\"Grep\",\"tool_input\":{\"pattern\":\"adw_[a-z]+\"}}",
		      "Grep: adw_[a-z]+");
	/* An unknown tool, or a known one without its argument: "Tool: X" (original.md). */
	check_summary("PreToolUse", "Using tool: Frobnicate",
		      "{\"tool_name\":\"Frobnicate\",\"tool_input\":{\"x\":1}}",
		      "Tool: Frobnicate");
	check_summary("PreToolUse", "", "{\"tool_name\":\"Read\",\"tool_input\":{}}", "Tool: Read");
	check_summary("PreToolUse", "", "{\"tool_name\":\"Bash\"}", "Tool: Bash");
	/* No tool name at all: the type. */
	check_summary("PreToolUse", "", "{\"tool_input\":{}}", "PreToolUse");
	check_summary("PreToolUse", "", NULL, "PreToolUse");
	/* ToolUseBlock has the same short form. */
	check_summary("ToolUseBlock", "[Tool] Read",
		      "{\"tool_name\":\"Read\",\"tool_input\":{\"file_path\":\"a/b/c.h\"}}",
		      "Read: c.h");
}
END_TEST

START_TEST(test_summary_bash_long_and_multiline)
{
	char cmd[200], json[300], *s;

	memset(cmd, 'x', 120);
	cmd[120] = '\0';
	snprintf(json, sizeof(json), "{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"%s\"}}",
		 cmd);
	s = summarize("PreToolUse", "", json);
	ck_assert_msg(strncmp(s, "Bash: xxx", 9) == 0, "%s", s);
	ck_assert_msg(ends_with(s, "..."), "%s", s);
	ck_assert_msg(strlen(s) < strlen("Bash: ") + 120, "not clipped: %s", s);
	free(s);
	s = summarize(
	    "PreToolUse", "",
	    "{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"cd x\\nmake\\ttest\"}}");
	ck_assert_str_eq(s, "Bash: cd x make test");
	free(s);
}
END_TEST

START_TEST(test_summary_post_tool_use)
{
	check_summary("PostToolUse", "PostToolUse: Read",
		      "{\"tool_name\":\"Read\",\"tool_input\":{\"file_path\":\"/a/main.c\"},"
		      "\"is_error\":false}",
		      "Read: main.c \xe2\x9c\x93");
	check_summary("PostToolUse", "",
		      "{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"false\"},"
		      "\"is_error\":true}",
		      "Bash: false \xe2\x9c\x97");
	/* No is_error means success. */
	check_summary("PostToolUse", "",
		      "{\"tool_name\":\"Glob\",\"tool_input\":{\"pattern\":\"*.md\"}}",
		      "Glob: *.md \xe2\x9c\x93");
	check_summary("PostToolUse", "", "{\"tool_name\":\"Mystery\",\"is_error\":true}",
		      "Tool: Mystery \xe2\x9c\x97");
	check_summary("PostToolUse", "", "{}", "PostToolUse");
	check_summary("ToolResultBlock", "", "{\"tool_name\":\"Read\",\"is_error\":true}",
		      "Tool: Read \xe2\x9c\x97");
}
END_TEST

START_TEST(test_summary_text_block)
{
	char text[400], *s;

	check_summary("TextBlock", "Hello there", "{\"text\":\"Hello there\"}",
		      "Response: Hello there");
	check_summary("TextBlock", "line one\nline two\r\nline three", NULL,
		      "Response: line one line two  line three");
	check_summary("TextBlock", "", NULL, "Response: ");
	/* Long text: the first 150 bytes, then "...". */
	for (int i = 0; i < 300; i++)
		text[i] = (char)('a' + i % 26);
	text[300] = '\0';
	s = summarize("TextBlock", text, NULL);
	ck_assert_uint_eq(strlen(s), strlen("Response: ") + 150 + 3);
	ck_assert_int_eq(strncmp(s, "Response: ", 10), 0);
	ck_assert_int_eq(strncmp(s + 10, text, 150), 0);
	ck_assert(ends_with(s, "..."));
	free(s);
	/* Exactly 150 bytes are not cut. */
	text[150] = '\0';
	s = summarize("TextBlock", text, NULL);
	ck_assert_uint_eq(strlen(s), strlen("Response: ") + 150);
	ck_assert(!ends_with(s, "..."));
	free(s);
	/* Multibyte text is cut on a character boundary. */
	text[0] = 'x'; /* "x" then 100 × "é": byte 150 is inside a character */
	for (int i = 0; i < 100; i++)
		memcpy(text + 1 + 2 * i, "\xc3\xa9", 2);
	text[201] = '\0';
	s = summarize("TextBlock", text, NULL);
	ck_assert_msg(utf8_valid(s), "%s", s);
	ck_assert(ends_with(s, "..."));
	free(s);
}
END_TEST

START_TEST(test_summary_thinking_and_result)
{
	char text[300], *s;

	check_summary("ThinkingBlock", "Let me look\nat the code", NULL,
		      "Thinking: Let me look at the code");
	memset(text, 't', 250);
	text[250] = '\0';
	s = summarize("ThinkingBlock", text, NULL);
	ck_assert_int_eq(strncmp(s, "Thinking: ttt", 13), 0);
	ck_assert(ends_with(s, "..."));
	ck_assert_uint_lt(strlen(s), strlen("Thinking: ") + 250);
	free(s);
	check_summary("Result", "all done", "{\"subtype\":\"success\",\"is_error\":false}",
		      "Step completed: success");
	check_summary("Result", "", "{\"subtype\":\"error_during_execution\",\"is_error\":true}",
		      "Step completed: error");
	check_summary("Result", "", NULL, "Step completed: success");
}
END_TEST

START_TEST(test_summary_fallbacks)
{
	check_summary("StepStart", "", NULL, "StepStart");
	check_summary("StepStart", NULL, "{\"x\":1}", "StepStart");
	check_summary("SystemInfo", "Server started\non port 9403", NULL,
		      "Server started on port 9403");
	check_summary("AdwCreated", "ADW 'x' created", NULL, "ADW 'x' created");
}
END_TEST

START_TEST(test_summary_at_most_200_bytes)
{
	/* "At most 200 bytes, cut on a UTF-8 boundary" (adw_event.h), whatever the type. */
	static const char *const types[] = {"SystemInfo", "TextBlock",	 "ThinkingBlock",
					    "PreToolUse", "PostToolUse", "Stop"};
	char big[1200], json[1400];

	for (int i = 0; i < 399; i++)
		memcpy(big + 3 * i, "\xe2\x9c\x93", 3); /* 399 × "✓" */
	big[1197] = 'z';
	big[1198] = '\0';
	snprintf(json, sizeof(json), "{\"tool_name\":\"%s\"}", big);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		char *s = summarize(types[i], big, json);

		ck_assert_msg(strlen(s) <= 200, "%s summary is %zu bytes", types[i], strlen(s));
		ck_assert_msg(utf8_valid(s), "%s summary is not valid UTF-8", types[i]);
		ck_assert_msg(strchr(s, '\n') == NULL, "%s summary has a newline", types[i]);
		free(s);
	}
	memset(big, 'a', 1000);
	big[1000] = '\0';
	{
		char *s = summarize("SystemWarning", big, NULL);

		ck_assert_msg(strlen(s) <= 200, "summary is %zu bytes", strlen(s));
		ck_assert_int_eq(strncmp(s, "aaaa", 4), 0);
		free(s);
	}
}
END_TEST

START_TEST(test_category_names)
{
	ck_assert_str_eq(adw_event_category_name(ADW_CAT_ADW_STEP), "adw_step");
	ck_assert_str_eq(adw_event_category_name(ADW_CAT_RESPONSE), "response");
	ck_assert_str_eq(adw_event_category_name(ADW_CAT_HOOK), "hook");
	ck_assert_str_eq(adw_event_category_name(ADW_CAT_SYSTEM), "system");
	ck_assert_str_eq(adw_event_category_name(ADW_CAT_CHAT), "chat");
	ck_assert_str_eq(adw_event_category_name(ADW_CAT_CONTROL), "control");
	ck_assert_str_eq(adw_event_category_name(ADW_CAT_FILE_TRACKING), "file_tracking");
}
END_TEST

/* ---- adw_event_insert (PostgreSQL) ---- */

static char *conninfo;

/* Each test gets a fresh database (and runs in its own process). */
static void pg_setup(void)
{
	conninfo = testlib_db_create_migrated("event");
}

static void pg_teardown(void)
{
	free(conninfo);
	conninfo = NULL;
}

static PGconn *connect_db(void)
{
	return testlib_connect(conninfo);
}

/* The row of event id as (category, type, content, summary, payload::text, adw_id, step). */
static PGresult *event_row(PGconn *c, long long id)
{
	char *sql = adw_xasprintf("SELECT category, type, content, summary, payload::text, "
				  "adw_id, step, agent_id FROM events WHERE id = %lld",
				  id);
	PGresult *r = testlib_query(c, sql);

	free(sql);
	ck_assert_int_eq(PQntuples(r), 1);
	return r;
}

START_TEST(test_insert_stores_fields)
{
	PGconn *c = connect_db();
	struct adw_err err = {0};
	cJSON *p = cJSON_Parse("{\"tool_name\":\"Read\",\"tool_input\":{\"file_path\":\"/x/y.c\"},"
			       "\"n\":3}");
	struct adw_event ev = {.category = ADW_CAT_HOOK,
			       .type = "PreToolUse",
			       .content = "Using tool: Read",
			       .step = "plan",
			       .payload = p};
	long long id = 0;
	PGresult *r;
	cJSON *stored;

	ck_assert_msg(adw_event_insert(c, &ev, &id, &err) == 0, "%s", err.msg);
	ck_assert_int_gt(id, 0);
	r = event_row(c, id);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "hook");
	ck_assert_str_eq(PQgetvalue(r, 0, 1), "PreToolUse");
	ck_assert_str_eq(PQgetvalue(r, 0, 2), "Using tool: Read");
	/* No summary given: the fallback one. */
	ck_assert_str_eq(PQgetvalue(r, 0, 3), "Read: y.c");
	stored = cJSON_Parse(PQgetvalue(r, 0, 4));
	ck_assert_msg(cJSON_Compare(stored, p, 1), "payload %s", PQgetvalue(r, 0, 4));
	cJSON_Delete(stored);
	ck_assert(PQgetisnull(r, 0, 5));
	ck_assert_str_eq(PQgetvalue(r, 0, 6), "plan");
	ck_assert(PQgetisnull(r, 0, 7));
	PQclear(r);
	/* The payload is borrowed, not modified. */
	ck_assert_int_eq(cJSON_GetObjectItem(p, "n")->valueint, 3);
	cJSON_Delete(p);
	PQfinish(c);
}
END_TEST

START_TEST(test_insert_defaults_and_given_summary)
{
	PGconn *c = connect_db();
	struct adw_err err = {0};
	struct adw_event ev = {
	    .category = ADW_CAT_SYSTEM, .type = "SystemInfo", .summary = "given\nsummary"};
	long long id = 0;
	PGresult *r;
	char longsum[600];

	ck_assert_msg(adw_event_insert(c, &ev, &id, &err) == 0, "%s", err.msg);
	r = event_row(c, id);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "system");
	ck_assert_str_eq(PQgetvalue(r, 0, 2), "");		/* NULL content = "" */
	ck_assert_str_eq(PQgetvalue(r, 0, 3), "given summary"); /* folded */
	ck_assert_str_eq(PQgetvalue(r, 0, 4), "{}");		/* NULL payload = {} */
	ck_assert(PQgetisnull(r, 0, 6));
	PQclear(r);
	/* A given summary is clipped too. */
	memset(longsum, 's', sizeof(longsum) - 1);
	longsum[sizeof(longsum) - 1] = '\0';
	ev.summary = longsum;
	ck_assert_msg(adw_event_insert(c, &ev, &id, &err) == 0, "%s", err.msg);
	r = event_row(c, id);
	ck_assert_msg(strlen(PQgetvalue(r, 0, 3)) < 300, "summary of %zu bytes stored",
		      strlen(PQgetvalue(r, 0, 3)));
	PQclear(r);
	/* id may be NULL. */
	ck_assert_msg(adw_event_insert(c, &ev, NULL, &err) == 0, "%s", err.msg);
	PQfinish(c);
}
END_TEST

START_TEST(test_insert_ids_increase)
{
	PGconn *c = connect_db();
	struct adw_err err = {0};
	long long prev = 0;

	for (int i = 0; i < 20; i++) {
		struct adw_event ev = {.category = (enum adw_event_category)(i % 7),
				       .type = "TextBlock",
				       .content = "x"};
		long long id = 0;

		ck_assert_msg(adw_event_insert(c, &ev, &id, &err) == 0, "%s", err.msg);
		ck_assert_msg(id > prev, "id %lld after %lld", id, prev);
		prev = id;
	}
	/* Every category name passes the table's CHECK (the loop used all seven). */
	{
		PGresult *r = testlib_query(c, "SELECT count(DISTINCT category) FROM events "
					       "WHERE type = 'TextBlock'");

		ck_assert_str_eq(PQgetvalue(r, 0, 0), "7");
		PQclear(r);
	}
	PQfinish(c);
}
END_TEST

START_TEST(test_insert_invalid_utf8_stored)
{
	/* An agent's bad bytes never cost the event: they become '?'. */
	static const char *const contents[] = {
	    "bad \xff byte",
	    "cut \xc3",
	    "surrogate \xed\xa0\x80 here",
	    "overlong \xe0\x80\x80 here",
	    "too high \xf4\x90\x80\x80 here",
	};
	PGconn *c = connect_db();

	for (size_t i = 0; i < sizeof(contents) / sizeof(contents[0]); i++) {
		cJSON *p = cJSON_CreateObject();
		struct adw_event ev = {
		    .category = ADW_CAT_RESPONSE, .type = "TextBlock", .content = contents[i]};
		struct adw_err err = {0};
		long long id = 0;
		PGresult *r;

		cJSON_AddStringToObject(p, "text", contents[i]);
		ev.payload = p;
		ck_assert_msg(adw_event_insert(c, &ev, &id, &err) == 0,
			      "event %zu with invalid UTF-8 not stored: %s", i, err.msg);
		r = event_row(c, id);
		ck_assert_uint_eq(strlen(PQgetvalue(r, 0, 2)), strlen(contents[i]));
		ck_assert_ptr_nonnull(strchr(PQgetvalue(r, 0, 2), '?'));
		ck_assert_int_eq(strncmp(PQgetvalue(r, 0, 3), "Response: ", 10), 0);
		PQclear(r);
		cJSON_Delete(p);
	}
	PQfinish(c);
}
END_TEST

START_TEST(test_insert_errors)
{
	PGconn *c = connect_db();
	struct adw_err err = {0};
	struct adw_event ev = {.category = ADW_CAT_SYSTEM, .type = ""};
	long long id = -5;
	PGresult *r;

	/* The table refuses an empty type and an unknown ADW. */
	ck_assert_int_eq(adw_event_insert(c, &ev, &id, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_int_eq(id, -5);
	ev.type = "SystemInfo";
	ev.adw_id = "00000000-0000-0000-0000-000000000001";
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(adw_event_insert(c, &ev, &id, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	r = testlib_query(c, "SELECT count(*) FROM events WHERE adw_id IS NOT NULL OR type = ''");
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "0");
	PQclear(r);
	PQfinish(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("adw_event");
	TCase *tc = tcase_create("clip");
	TCase *ts = tcase_create("summary");
	const char *url = getenv("ADW_TEST_DATABASE_URL");

	tcase_add_test(tc, test_clip_ascii);
	tcase_add_test(tc, test_clip_utf8_boundary);
	tcase_add_test(tc, test_clip_every_cut_is_valid);
	tcase_add_test(tc, test_clip_fold);
	tcase_add_test(tc, test_fix_utf8_valid_untouched);
	tcase_add_test(tc, test_fix_utf8_bad_bytes);
	tcase_add_test(tc, test_fix_utf8_strict);
	suite_add_tcase(s, tc);
	tcase_add_test(ts, test_summary_pre_tool_use);
	tcase_add_test(ts, test_summary_bash_long_and_multiline);
	tcase_add_test(ts, test_summary_post_tool_use);
	tcase_add_test(ts, test_summary_text_block);
	tcase_add_test(ts, test_summary_thinking_and_result);
	tcase_add_test(ts, test_summary_fallbacks);
	tcase_add_test(ts, test_summary_at_most_200_bytes);
	tcase_add_test(ts, test_category_names);
	suite_add_tcase(s, ts);
	if (url && *url) {
		TCase *tp = tcase_create("pg");

		tcase_add_checked_fixture(tp, pg_setup, pg_teardown);
		tcase_add_test(tp, test_insert_stores_fields);
		tcase_add_test(tp, test_insert_defaults_and_given_summary);
		tcase_add_test(tp, test_insert_ids_increase);
		tcase_add_test(tp, test_insert_invalid_utf8_stored);
		tcase_add_test(tp, test_insert_errors);
		suite_add_tcase(s, tp);
	} else {
		fprintf(stderr, "ADW_TEST_DATABASE_URL unset: skipping the PostgreSQL cases\n");
	}
	return testlib_run(s);
}
