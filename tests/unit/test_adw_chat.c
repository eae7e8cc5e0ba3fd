/* SPDX-License-Identifier: MIT */
/*
 * Tests of backend/adw_chat: parsing "start adw: <workflow>: <prompt>" and
 * (with ADW_TEST_DATABASE_URL) handling messages against a real database.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adw_chat.h"
#include "adw_config.h"
#include "adw_db.h"
#include "testlib.h"

/* ---- adw_chat_parse ---- */

static void check_start(const char *msg, const char *workflow, const char *prompt)
{
	struct adw_chat_cmd cmd;

	adw_chat_parse(msg, &cmd);
	ck_assert_msg(cmd.kind == ADW_CHAT_START, "'%s' is not a start command", msg);
	ck_assert_ptr_nonnull(cmd.workflow);
	ck_assert_ptr_nonnull(cmd.prompt);
	ck_assert_msg(strcmp(cmd.workflow, workflow) == 0, "'%s': workflow '%s'", msg,
		      cmd.workflow);
	ck_assert_msg(strcmp(cmd.prompt, prompt) == 0, "'%s': prompt '%s'", msg, cmd.prompt);
	adw_chat_cmd_release(&cmd);
	ck_assert_ptr_null(cmd.workflow);
	ck_assert_ptr_null(cmd.prompt);
}

static void check_help(const char *msg)
{
	struct adw_chat_cmd cmd;

	adw_chat_parse(msg, &cmd);
	ck_assert_msg(cmd.kind == ADW_CHAT_HELP, "'%s' parsed as a start command", msg);
	ck_assert_ptr_null(cmd.workflow);
	ck_assert_ptr_null(cmd.prompt);
	adw_chat_cmd_release(&cmd);
}

START_TEST(test_parse_start)
{
	check_start("start adw: plan_build: Add a --version flag", "plan_build",
		    "Add a --version flag");
	check_start("start adw:plan_build:x", "plan_build", "x");
	check_start("  \n start adw: plan_build_review: x", "plan_build_review", "x");
}
END_TEST

START_TEST(test_parse_case_and_spaces)
{
	check_start("Start ADW: plan_build: p", "plan_build", "p");
	check_start("START ADW : plan-build : prompt", "plan_build", "prompt");
	check_start("sTaRt AdW\t:\tPlan-Build-Review\t:\t  the prompt  \n", "plan_build_review",
		    "the prompt");
}
END_TEST

START_TEST(test_parse_missing_prompt)
{
	check_start("start adw: plan_build", "plan_build", "");
	check_start("start adw: plan_build:", "plan_build", "");
	check_start("start adw: plan_build:   \n\t", "plan_build", "");
	check_start("start adw:", "", "");
}
END_TEST

START_TEST(test_parse_colons_in_prompt)
{
	check_start("start adw: plan_build: Fix: the parser fails on a:b:c", "plan_build",
		    "Fix: the parser fails on a:b:c");
	check_start("start adw: plan_build: see http://example.com:8080/x", "plan_build",
		    "see http://example.com:8080/x");
	check_start("start adw: plan_build: line one\nline two: more\n", "plan_build",
		    "line one\nline two: more");
}
END_TEST

static void check_steer(const char *msg, enum adw_chat_kind kind, const char *target,
			const char *text)
{
	struct adw_chat_cmd cmd;

	adw_chat_parse(msg, &cmd);
	ck_assert_msg(cmd.kind == kind, "'%s' parsed as %d, not %d", msg, cmd.kind, kind);
	ck_assert_str_eq(cmd.target, target);
	ck_assert_str_eq(cmd.prompt, text);
	ck_assert_ptr_null(cmd.workflow);
	adw_chat_cmd_release(&cmd);
}

START_TEST(test_parse_steer)
{
	check_steer("pause adw fix-login", ADW_CHAT_PAUSE, "fix-login", "");
	check_steer("Pause ADW fix-login: lunch break", ADW_CHAT_PAUSE, "fix-login", "lunch break");
	check_steer("resume adw 1b4e28ba-2fa1-11d2-883f-0016d3cca427", ADW_CHAT_RESUME,
		    "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "");
	check_steer("  CANCEL adw x :  wrong repo ", ADW_CHAT_CANCEL, "x", "wrong repo");
	check_steer("tell adw x: use tabs: not spaces", ADW_CHAT_TELL, "x", "use tabs: not spaces");
	check_steer("redirect adw x: Build a dropdown instead", ADW_CHAT_REDIRECT, "x",
		    "Build a dropdown instead");
	check_steer("answer 1b4e28ba: sqlite", ADW_CHAT_ANSWER, "1b4e28ba", "sqlite");
	check_steer("tell adw x", ADW_CHAT_TELL, "x", "");
	/* Not commands: no target, a space in the target, a missing "adw". */
	check_help("pause adw");
	check_help("pause adw : reason");
	check_help("pause adw two words: reason");
	check_help("pause fix-login");
	check_help("pauses adw x");
	check_help("answer");
	check_help("tell me a story");
}
END_TEST

START_TEST(test_parse_help)
{
	check_help("start adwx: plan_build: p");
	check_help("start adws: plan_build: p");
	check_help("please start adw: plan_build: p");
	check_help("start adw plan_build p");
	check_help("start: plan_build: p");
	check_help("start");
	check_help("start adw");
	check_help("hello");
	check_help("");
	check_help(NULL);
	adw_chat_cmd_release(NULL);
}
END_TEST

/* ---- adw_chat_handle (PostgreSQL) ---- */

static char workdir[64];
static struct adw_config cfg;
static PGconn *conn;

static void pg_setup(void)
{
	testlib_dryrun_config(workdir, "chat", &cfg);
}

static void pg_teardown(void)
{
	PQfinish(conn);
	conn = NULL;
	adw_config_release(&cfg);
	testlib_rm_tree(workdir);
}

/* A fresh database for one test (each test runs in its own process). */
static void use_db(const char *name)
{
	char *ci = testlib_db_create_migrated(name);

	conn = testlib_connect(ci);
	free(ci);
}

static long long count(const char *sql)
{
	return testlib_count(conn, sql);
}

static const char *str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	ck_assert_msg(cJSON_IsString(v), "'%s' is not a string", key);
	return v->valuestring;
}

START_TEST(test_handle_start)
{
	struct adw_err err = {0};
	char *reply = NULL, *adw = NULL;
	cJSON *r, *a, *meta;
	const char *id;
	PGresult *res;
	const char *params[1];

	use_db("chat_start");
	ck_assert_msg(adw_chat_handle(conn, &cfg, "start adw: plan-build: Add a --version flag",
				      &reply, &adw, &err) == 0,
		      "%s", err.msg);
	ck_assert_ptr_nonnull(reply);
	ck_assert_ptr_nonnull(adw);
	a = cJSON_Parse(adw);
	r = cJSON_Parse(reply);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(r);
	id = str(a, "id");
	ck_assert_str_eq(str(a, "workflow"), "plan_build");
	ck_assert_str_eq(str(a, "status"), "pending");
	ck_assert_str_eq(str(a, "prompt"), "Add a --version flag");
	ck_assert_str_eq(str(a, "runtime"), "dry-run");
	ck_assert_str_eq(str(a, "working_dir"), workdir);
	ck_assert_int_eq(cJSON_GetObjectItem(a, "total_steps")->valueint, 2);
	/* The reply comes from the orchestrator and names the ADW's id and name. */
	ck_assert_str_eq(str(r, "sender"), "orchestrator");
	ck_assert_str_eq(str(r, "receiver"), "user");
	ck_assert_str_eq(str(r, "adw_id"), id);
	ck_assert_msg(strstr(str(r, "message"), id) != NULL, "%s", str(r, "message"));
	ck_assert_msg(strstr(str(r, "message"), str(a, "name")) != NULL, "%s", str(r, "message"));
	meta = cJSON_GetObjectItem(r, "metadata");
	ck_assert_str_eq(str(meta, "type"), "adw_started");
	ck_assert_str_eq(str(meta, "adw_id"), id);

	/* One ADW, recorded as coming from the chat, with its two steps. */
	ck_assert_int_eq(count("SELECT count(*) FROM ai_developer_workflows"), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM ai_developer_workflows "
			       "WHERE metadata->>'source' = 'chat'"),
			 1);
	ck_assert_int_eq(count("SELECT count(*) FROM adw_steps"), 2);
	/* Both chat rows are stored, in order, the reply linked to the ADW. */
	res = testlib_query(conn, "SELECT sender_type, receiver_type, message, adw_id "
				  "FROM orchestrator_chat ORDER BY seq");
	ck_assert_int_eq(PQntuples(res), 2);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "user");
	ck_assert_str_eq(PQgetvalue(res, 0, 1), "orchestrator");
	ck_assert_str_eq(PQgetvalue(res, 0, 2), "start adw: plan-build: Add a --version flag");
	ck_assert(PQgetisnull(res, 0, 3));
	ck_assert_str_eq(PQgetvalue(res, 1, 0), "orchestrator");
	ck_assert_str_eq(PQgetvalue(res, 1, 1), "user");
	ck_assert_str_eq(PQgetvalue(res, 1, 2), str(r, "message"));
	ck_assert_str_eq(PQgetvalue(res, 1, 3), id);
	PQclear(res);
	/* Events: two ChatMessage and one AdwCreated. */
	ck_assert_int_eq(count("SELECT count(*) FROM events WHERE type = 'ChatMessage' "
			       "AND category = 'chat'"),
			 2);
	params[0] = id;
	res = adw_db_query(conn,
			   "SELECT count(*) FROM events WHERE type = 'AdwCreated' "
			   "AND adw_id = $1",
			   1, params, &err);
	ck_assert_ptr_nonnull(res);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "1");
	PQclear(res);
	cJSON_Delete(a);
	cJSON_Delete(r);
	free(reply);
	free(adw);
}
END_TEST

/* Sends msg; returns the reply's text (caller frees). */
static char *say(const char *msg)
{
	struct adw_err err = {0};
	char *reply = NULL, *adw = NULL, *text;
	cJSON *r;

	ck_assert_msg(adw_chat_handle(conn, &cfg, msg, &reply, &adw, &err) == 0, "%s: %s", msg,
		      err.msg);
	r = cJSON_Parse(reply);
	text = adw_xstrdup(str(r, "message"));
	cJSON_Delete(r);
	free(reply);
	free(adw);
	return text;
}

static void expect_reply(const char *msg, const char *part)
{
	char *text = say(msg);

	ck_assert_msg(strstr(text, part) != NULL, "'%s' answered '%s', not '...%s...'", msg, text,
		      part);
	free(text);
}

START_TEST(test_handle_steer)
{
	char *text;
	PGresult *res;

	use_db("chat_steer");
	free(say("start adw: plan_build: First task"));
	free(say("start adw: plan_build: Second task"));
	/* A pending ADW acts at once. */
	expect_reply("pause adw first-task: not yet", "ADW 'first-task' is now paused.");
	expect_reply("pause adw first-task", "Nothing to do for ADW 'first-task': already paused.");
	expect_reply("resume adw first-task", "ADW 'first-task' is now pending.");
	expect_reply("tell adw first-task: use tabs", "Sent to ADW 'first-task'");
	expect_reply("tell adw first-task", "Could not tell the adw: content must not be empty");
	expect_reply("cancel adw second-task: duplicate", "ADW 'second-task' is now cancelled.");
	expect_reply("cancel adw second-task", "Nothing to do for ADW 'second-task': already "
					       "cancelled.");
	expect_reply("pause adw second-task", "Could not pause: adw 'second-task' already ended");
	expect_reply("pause adw no-such-adw", "Could not pause: adw 'no-such-adw' not found");
	expect_reply("redirect adw first-task: Third task instead", "Redirected: started ADW "
								    "'third-task-instead'");
	expect_reply("answer 00000000: yes", "Could not answer: question '00000000' not found");
	/* The cancel was recorded as coming from the chat. */
	res = testlib_query(conn, "SELECT status, cancelled_by, cancel_reason, redirected_to IS "
				  "NOT NULL FROM ai_developer_workflows ORDER BY created_at");
	ck_assert_int_eq(PQntuples(res), 3);
	ck_assert_str_eq(PQgetvalue(res, 0, 0), "cancelled");
	ck_assert_str_eq(PQgetvalue(res, 0, 1), "user via chat");
	ck_assert_str_eq(PQgetvalue(res, 0, 2), "redirected to third-task-instead");
	ck_assert_str_eq(PQgetvalue(res, 0, 3), "t");
	ck_assert_str_eq(PQgetvalue(res, 1, 2), "duplicate");
	ck_assert_str_eq(PQgetvalue(res, 2, 0), "pending");
	PQclear(res);
	ck_assert_int_eq(count("SELECT count(*) FROM adw_messages WHERE metadata->>'source' = "
			       "'chat'"),
			 8);
	text = say("help");
	ck_assert_ptr_nonnull(strstr(text, "redirect adw <id|name>: <prompt>"));
	free(text);
}
END_TEST

START_TEST(test_handle_start_prompt_with_colons)
{
	struct adw_err err = {0};
	char *reply = NULL, *adw = NULL;
	cJSON *a;

	use_db("chat_colons");
	ck_assert_msg(adw_chat_handle(conn, &cfg,
				      "START ADW : Plan-Build-Review : Fix: the a:b parser  ",
				      &reply, &adw, &err) == 0,
		      "%s", err.msg);
	ck_assert_ptr_nonnull(adw);
	a = cJSON_Parse(adw);
	ck_assert_str_eq(str(a, "workflow"), "plan_build_review");
	ck_assert_str_eq(str(a, "prompt"), "Fix: the a:b parser");
	ck_assert_int_eq(cJSON_GetObjectItem(a, "total_steps")->valueint, 3);
	ck_assert_int_eq(count("SELECT count(*) FROM adw_steps"), 3);
	cJSON_Delete(a);
	free(reply);
	free(adw);
}
END_TEST

START_TEST(test_handle_unknown_workflow)
{
	struct adw_err err = {0};
	char *reply = NULL, *adw = NULL;
	cJSON *r;
	const char *msg;

	use_db("chat_unknown");
	ck_assert_msg(
	    adw_chat_handle(conn, &cfg, "start adw: nope: do something", &reply, &adw, &err) == 0,
	    "%s", err.msg);
	ck_assert_ptr_null(adw);
	ck_assert_ptr_nonnull(reply);
	r = cJSON_Parse(reply);
	msg = str(r, "message");
	/* Answered in the reply, with the known workflows. */
	ck_assert_msg(strstr(msg, "unknown workflow 'nope'") != NULL, "%s", msg);
	ck_assert_msg(strstr(msg, "plan_build") != NULL, "%s", msg);
	ck_assert_msg(strstr(msg, "plan_build_review_fix") != NULL, "%s", msg);
	ck_assert_str_eq(str(cJSON_GetObjectItem(r, "metadata"), "type"), "error");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(r, "adw_id")));
	ck_assert_int_eq(count("SELECT count(*) FROM ai_developer_workflows"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM adw_steps"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM orchestrator_chat"), 2);
	ck_assert_int_eq(count("SELECT count(*) FROM events WHERE type = 'AdwCreated'"), 0);
	cJSON_Delete(r);
	free(reply);
}
END_TEST

START_TEST(test_handle_empty_prompt)
{
	struct adw_err err = {0};
	char *reply = NULL, *adw = NULL;
	cJSON *r;

	use_db("chat_noprompt");
	ck_assert_msg(
	    adw_chat_handle(conn, &cfg, "start adw: plan_build:   ", &reply, &adw, &err) == 0, "%s",
	    err.msg);
	ck_assert_ptr_null(adw);
	r = cJSON_Parse(reply);
	ck_assert_msg(strstr(str(r, "message"), "prompt") != NULL, "%s", str(r, "message"));
	ck_assert_int_eq(count("SELECT count(*) FROM ai_developer_workflows"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM orchestrator_chat"), 2);
	cJSON_Delete(r);
	free(reply);
}
END_TEST

START_TEST(test_handle_help)
{
	static const char *const msgs[] = {"hello", "please start adw: plan_build: x",
					   "start adwx: plan_build: x", "what can you do?"};
	use_db("chat_help");
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		struct adw_err err = {0};
		char *reply = NULL, *adw = NULL;
		cJSON *r;
		const char *msg;

		ck_assert_msg(adw_chat_handle(conn, &cfg, msgs[i], &reply, &adw, &err) == 0, "%s",
			      err.msg);
		ck_assert_ptr_null(adw);
		r = cJSON_Parse(reply);
		msg = str(r, "message");
		ck_assert_msg(strstr(msg, "start adw: <workflow>: <prompt>") != NULL, "%s", msg);
		ck_assert_msg(strstr(msg, "plan_build_review_fix") != NULL, "%s", msg);
		ck_assert_str_eq(str(cJSON_GetObjectItem(r, "metadata"), "type"), "help");
		ck_assert_str_eq(str(r, "sender"), "orchestrator");
		cJSON_Delete(r);
		free(reply);
	}
	ck_assert_int_eq(count("SELECT count(*) FROM ai_developer_workflows"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM orchestrator_chat"), 8);
	ck_assert_int_eq(count("SELECT count(*) FROM orchestrator_chat "
			       "WHERE sender_type = 'user'"),
			 4);
}
END_TEST

START_TEST(test_handle_invalid_stores_nothing)
{
	static const char *const msgs[] = {"", "   ", " \n\t\r\n"};
	char *big = NULL;
	size_t n = ADW_CHAT_MESSAGE_MAX + 1;

	use_db("chat_invalid");
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]) + 2; i++) {
		struct adw_err err = {0};
		char *reply = (char *)"x", *adw = (char *)"y";
		const char *m;

		if (i < sizeof(msgs) / sizeof(msgs[0])) {
			m = msgs[i];
		} else if (i == sizeof(msgs) / sizeof(msgs[0])) {
			m = NULL;
		} else {
			big = adw_xmalloc(n + 1);
			memcpy(big, "start adw: plan_build: ", 23);
			memset(big + 23, 'x', n - 23);
			big[n] = '\0';
			m = big;
		}
		ck_assert_int_eq(adw_chat_handle(conn, &cfg, m, &reply, &adw, &err), -1);
		ck_assert_int_eq(err.code, ADW_ERR_INVALID);
		ck_assert_ptr_null(reply);
		ck_assert_ptr_null(adw);
		if (m && m == big)
			free(big);
	}
	ck_assert_int_eq(count("SELECT count(*) FROM orchestrator_chat"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM events"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM ai_developer_workflows"), 0);
}
END_TEST

START_TEST(test_handle_max_size_accepted)
{
	/* Exactly ADW_CHAT_MESSAGE_MAX bytes is allowed (answered with help). */
	struct adw_err err = {0};
	char *reply = NULL, *adw = NULL;
	char *m = adw_xmalloc(ADW_CHAT_MESSAGE_MAX + 1);

	use_db("chat_max");
	memset(m, 'h', ADW_CHAT_MESSAGE_MAX);
	m[ADW_CHAT_MESSAGE_MAX] = '\0';
	ck_assert_msg(adw_chat_handle(conn, &cfg, m, &reply, &adw, &err) == 0, "%s", err.msg);
	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(count("SELECT count(*) FROM orchestrator_chat"), 2);
	ck_assert_int_eq(count("SELECT max(length(message)) FROM orchestrator_chat"),
			 ADW_CHAT_MESSAGE_MAX);
	free(reply);
	free(adw);
	free(m);
}
END_TEST

START_TEST(test_handle_invalid_utf8_message)
{
	/* A message with bad bytes is stored (repaired), not refused. */
	struct adw_err err = {0};
	char *reply = NULL, *adw = NULL;

	use_db("chat_utf8");
	ck_assert_msg(adw_chat_handle(conn, &cfg, "hello \xff there", &reply, &adw, &err) == 0,
		      "%s", err.msg);
	ck_assert_int_eq(count("SELECT count(*) FROM orchestrator_chat "
			       "WHERE message = 'hello ? there'"),
			 1);
	free(reply);
	free(adw);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("adw_chat");
	TCase *tc = tcase_create("parse");
	const char *url = getenv("ADW_TEST_DATABASE_URL");

	tcase_add_test(tc, test_parse_start);
	tcase_add_test(tc, test_parse_case_and_spaces);
	tcase_add_test(tc, test_parse_missing_prompt);
	tcase_add_test(tc, test_parse_colons_in_prompt);
	tcase_add_test(tc, test_parse_help);
	tcase_add_test(tc, test_parse_steer);
	suite_add_tcase(s, tc);
	if (url && *url) {
		TCase *tp = tcase_create("pg");

		tcase_add_checked_fixture(tp, pg_setup, pg_teardown);
		tcase_add_test(tp, test_handle_start);
		tcase_add_test(tp, test_handle_steer);
		tcase_add_test(tp, test_handle_start_prompt_with_colons);
		tcase_add_test(tp, test_handle_unknown_workflow);
		tcase_add_test(tp, test_handle_empty_prompt);
		tcase_add_test(tp, test_handle_help);
		tcase_add_test(tp, test_handle_invalid_stores_nothing);
		tcase_add_test(tp, test_handle_max_size_accepted);
		tcase_add_test(tp, test_handle_invalid_utf8_message);
		suite_add_tcase(s, tp);
	} else {
		fprintf(stderr, "ADW_TEST_DATABASE_URL unset: skipping the PostgreSQL cases\n");
	}
	return testlib_run(s);
}
