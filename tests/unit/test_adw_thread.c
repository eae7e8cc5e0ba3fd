/* SPDX-License-Identifier: MIT */
/*
 * Tests of backend/adw_thread (with ADW_TEST_DATABASE_URL): the decision
 * table of adw_thread_post() for every action and ADW status, the NOTIFY
 * and events of the steering messages, listing and notes, the decision
 * questions and their answers, and adw_store_adw_fail() closing them.
 */
#include <cjson/cJSON.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adw_config.h"
#include "adw_db.h"
#include "adw_store.h"
#include "adw_thread.h"
#include "testlib.h"

static const char *const all_statuses[] = {"pending",	"in_progress", "paused",   "awaiting_input",
					   "completed", "failed",      "cancelled"};
static const char *const ended[] = {"completed", "failed", "cancelled"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- fixture and helpers ---- */

static char workdir[64];
static struct adw_config cfg;
static PGconn *conn;
static char *dbinfo;

static void pg_setup(void)
{
	testlib_dryrun_config(workdir, "thread", &cfg);
}

static void pg_teardown(void)
{
	PQfinish(conn);
	conn = NULL;
	free(dbinfo);
	dbinfo = NULL;
	adw_config_release(&cfg);
	testlib_rm_tree(workdir);
}

/* A fresh database for one test (each test runs in its own process). */
static void use_db(const char *name)
{
	dbinfo = testlib_db_create_migrated(name);
	conn = testlib_connect(dbinfo);
}

static long long count(const char *sql)
{
	return testlib_count(conn, sql);
}

/* count() of a printf-built query (only for trusted values such as uuids). */
static long long countf(const char *fmt, ...) ADW_PRINTF(1, 2);
static long long countf(const char *fmt, ...)
{
	char sql[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return count(sql);
}

/* Runs sql with up to two parameters; returns the first value of its one row
 * (caller frees; NULL for SQL NULL). */
static char *query2(const char *sql, const char *p1, const char *p2)
{
	struct adw_err err = {0};
	const char *params[2] = {p1, p2};
	PGresult *r = adw_db_query(conn, sql, p2 ? 2 : 1, params, &err);
	char *v;

	ck_assert_msg(r != NULL, "%s: %s", sql, err.msg);
	ck_assert_msg(PQntuples(r) == 1, "%s: %d rows", sql, PQntuples(r));
	v = adw_db_strdup(r, 0, 0);
	PQclear(r);
	return v;
}

static char *query1(const char *sql, const char *param)
{
	return query2(sql, param, NULL);
}

static void exec2(const char *sql, const char *p1, const char *p2)
{
	struct adw_err err = {0};
	const char *params[2] = {p1, p2};

	ck_assert_msg(adw_db_exec(conn, sql, p2 ? 2 : 1, params, &err) == 0, "%s: %s", sql,
		      err.msg);
}

static const char *str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	ck_assert_msg(cJSON_IsString(v), "'%s' is not a string", key);
	return v->valuestring;
}

static bool is_null(const cJSON *obj, const char *key)
{
	return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(obj, key));
}

static void expect_str(const char *got, const char *want, const char *what)
{
	if (!want) {
		ck_assert_msg(got == NULL, "%s: '%s', want NULL", what, got);
		return;
	}
	ck_assert_msg(got != NULL, "%s: NULL, want '%s'", what, want);
	ck_assert_msg(strcmp(got, want) == 0, "%s: '%s', want '%s'", what, got, want);
}

/* Creates a pending plan_build ADW; returns its id (caller frees). */
static char *new_adw(const char *prompt)
{
	struct adw_new in = {.workflow = "plan_build", .prompt = prompt};
	struct adw_err err = {0};
	char *id = NULL;

	ck_assert_msg(adw_store_adw_create(conn, &cfg, &in, NULL, &id, &err) == 0, "create: %s",
		      err.msg);
	ck_assert(adw_store_is_uuid(id));
	return id;
}

/*
 * Puts the ADW in status; started says whether an adw-run has taken it
 * (started_at set). Ended ones get completed_at too.
 */
static void set_status(const char *id, const char *status, bool started)
{
	exec2(started ? "UPDATE ai_developer_workflows SET status = $2, started_at = now(), "
			"completed_at = CASE WHEN $2 IN ('completed', 'failed', 'cancelled') "
			"THEN now() END WHERE id = $1"
		      : "UPDATE ai_developer_workflows SET status = $2, started_at = NULL "
			"WHERE id = $1",
	      id, status);
}

/* A column of the ADW as text (caller frees; NULL for SQL NULL). */
static char *adw_col(const char *id, const char *col)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT %s::text FROM ai_developer_workflows WHERE id = $1",
		 col);
	return query1(sql, id);
}

static void expect_adw(const char *id, const char *col, const char *want)
{
	char *v = adw_col(id, col);

	expect_str(v, want, col);
	free(v);
}

static void expect_adw_set(const char *id, const char *col, bool set)
{
	char *v = adw_col(id, col);

	ck_assert_msg((v != NULL) == set, "%s is %s", col, v ? v : "NULL");
	free(v);
}

static int post(const char *adw, const char *action, const char *content, const char *meta,
		const char *source, struct adw_thread_result *out, struct adw_err *err)
{
	struct adw_thread_request rq = {
	    .adw = adw, .action = action, .content = content, .metadata = meta, .source = source};

	memset(err, 0, sizeof(*err));
	return adw_thread_post(conn, &cfg, &rq, out, err);
}

/*
 * Posts a request that must succeed with HTTP-ish status want_status; returns
 * the stored message (caller deletes); *adw (may be NULL) gets the ADW.
 */
static cJSON *post_ok(const char *adw, const char *action, const char *content, const char *meta,
		      const char *source, int want_status, cJSON **adw_json)
{
	struct adw_thread_result out;
	struct adw_err err;
	cJSON *m;

	ck_assert_msg(post(adw, action, content, meta, source, &out, &err) == 0, "%s: %s", action,
		      err.msg);
	ck_assert_int_eq(out.status, want_status);
	ck_assert_ptr_nonnull(out.message);
	ck_assert_ptr_nonnull(out.adw);
	m = cJSON_Parse(out.message);
	ck_assert_ptr_nonnull(m);
	if (adw_json) {
		*adw_json = cJSON_Parse(out.adw);
		ck_assert_ptr_nonnull(*adw_json);
	}
	adw_thread_result_release(&out);
	ck_assert_ptr_null(out.message);
	ck_assert_ptr_null(out.adw);
	return m;
}

/* Posts a request that must fail with code; out must stay empty. */
static void post_fail(const char *adw, const char *action, const char *content, const char *meta,
		      const char *source, enum adw_errcode code, const char *msg_part)
{
	struct adw_thread_result out;
	struct adw_err err;

	ck_assert_int_eq(post(adw, action, content, meta, source, &out, &err), -1);
	ck_assert_msg(err.code == code, "%s on %s: code %d (%s), want %d", action ? action : "-",
		      adw ? adw : "-", err.code, err.msg, code);
	if (msg_part)
		ck_assert_msg(strstr(err.msg, msg_part) != NULL, "'%s' lacks '%s'", err.msg,
			      msg_part);
	ck_assert_ptr_null(out.message);
	ck_assert_ptr_null(out.adw);
	ck_assert_int_eq(out.status, 0);
}

/* Checks a message object: action type, status and reason (NULL = null). */
static void expect_msg(const cJSON *m, const char *action, const char *status, const char *reason)
{
	const cJSON *ack = cJSON_GetObjectItemCaseSensitive(m, "acknowledged_at");
	const cJSON *done = cJSON_GetObjectItemCaseSensitive(m, "processed_at");
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "status_reason");

	ck_assert_str_eq(str(m, "sender"), "user");
	ck_assert_str_eq(str(m, "action_type"), action);
	ck_assert_str_eq(str(m, "action_status"), status);
	if (reason) {
		ck_assert_msg(cJSON_IsString(r), "status_reason is not a string");
		ck_assert_str_eq(r->valuestring, reason);
	} else {
		ck_assert_msg(cJSON_IsNull(r), "status_reason is set: %s",
			      cJSON_IsString(r) ? r->valuestring : "?");
	}
	/* A message taken at once has its times; a pending one has neither. */
	if (!strcmp(status, "pending")) {
		ck_assert(cJSON_IsNull(ack));
		ck_assert(cJSON_IsNull(done));
	} else {
		ck_assert(cJSON_IsString(ack));
		ck_assert(cJSON_IsString(done));
	}
}

/* Checks the newest message row of an ADW (reason NULL = SQL NULL). */
static void expect_last(const char *id, const char *action, const char *status, const char *reason,
			const char *content)
{
	const char *params[1] = {id};
	struct adw_err err = {0};
	PGresult *r = adw_db_query(conn,
				   "SELECT action_type, action_status, status_reason, content, "
				   "sender FROM adw_messages WHERE adw_id = $1 ORDER BY id DESC "
				   "LIMIT 1",
				   1, params, &err);

	ck_assert_msg(r != NULL, "%s", err.msg);
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), action);
	ck_assert_str_eq(PQgetvalue(r, 0, 1), status);
	if (reason)
		ck_assert_str_eq(PQgetvalue(r, 0, 2), reason);
	else
		ck_assert(PQgetisnull(r, 0, 2));
	if (content)
		ck_assert_str_eq(PQgetvalue(r, 0, 3), content);
	ck_assert_str_eq(PQgetvalue(r, 0, 4), "user");
	PQclear(r);
}

/* An action on an ended ADW: CONFLICT, and the message stored as ignored. */
static void expect_too_late(const char *id, const char *action, const char *content,
			    const char *status)
{
	char reason[128];
	long long before = countf("SELECT count(*) FROM adw_messages WHERE adw_id = '%s'", id);

	snprintf(reason, sizeof(reason), "too late: the adw already ended (%s)", status);
	post_fail(id, action, content, NULL, "api", ADW_ERR_CONFLICT, "already ended");
	ck_assert_int_eq(countf("SELECT count(*) FROM adw_messages WHERE adw_id = '%s'", id),
			 before + 1);
	expect_last(id, action, "ignored", reason, NULL);
	expect_adw(id, "status", status);
}

static char *msg_id(const cJSON *m)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "id");
	char buf[32];

	ck_assert(cJSON_IsNumber(v));
	snprintf(buf, sizeof(buf), "%.0f", v->valuedouble);
	return adw_xstrdup(buf);
}

/* ---- comment ---- */

START_TEST(test_comment_any_status)
{
	use_db("thread_comment");
	for (size_t i = 0; i < N(all_statuses); i++) {
		char *id = new_adw("Comment target");
		cJSON *m, *a;

		set_status(id, all_statuses[i], strcmp(all_statuses[i], "pending") != 0);
		m = post_ok(id, "comment", "looks good so far", NULL, "api", 201, &a);
		expect_msg(m, "comment", "processed", NULL);
		ck_assert_str_eq(str(m, "content"), "looks good so far");
		ck_assert_str_eq(str(m, "adw_id"), id);
		/* The ADW is left as it was. */
		ck_assert_str_eq(str(a, "status"), all_statuses[i]);
		expect_adw(id, "status", all_statuses[i]);
		cJSON_Delete(m);
		cJSON_Delete(a);
		free(id);
	}
	ck_assert_int_eq(count("SELECT count(*) FROM adw_messages WHERE action_type = 'comment' "
			       "AND action_status = 'processed'"),
			 (long long)N(all_statuses));
	/* A comment needs content. */
	{
		char *id = new_adw("Blank comment");

		post_fail(id, "comment", "  \n", NULL, "api", ADW_ERR_INVALID, NULL);
		post_fail(id, "comment", NULL, NULL, "api", ADW_ERR_INVALID, NULL);
		ck_assert_int_eq(
		    countf("SELECT count(*) FROM adw_messages WHERE adw_id = '%s'", id), 0);
		free(id);
	}
}
END_TEST

/* ---- instruction ---- */

START_TEST(test_instruction_open)
{
	static const char *const open[] = {"pending", "in_progress", "paused", "awaiting_input"};

	use_db("thread_instr_open");
	for (size_t i = 0; i < N(open); i++) {
		char *id = new_adw("Instruction target");
		cJSON *m, *a;

		set_status(id, open[i], strcmp(open[i], "pending") != 0);
		m = post_ok(id, "instruction", "use tabs, not spaces", NULL, "api", 201, &a);
		expect_msg(m, "instruction", "pending", NULL);
		ck_assert_str_eq(str(m, "content"), "use tabs, not spaces");
		ck_assert_str_eq(str(a, "status"), open[i]);
		expect_adw(id, "status", open[i]);
		cJSON_Delete(m);
		cJSON_Delete(a);
		free(id);
	}
	ck_assert_int_eq(count("SELECT count(*) FROM adw_messages WHERE action_status = 'pending'"),
			 4);
}
END_TEST

START_TEST(test_instruction_ended)
{
	use_db("thread_instr_ended");
	for (size_t i = 0; i < N(ended); i++) {
		char *id = new_adw("Ended instruction target");

		set_status(id, ended[i], true);
		expect_too_late(id, "instruction", "too late anyway", ended[i]);
		free(id);
	}
}
END_TEST

START_TEST(test_instruction_invalid)
{
	char *id, *big, *nonutf8;
	long long events;

	use_db("thread_instr_invalid");
	id = new_adw("Invalid instruction target");
	set_status(id, "in_progress", true);
	events = count("SELECT count(*) FROM events");
	/* Blank content. */
	post_fail(id, "instruction", "", NULL, "api", ADW_ERR_INVALID, "content must not be empty");
	post_fail(id, "instruction", " \t\r\n ", NULL, "api", ADW_ERR_INVALID, NULL);
	post_fail(id, "instruction", NULL, NULL, "api", ADW_ERR_INVALID, NULL);
	/* Over ADW_THREAD_TEXT_MAX bytes. */
	big = adw_xmalloc(ADW_THREAD_TEXT_MAX + 2);
	memset(big, 'x', ADW_THREAD_TEXT_MAX + 1);
	big[ADW_THREAD_TEXT_MAX + 1] = '\0';
	post_fail(id, "instruction", big, NULL, "api", ADW_ERR_INVALID, "over");
	/* Not UTF-8: a lone continuation byte, a truncated sequence, an overlong form. */
	post_fail(id, "instruction", "caf\xc3", NULL, "api", ADW_ERR_INVALID, "UTF-8");
	post_fail(id, "instruction", "a \xff b", NULL, "api", ADW_ERR_INVALID, "UTF-8");
	post_fail(id, "instruction", "\xc0\xaf", NULL, "api", ADW_ERR_INVALID, "UTF-8");
	nonutf8 = adw_xstrdup("ok \x80");
	post_fail(id, "pause", nonutf8, NULL, "api", ADW_ERR_INVALID, "UTF-8");
	free(nonutf8);
	/* Metadata that is not a JSON object. */
	post_fail(id, "instruction", "x", "[1, 2]", "api", ADW_ERR_INVALID, "metadata");
	post_fail(id, "instruction", "x", "\"text\"", "api", ADW_ERR_INVALID, "metadata");
	post_fail(id, "instruction", "x", "42", "api", ADW_ERR_INVALID, "metadata");
	post_fail(id, "instruction", "x", "null", "api", ADW_ERR_INVALID, "metadata");
	post_fail(id, "instruction", "x", "{not json", "api", ADW_ERR_INVALID, "metadata");
	post_fail(id, "instruction", "x", "", "api", ADW_ERR_INVALID, "metadata");
	/* Metadata with a string that is not UTF-8 (refused by the database). */
	post_fail(id, "instruction", "x", "{\"k\":\"\xff\"}", "api", ADW_ERR_INVALID, NULL);
	/* Nothing was stored, no event written, the ADW untouched. */
	ck_assert_int_eq(count("SELECT count(*) FROM adw_messages"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM events"), events);
	expect_adw(id, "status", "in_progress");
	/* Exactly ADW_THREAD_TEXT_MAX bytes, and multi-byte UTF-8, are accepted. */
	big[ADW_THREAD_TEXT_MAX] = '\0';
	cJSON_Delete(post_ok(id, "instruction", big, NULL, "api", 201, NULL));
	cJSON_Delete(post_ok(id, "instruction", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", NULL,
			     "api", 201, NULL));
	ck_assert_int_eq(countf("SELECT max(octet_length(content)) FROM adw_messages"),
			 ADW_THREAD_TEXT_MAX);
	free(big);
	free(id);
}
END_TEST

START_TEST(test_metadata_source)
{
	char *id, *v;
	cJSON *m, *meta;

	use_db("thread_metadata");
	id = new_adw("Metadata target");
	set_status(id, "in_progress", true);
	/* A caller's "source" is overridden by rq.source; other keys kept. */
	m = post_ok(id, "instruction", "do it",
		    "{\"source\":\"evil\",\"k\":1,\"n\":{\"a\":[true]}}", "cli", 201, NULL);
	meta = cJSON_GetObjectItemCaseSensitive(m, "metadata");
	ck_assert(cJSON_IsObject(meta));
	ck_assert_str_eq(str(meta, "source"), "cli");
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(meta, "k")->valueint, 1);
	ck_assert(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(meta, "n")));
	cJSON_Delete(m);
	v = query1("SELECT metadata::text FROM adw_messages WHERE adw_id = $1 ORDER BY id DESC "
		   "LIMIT 1",
		   id);
	ck_assert_msg(strstr(v, "evil") == NULL, "%s", v);
	free(v);
	ck_assert_int_eq(count("SELECT count(*) FROM adw_messages WHERE metadata->>'source' = "
			       "'cli' AND (metadata->>'k')::int = 1"),
			 1);
	/* Without a source, "api"; with none and no metadata, {"source":"api"}. */
	m = post_ok(id, "comment", "hello", NULL, NULL, 201, NULL);
	meta = cJSON_GetObjectItemCaseSensitive(m, "metadata");
	ck_assert_str_eq(str(meta, "source"), "api");
	ck_assert_int_eq(cJSON_GetArraySize(meta), 1);
	cJSON_Delete(m);
	m = post_ok(id, "comment", "from chat", "{}", "chat", 201, NULL);
	ck_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(m, "metadata"), "source"), "chat");
	cJSON_Delete(m);
	/* Even an ignored or too-late message records its source. */
	set_status(id, "completed", true);
	post_fail(id, "instruction", "late", "{\"source\":\"x\"}", "chat", ADW_ERR_CONFLICT, NULL);
	v = query1("SELECT metadata->>'source' FROM adw_messages WHERE adw_id = $1 ORDER BY id "
		   "DESC LIMIT 1",
		   id);
	ck_assert_str_eq(v, "chat");
	free(v);
	free(id);
}
END_TEST

/* ---- pause ---- */

START_TEST(test_pause_pending)
{
	char *id, *id2;
	cJSON *m, *a;

	use_db("thread_pause_pending");
	id = new_adw("Pause me");
	m = post_ok(id, "pause", "lunch break", NULL, "api", 200, &a);
	expect_msg(m, "pause", "processed", NULL);
	ck_assert_str_eq(str(m, "content"), "lunch break");
	/* Paused at once, seen in the returned ADW and in the table. */
	ck_assert_str_eq(str(a, "status"), "paused");
	ck_assert_str_eq(str(a, "pause_reason"), "lunch break");
	ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(a, "paused_at")));
	expect_adw(id, "status", "paused");
	expect_adw(id, "pause_reason", "lunch break");
	expect_adw_set(id, "paused_at", true);
	expect_adw_set(id, "started_at", false);
	ck_assert_int_eq(countf("SELECT count(*) FROM events WHERE adw_id = '%s' AND type = "
				"'AdwUpdated' AND category = 'system' AND content = 'status: "
				"paused' AND payload->'adw'->>'status' = 'paused'",
				id),
			 1);
	cJSON_Delete(m);
	cJSON_Delete(a);
	/* Without content: the default reason, also as the message's content. */
	id2 = new_adw("Pause me too");
	m = post_ok(id2, "pause", NULL, NULL, "api", 200, &a);
	expect_msg(m, "pause", "processed", NULL);
	ck_assert_str_eq(str(m, "content"), "Pause requested");
	ck_assert_str_eq(str(a, "pause_reason"), "Pause requested");
	expect_adw(id2, "pause_reason", "Pause requested");
	cJSON_Delete(m);
	cJSON_Delete(a);
	m = post_ok(id2, "pause", "   ", NULL, "api", 200, NULL);
	/* ... already paused now: ignored. */
	expect_msg(m, "pause", "ignored", "already paused");
	ck_assert_str_eq(str(m, "content"), "Pause requested");
	cJSON_Delete(m);
	/* No pending message: nothing for a runner to do. */
	ck_assert_int_eq(count("SELECT count(*) FROM adw_messages WHERE action_status = 'pending'"),
			 0);
	free(id);
	free(id2);
}
END_TEST

START_TEST(test_pause_running)
{
	static const char *const running[] = {"in_progress", "awaiting_input"};

	use_db("thread_pause_running");
	for (size_t i = 0; i < N(running); i++) {
		char *id = new_adw("Pause a running one");
		cJSON *m, *a;

		set_status(id, running[i], true);
		m = post_ok(id, "pause", "hold on", NULL, "api", 200, &a);
		expect_msg(m, "pause", "pending", NULL);
		ck_assert_str_eq(str(a, "status"), running[i]);
		ck_assert(is_null(a, "paused_at"));
		expect_adw(id, "status", running[i]);
		expect_adw_set(id, "paused_at", false);
		expect_adw_set(id, "pause_reason", false);
		ck_assert_int_eq(countf("SELECT count(*) FROM events WHERE adw_id = '%s' AND type "
					"= 'AdwUpdated'",
					id),
				 0);
		cJSON_Delete(m);
		cJSON_Delete(a);
		free(id);
	}
}
END_TEST

START_TEST(test_pause_already_paused)
{
	use_db("thread_pause_paused");
	for (int started = 0; started < 2; started++) {
		char *id = new_adw("Already paused");
		cJSON *m, *a;

		set_status(id, "paused", started);
		m = post_ok(id, "pause", "again", NULL, "api", 200, &a);
		expect_msg(m, "pause", "ignored", "already paused");
		ck_assert_str_eq(str(a, "status"), "paused");
		expect_adw(id, "status", "paused");
		cJSON_Delete(m);
		cJSON_Delete(a);
		free(id);
	}
}
END_TEST

START_TEST(test_pause_ended)
{
	use_db("thread_pause_ended");
	for (size_t i = 0; i < N(ended); i++) {
		char *id = new_adw("Pause an ended one");

		set_status(id, ended[i], true);
		expect_too_late(id, "pause", "stop", ended[i]);
		expect_adw_set(id, "paused_at", false);
		free(id);
	}
}
END_TEST

/* ---- resume ---- */

START_TEST(test_resume_unstarted)
{
	char *id;
	cJSON *m, *a;

	use_db("thread_resume_unstarted");
	id = new_adw("Resume before start");
	cJSON_Delete(post_ok(id, "pause", "wait", NULL, "api", 200, NULL));
	expect_adw(id, "status", "paused");
	m = post_ok(id, "resume", "go on", NULL, "api", 200, &a);
	expect_msg(m, "resume", "processed", NULL);
	ck_assert_str_eq(str(a, "status"), "pending");
	ck_assert(is_null(a, "paused_at"));
	ck_assert(is_null(a, "pause_reason"));
	expect_adw(id, "status", "pending");
	expect_adw_set(id, "paused_at", false);
	expect_adw_set(id, "pause_reason", false);
	ck_assert_int_eq(countf("SELECT count(*) FROM events WHERE adw_id = '%s' AND type = "
				"'AdwUpdated' AND content = 'status: pending'",
				id),
			 1);
	cJSON_Delete(m);
	cJSON_Delete(a);
	/* Paused directly (no pause message), no content: the default text. */
	set_status(id, "paused", false);
	exec2("UPDATE ai_developer_workflows SET paused_at = now(), pause_reason = 'x' WHERE "
	      "id = $1",
	      id, NULL);
	m = post_ok(id, "resume", NULL, NULL, "api", 200, NULL);
	expect_msg(m, "resume", "processed", NULL);
	ck_assert_str_eq(str(m, "content"), "Resume requested");
	expect_adw(id, "status", "pending");
	expect_adw_set(id, "paused_at", false);
	expect_adw_set(id, "pause_reason", false);
	cJSON_Delete(m);
	/* Resuming a pending ADW is a no-op. */
	m = post_ok(id, "resume", NULL, NULL, "api", 200, NULL);
	expect_msg(m, "resume", "ignored", "not paused");
	cJSON_Delete(m);
	free(id);
}
END_TEST

START_TEST(test_resume_paused_in_run)
{
	char *id;
	cJSON *m, *a;

	use_db("thread_resume_in_run");
	id = new_adw("Resume a paused run");
	set_status(id, "paused", true);
	m = post_ok(id, "resume", "continue", NULL, "api", 200, &a);
	expect_msg(m, "resume", "pending", NULL);
	ck_assert_str_eq(str(a, "status"), "paused");
	expect_adw(id, "status", "paused");
	cJSON_Delete(m);
	cJSON_Delete(a);
	free(id);
}
END_TEST

START_TEST(test_resume_pause_open)
{
	char *id;
	cJSON *m;

	use_db("thread_resume_open");
	id = new_adw("Resume with a pause in flight");
	set_status(id, "in_progress", true);
	/* No pause asked: nothing to resume. */
	m = post_ok(id, "resume", NULL, NULL, "api", 200, NULL);
	expect_msg(m, "resume", "ignored", "not paused");
	cJSON_Delete(m);
	/* A pending pause message: the resume goes to adw-run too. */
	m = post_ok(id, "pause", NULL, NULL, "api", 200, NULL);
	expect_msg(m, "pause", "pending", NULL);
	cJSON_Delete(m);
	m = post_ok(id, "resume", NULL, NULL, "api", 200, NULL);
	expect_msg(m, "resume", "pending", NULL);
	cJSON_Delete(m);
	/* ... and likewise while it is acknowledged. */
	exec2("UPDATE adw_messages SET action_status = 'acknowledged', acknowledged_at = now() "
	      "WHERE adw_id = $1 AND action_type = 'pause'",
	      id, NULL);
	m = post_ok(id, "resume", NULL, NULL, "api", 200, NULL);
	expect_msg(m, "resume", "pending", NULL);
	cJSON_Delete(m);
	/* Once the pause is processed (or ignored), it is not open any more. */
	exec2("UPDATE adw_messages SET action_status = 'ignored' WHERE adw_id = $1 AND "
	      "action_type = 'pause'",
	      id, NULL);
	m = post_ok(id, "resume", NULL, NULL, "api", 200, NULL);
	expect_msg(m, "resume", "ignored", "not paused");
	cJSON_Delete(m);
	expect_adw(id, "status", "in_progress");
	/* awaiting_input without a pause: not paused either. */
	set_status(id, "awaiting_input", true);
	m = post_ok(id, "resume", NULL, NULL, "api", 200, NULL);
	expect_msg(m, "resume", "ignored", "not paused");
	cJSON_Delete(m);
	free(id);
}
END_TEST

START_TEST(test_resume_ended)
{
	use_db("thread_resume_ended");
	for (size_t i = 0; i < N(ended); i++) {
		char *id = new_adw("Resume an ended one"), reason[96];

		set_status(id, ended[i], true);
		expect_too_late(id, "resume", NULL, ended[i]);
		/* The default text is stored. */
		snprintf(reason, sizeof(reason), "too late: the adw already ended (%s)", ended[i]);
		expect_last(id, "resume", "ignored", reason, "Resume requested");
		free(id);
	}
}
END_TEST

/* ---- cancel ---- */

/* Checks that id was cancelled at once with reason by by. */
static void expect_cancelled(const char *id, const char *reason, const char *by)
{
	expect_adw(id, "status", "cancelled");
	expect_adw(id, "cancel_reason", reason);
	expect_adw(id, "cancelled_by", by);
	expect_adw_set(id, "completed_at", true);
	expect_adw_set(id, "paused_at", false);
	ck_assert_int_ge(countf("SELECT count(*) FROM adw_steps WHERE adw_id = '%s'", id), 2);
	ck_assert_int_eq(countf("SELECT count(*) FROM adw_steps WHERE adw_id = '%s' AND status "
				"<> 'cancelled'",
				id),
			 0);
	ck_assert_int_eq(countf("SELECT count(*) FROM events WHERE adw_id = '%s' AND type = "
				"'AdwUpdated' AND content = 'status: cancelled'",
				id),
			 1);
	/* No message is left open. */
	ck_assert_int_eq(countf("SELECT count(*) FROM adw_messages WHERE adw_id = '%s' AND "
				"action_status IN ('pending', 'acknowledged')",
				id),
			 0);
}

START_TEST(test_cancel_unstarted)
{
	char *id, *id2, *id3;
	cJSON *m, *a;

	use_db("thread_cancel_unstarted");
	/* Pending, with an instruction and an acknowledged one waiting. */
	id = new_adw("Cancel before start");
	cJSON_Delete(post_ok(id, "instruction", "first", NULL, "api", 201, NULL));
	cJSON_Delete(post_ok(id, "instruction", "second", NULL, "api", 201, NULL));
	cJSON_Delete(post_ok(id, "comment", "a comment", NULL, "api", 201, NULL));
	exec2("UPDATE adw_messages SET action_status = 'acknowledged' WHERE adw_id = $1 AND "
	      "content = 'second'",
	      id, NULL);
	m = post_ok(id, "cancel", "duplicate", NULL, "cli", 200, &a);
	expect_msg(m, "cancel", "processed", NULL);
	ck_assert_str_eq(str(a, "status"), "cancelled");
	ck_assert_str_eq(str(a, "cancel_reason"), "duplicate");
	ck_assert_str_eq(str(a, "cancelled_by"), "user via cli");
	expect_cancelled(id, "duplicate", "user via cli");
	ck_assert_int_eq(countf("SELECT count(*) FROM adw_messages WHERE adw_id = '%s' AND "
				"action_type = 'instruction' AND action_status = 'ignored' AND "
				"status_reason = 'the adw was cancelled' AND processed_at IS NOT "
				"NULL",
				id),
			 2);
	/* The comment and the cancel itself stay processed. */
	ck_assert_int_eq(countf("SELECT count(*) FROM adw_messages WHERE adw_id = '%s' AND "
				"action_status = 'processed'",
				id),
			 2);
	cJSON_Delete(m);
	cJSON_Delete(a);
	/* Paused before it started; no reason, no source. */
	id2 = new_adw("Cancel while paused");
	cJSON_Delete(post_ok(id2, "pause", NULL, NULL, "api", 200, NULL));
	m = post_ok(id2, "cancel", NULL, NULL, NULL, 200, NULL);
	expect_msg(m, "cancel", "processed", NULL);
	ck_assert_str_eq(str(m, "content"), "Cancel requested");
	expect_cancelled(id2, "Cancel requested", "user via api");
	cJSON_Delete(m);
	/* A chat cancel is recorded as such. */
	id3 = new_adw("Cancel from chat");
	cJSON_Delete(post_ok(id3, "cancel", "wrong repo", NULL, "chat", 200, NULL));
	expect_cancelled(id3, "wrong repo", "user via chat");
	free(id);
	free(id2);
	free(id3);
}
END_TEST

START_TEST(test_cancel_running)
{
	use_db("thread_cancel_running");
	for (int i = 0; i < 3; i++) {
		static const char *const st[] = {"in_progress", "paused", "awaiting_input"};
		char *id = new_adw("Cancel a running one");
		cJSON *m, *a;

		set_status(id, st[i], true);
		m = post_ok(id, "cancel", "stop it", NULL, "api", 200, &a);
		expect_msg(m, "cancel", "pending", NULL);
		ck_assert_str_eq(str(a, "status"), st[i]);
		expect_adw(id, "status", st[i]);
		expect_adw_set(id, "cancel_reason", false);
		expect_adw_set(id, "cancelled_by", false);
		ck_assert_int_eq(countf("SELECT count(*) FROM adw_steps WHERE adw_id = '%s' AND "
					"status = 'cancelled'",
					id),
				 0);
		cJSON_Delete(m);
		cJSON_Delete(a);
		free(id);
	}
}
END_TEST

START_TEST(test_cancel_already_cancelled)
{
	char *id;
	cJSON *m, *a;

	use_db("thread_cancel_twice");
	id = new_adw("Cancel twice");
	cJSON_Delete(post_ok(id, "cancel", "first", NULL, "api", 200, NULL));
	m = post_ok(id, "cancel", "second", NULL, "cli", 200, &a);
	expect_msg(m, "cancel", "ignored", "already cancelled");
	ck_assert_str_eq(str(a, "status"), "cancelled");
	/* The first cancel stands. */
	expect_adw(id, "cancel_reason", "first");
	expect_adw(id, "cancelled_by", "user via api");
	ck_assert_int_eq(countf("SELECT count(*) FROM events WHERE adw_id = '%s' AND type = "
				"'AdwUpdated' AND content = 'status: cancelled'",
				id),
			 1);
	cJSON_Delete(m);
	cJSON_Delete(a);
	/* Also when it was cancelled by someone else (a run that was running). */
	set_status(id, "cancelled", true);
	m = post_ok(id, "cancel", NULL, NULL, "api", 200, NULL);
	expect_msg(m, "cancel", "ignored", "already cancelled");
	cJSON_Delete(m);
	free(id);
}
END_TEST

START_TEST(test_cancel_ended)
{
	static const char *const done[] = {"completed", "failed"};

	use_db("thread_cancel_ended");
	for (size_t i = 0; i < N(done); i++) {
		char *id = new_adw("Cancel a finished one");

		set_status(id, done[i], true);
		expect_too_late(id, "cancel", "too late", done[i]);
		expect_adw_set(id, "cancel_reason", false);
		free(id);
	}
}
END_TEST

/* ---- redirect ---- */

START_TEST(test_redirect_blank)
{
	char *id;

	use_db("thread_redirect_blank");
	id = new_adw("Redirect nowhere");
	post_fail(id, "redirect", "", NULL, "api", ADW_ERR_INVALID, "the new prompt");
	post_fail(id, "redirect", " \n\t", NULL, "api", ADW_ERR_INVALID, "the new prompt");
	post_fail(id, "redirect", NULL, NULL, "api", ADW_ERR_INVALID, "the new prompt");
	set_status(id, "in_progress", true);
	post_fail(id, "redirect", "  ", NULL, "api", ADW_ERR_INVALID, "the new prompt");
	ck_assert_int_eq(count("SELECT count(*) FROM ai_developer_workflows"), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM adw_messages"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM events WHERE type = 'AdwCreated'"), 1);
	expect_adw_set(id, "redirected_to", false);
	free(id);
	/* A redirect failing after the new ADW was made (bad metadata) leaves nothing. */
	id = new_adw("Redirect with bad metadata");
	post_fail(id, "redirect", "New prompt", "{\"k\":\"\xc3\"}", "api", ADW_ERR_INVALID, NULL);
	ck_assert_int_eq(count("SELECT count(*) FROM ai_developer_workflows"), 2);
	ck_assert_int_eq(count("SELECT count(*) FROM adw_messages"), 0);
	expect_adw(id, "status", "pending");
	expect_adw_set(id, "redirected_to", false);
	free(id);
}
END_TEST

START_TEST(test_redirect_pending)
{
	struct adw_new in = {.workflow = "plan_build_review",
			     .prompt = "Build a select box",
			     .runtime = "dry-run",
			     .model = "sonnet"};
	struct adw_err err = {0};
	char sub[96], *id = NULL, *reason;
	cJSON *m, *a, *meta;
	const char *nid;

	use_db("thread_redirect_pending");
	snprintf(sub, sizeof(sub), "%s/repo", workdir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	in.working_dir = sub;
	ck_assert_msg(adw_store_adw_create(conn, &cfg, &in, NULL, &id, &err) == 0, "%s", err.msg);
	m = post_ok(id, "redirect", "Build a dropdown instead", NULL, "chat", 201, &a);
	/* out->adw is the new ADW, a copy of the old one with the new prompt. */
	nid = str(a, "id");
	ck_assert_str_ne(nid, id);
	ck_assert_str_eq(str(a, "status"), "pending");
	ck_assert_str_eq(str(a, "prompt"), "Build a dropdown instead");
	ck_assert_str_eq(str(a, "workflow"), "plan_build_review");
	ck_assert_str_eq(str(a, "working_dir"), sub);
	ck_assert_str_eq(str(a, "runtime"), "dry-run");
	ck_assert_str_eq(str(a, "model"), "sonnet");
	ck_assert_str_eq(str(a, "redirected_from"), id);
	ck_assert_str_eq(str(a, "redirected_from_name"), "build-a-select-box");
	ck_assert(is_null(a, "redirected_to"));
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(a, "total_steps")->valueint, 3);
	expect_adw(nid, "metadata->>'source'", "chat");
	expect_adw(nid, "status", "pending");
	expect_adw(nid, "redirected_from", id);
	/* The message, stored on the old ADW, processed, pointing at the new one. */
	expect_msg(m, "redirect", "processed", NULL);
	ck_assert_str_eq(str(m, "adw_id"), id);
	ck_assert_str_eq(str(m, "content"), "Build a dropdown instead");
	meta = cJSON_GetObjectItemCaseSensitive(m, "metadata");
	ck_assert_str_eq(str(meta, "redirected_to"), nid);
	ck_assert_str_eq(str(meta, "source"), "chat");
	/* The old one is cancelled at once and linked to the new one. */
	reason = adw_xasprintf("redirected to %s", str(a, "name"));
	expect_cancelled(id, reason, "user via chat");
	expect_adw(id, "redirected_to", nid);
	expect_adw_set(id, "redirected_from", false);
	ck_assert_int_eq(count("SELECT count(*) FROM ai_developer_workflows"), 2);
	ck_assert_int_eq(countf("SELECT count(*) FROM events WHERE type = 'AdwCreated' AND adw_id "
				"= '%s'",
				nid),
			 1);
	ck_assert_int_eq(countf("SELECT count(*) FROM adw_steps WHERE adw_id = '%s' AND status = "
				"'pending'",
				nid),
			 3);
	/* The new one has no messages of its own. */
	ck_assert_int_eq(countf("SELECT count(*) FROM adw_messages WHERE adw_id = '%s'", nid), 0);
	free(reason);
	cJSON_Delete(m);
	cJSON_Delete(a);
	free(id);
}
END_TEST

START_TEST(test_redirect_paused_unstarted)
{
	char *id;
	cJSON *m, *a;

	use_db("thread_redirect_paused");
	id = new_adw("Redirect a paused one");
	cJSON_Delete(post_ok(id, "pause", NULL, NULL, "api", 200, NULL));
	m = post_ok(id, "redirect", "Something else", NULL, "api", 201, &a);
	expect_msg(m, "redirect", "processed", NULL);
	ck_assert_str_eq(str(a, "status"), "pending");
	expect_adw(id, "status", "cancelled");
	expect_adw(id, "cancel_reason", "redirected to something-else");
	expect_adw(id, "redirected_to", str(a, "id"));
	expect_adw_set(id, "paused_at", false);
	cJSON_Delete(m);
	cJSON_Delete(a);
	free(id);
}
END_TEST

START_TEST(test_redirect_running)
{
	char *id;
	cJSON *m, *a;
	const char *nid;

	use_db("thread_redirect_running");
	id = new_adw("Redirect a running one");
	set_status(id, "in_progress", true);
	m = post_ok(id, "redirect", "The new plan", NULL, "api", 201, &a);
	nid = str(a, "id");
	ck_assert_str_ne(nid, id);
	ck_assert_str_eq(str(a, "status"), "pending");
	ck_assert_str_eq(str(a, "prompt"), "The new plan");
	ck_assert_str_eq(str(a, "redirected_from"), id);
	/* A pending message for adw-run, naming the new ADW. */
	expect_msg(m, "redirect", "pending", NULL);
	ck_assert_str_eq(str(cJSON_GetObjectItemCaseSensitive(m, "metadata"), "redirected_to"),
			 nid);
	/* The old one runs on until adw-run takes the message. */
	expect_adw(id, "status", "in_progress");
	expect_adw_set(id, "cancel_reason", false);
	expect_adw(id, "redirected_to", nid);
	ck_assert_int_eq(count("SELECT count(*) FROM ai_developer_workflows"), 2);
	cJSON_Delete(m);
	cJSON_Delete(a);
	free(id);
}
END_TEST

START_TEST(test_redirect_ended)
{
	use_db("thread_redirect_ended");
	for (size_t i = 0; i < N(ended); i++) {
		char *id = new_adw("Redirect an ended one");

		set_status(id, ended[i], true);
		expect_too_late(id, "redirect", "Another prompt", ended[i]);
		expect_adw_set(id, "redirected_to", false);
		free(id);
	}
	/* No new ADW was created. */
	ck_assert_int_eq(count("SELECT count(*) FROM ai_developer_workflows"), (long long)N(ended));
	ck_assert_int_eq(count("SELECT count(*) FROM ai_developer_workflows WHERE prompt = "
			       "'Another prompt'"),
			 0);
}
END_TEST

/* ---- unknown action / ADW, lookup by name ---- */

START_TEST(test_unknown_action_and_adw)
{
	char *id, *older, *newer;
	cJSON *m;

	use_db("thread_unknown");
	id = new_adw("Lookup target");
	post_fail(id, "explode", "x", NULL, "api", ADW_ERR_INVALID, "action_type must be");
	post_fail(id, "", "x", NULL, "api", ADW_ERR_INVALID, NULL);
	post_fail(id, NULL, "x", NULL, "api", ADW_ERR_INVALID, NULL);
	post_fail(id, "answer", "x", NULL, "api", ADW_ERR_INVALID, NULL);
	post_fail(id, "question", "x", NULL, "api", ADW_ERR_INVALID, NULL);
	post_fail(id, "PAUSE", NULL, NULL, "api", ADW_ERR_INVALID, NULL);
	post_fail("00000000-0000-0000-0000-000000000000", "comment", "x", NULL, "api",
		  ADW_ERR_NOT_FOUND, "not found");
	post_fail("no-such-adw", "pause", NULL, NULL, "api", ADW_ERR_NOT_FOUND, "not found");
	post_fail("no-such-adw", "redirect", "p", NULL, "api", ADW_ERR_NOT_FOUND, NULL);
	ck_assert_int_eq(count("SELECT count(*) FROM adw_messages"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM ai_developer_workflows"), 1);
	/* By name: the newest of that name. */
	m = post_ok("lookup-target", "comment", "by name", NULL, "api", 201, NULL);
	ck_assert_str_eq(str(m, "adw_id"), id);
	cJSON_Delete(m);
	older = id;
	exec2("UPDATE ai_developer_workflows SET created_at = now() - interval '1 hour' WHERE "
	      "id = $1",
	      older, NULL);
	newer = new_adw("Lookup target");
	m = post_ok("lookup-target", "pause", NULL, NULL, "api", 200, NULL);
	ck_assert_str_eq(str(m, "adw_id"), newer);
	cJSON_Delete(m);
	expect_adw(newer, "status", "paused");
	expect_adw(older, "status", "pending");
	free(older);
	free(newer);
}
END_TEST

/* ---- NOTIFY ---- */

/* A second connection LISTENing on the ADW's control channel. */
static PGconn *listen_on(const char *id, char *channel, size_t size)
{
	PGconn *l = testlib_connect(dbinfo);
	size_t j = 0;
	char sql[128];

	j = (size_t)snprintf(channel, size, "adw_control_");
	for (const char *p = id; *p && j + 1 < size; p++) {
		if (*p != '-')
			channel[j++] = *p;
	}
	channel[j] = '\0';
	ck_assert_uint_eq(strlen(channel), strlen("adw_control_") + 32);
	snprintf(sql, sizeof(sql), "LISTEN %s", channel);
	PQclear(testlib_query(l, sql));
	return l;
}

/* Waits up to ms for a notification on l; returns its payload (caller frees) or NULL. */
static char *wait_notify(PGconn *l, const char *channel, int ms)
{
	for (int waited = 0;; waited += 50) {
		PGnotify *n;
		struct pollfd pfd = {.fd = PQsocket(l), .events = POLLIN};

		ck_assert_int_eq(PQconsumeInput(l), 1);
		n = PQnotifies(l);
		if (n) {
			char *payload = adw_xstrdup(n->extra);

			ck_assert_str_eq(n->relname, channel);
			PQfreemem(n);
			return payload;
		}
		if (waited >= ms)
			return NULL;
		(void)poll(&pfd, 1, 50);
	}
}

START_TEST(test_notify)
{
	char *id, *other, *mid, *payload, channel[64];
	PGconn *l;
	cJSON *m;

	use_db("thread_notify");
	id = new_adw("Notify me");
	other = new_adw("Someone else");
	set_status(id, "in_progress", true);
	set_status(other, "in_progress", true);
	l = listen_on(id, channel, sizeof(channel));
	/* A pending instruction: one NOTIFY with the message id. */
	m = post_ok(id, "instruction", "use tabs", NULL, "api", 201, NULL);
	mid = msg_id(m);
	payload = wait_notify(l, channel, 5000);
	ck_assert_msg(payload != NULL, "no notification for a pending message");
	ck_assert_str_eq(payload, mid);
	free(payload);
	free(mid);
	cJSON_Delete(m);
	ck_assert_ptr_null(wait_notify(l, channel, 200));
	/* Processed or ignored messages, and other ADWs' messages: none. */
	cJSON_Delete(post_ok(id, "comment", "just saying", NULL, "api", 201, NULL));
	cJSON_Delete(post_ok(id, "resume", NULL, NULL, "api", 200, NULL)); /* ignored */
	cJSON_Delete(post_ok(other, "instruction", "not for you", NULL, "api", 201, NULL));
	ck_assert_ptr_null(wait_notify(l, channel, 500));
	/* A pending pause, then a pending cancel: one each, in order. */
	m = post_ok(id, "pause", NULL, NULL, "api", 200, NULL);
	mid = msg_id(m);
	cJSON_Delete(m);
	payload = wait_notify(l, channel, 5000);
	ck_assert_ptr_nonnull(payload);
	ck_assert_str_eq(payload, mid);
	free(payload);
	free(mid);
	m = post_ok(id, "cancel", NULL, NULL, "api", 200, NULL);
	mid = msg_id(m);
	cJSON_Delete(m);
	payload = wait_notify(l, channel, 5000);
	ck_assert_ptr_nonnull(payload);
	ck_assert_str_eq(payload, mid);
	free(payload);
	free(mid);
	/* A too-late message (ignored) does not wake anyone. */
	set_status(id, "completed", true);
	post_fail(id, "instruction", "late", NULL, "api", ADW_ERR_CONFLICT, NULL);
	ck_assert_ptr_null(wait_notify(l, channel, 300));
	/* An ADW acted on at once (pending, then paused): no NOTIFY on its channel. */
	{
		char *p = new_adw("Pending one"), ch2[64];
		PGconn *l2 = listen_on(p, ch2, sizeof(ch2));

		cJSON_Delete(post_ok(p, "pause", NULL, NULL, "api", 200, NULL));
		cJSON_Delete(post_ok(p, "resume", NULL, NULL, "api", 200, NULL));
		cJSON_Delete(post_ok(p, "cancel", NULL, NULL, "api", 200, NULL));
		ck_assert_ptr_null(wait_notify(l2, ch2, 300));
		PQfinish(l2);
		free(p);
	}
	PQfinish(l);
	free(id);
	free(other);
}
END_TEST

/* ---- events ---- */

START_TEST(test_events)
{
	char *id, *id2, *mid, sql[512];
	cJSON *m;
	PGresult *r;

	use_db("thread_events");
	id = new_adw("Events of messages");
	set_status(id, "in_progress", true);
	m = post_ok(id, "instruction", "use tabs", NULL, "api", 201, NULL);
	mid = msg_id(m);
	cJSON_Delete(m);
	snprintf(sql, sizeof(sql),
		 "SELECT category, content, summary, payload->'message'->>'id', "
		 "payload->'message'->>'action_status', payload->'message'->>'action_type' FROM "
		 "events WHERE adw_id = '%s' AND type = 'ThreadMessage' ORDER BY id",
		 id);
	r = testlib_query(conn, sql);
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "control");
	ck_assert_str_eq(PQgetvalue(r, 0, 1), "use tabs");
	ck_assert_str_eq(PQgetvalue(r, 0, 2), "user instruction: use tabs");
	ck_assert_str_eq(PQgetvalue(r, 0, 3), mid);
	ck_assert_str_eq(PQgetvalue(r, 0, 4), "pending");
	ck_assert_str_eq(PQgetvalue(r, 0, 5), "instruction");
	PQclear(r);
	ck_assert_int_eq(count("SELECT count(*) FROM events WHERE type = 'ThreadMessageUpdated'"),
			 0);
	/* Each change of action_status is an event; other updates are not. */
	exec2("UPDATE adw_messages SET action_status = 'acknowledged' WHERE id = $1::bigint", mid,
	      NULL);
	exec2("UPDATE adw_messages SET action_status = 'processed', status_reason = 'done' WHERE "
	      "id = $1::bigint",
	      mid, NULL);
	exec2("UPDATE adw_messages SET content = 'edited' WHERE id = $1::bigint", mid, NULL);
	snprintf(sql, sizeof(sql),
		 "SELECT category, summary, payload->'message'->>'action_status', "
		 "payload->'message'->>'id' FROM events WHERE adw_id = '%s' AND type = "
		 "'ThreadMessageUpdated' ORDER BY id",
		 id);
	r = testlib_query(conn, sql);
	ck_assert_int_eq(PQntuples(r), 2);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "control");
	ck_assert_str_eq(PQgetvalue(r, 0, 2), "acknowledged");
	ck_assert_str_eq(PQgetvalue(r, 1, 2), "processed");
	ck_assert_str_eq(PQgetvalue(r, 0, 3), mid);
	ck_assert_msg(strstr(PQgetvalue(r, 1, 1), "(done)") != NULL, "%s", PQgetvalue(r, 1, 1));
	PQclear(r);
	free(mid);
	/* Every stored message is one ThreadMessage event, whatever its status. */
	cJSON_Delete(post_ok(id, "comment", "c", NULL, "api", 201, NULL));
	cJSON_Delete(post_ok(id, "resume", NULL, NULL, "api", 200, NULL));
	set_status(id, "failed", true);
	post_fail(id, "pause", NULL, NULL, "api", ADW_ERR_CONFLICT, NULL);
	ck_assert_int_eq(countf("SELECT count(*) FROM events WHERE adw_id = '%s' AND type = "
				"'ThreadMessage' AND category = 'control'",
				id),
			 countf("SELECT count(*) FROM adw_messages WHERE adw_id = '%s'", id));
	ck_assert_int_eq(countf("SELECT count(*) FROM events WHERE adw_id = '%s' AND type = "
				"'ThreadMessage'",
				id),
			 4);
	/* A cancel at once ignores open messages: one update event each. */
	id2 = new_adw("Events of a cancel");
	cJSON_Delete(post_ok(id2, "instruction", "one", NULL, "api", 201, NULL));
	cJSON_Delete(post_ok(id2, "instruction", "two", NULL, "api", 201, NULL));
	cJSON_Delete(post_ok(id2, "cancel", NULL, NULL, "api", 200, NULL));
	ck_assert_int_eq(countf("SELECT count(*) FROM events WHERE adw_id = '%s' AND type = "
				"'ThreadMessage'",
				id2),
			 3);
	ck_assert_int_eq(countf("SELECT count(*) FROM events WHERE adw_id = '%s' AND type = "
				"'ThreadMessageUpdated' AND payload->'message'->>'action_status' "
				"= 'ignored' AND category = 'control'",
				id2),
			 2);
	free(id);
	free(id2);
}
END_TEST

/* ---- adw_thread_list ---- */

static cJSON *list(const char *adw, long long after, int limit)
{
	struct adw_err err = {0};
	char *json = NULL;
	cJSON *o, *arr;

	ck_assert_msg(adw_thread_list(conn, adw, after, limit, &json, &err) == 0, "%s", err.msg);
	o = cJSON_Parse(json);
	free(json);
	ck_assert_ptr_nonnull(o);
	arr = cJSON_DetachItemFromObjectCaseSensitive(o, "messages");
	cJSON_Delete(o);
	ck_assert(cJSON_IsArray(arr));
	return arr;
}

static long long item_id(const cJSON *arr, int i)
{
	return (long long)cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, i), "id")
	    ->valuedouble;
}

START_TEST(test_list)
{
	char *id, *other;
	long long ids[5];
	cJSON *arr;
	struct adw_err err = {0};
	char *json = NULL;

	use_db("thread_list");
	id = new_adw("List me");
	other = new_adw("Not me");
	set_status(id, "in_progress", true);
	for (int i = 0; i < 5; i++) {
		char text[16];
		cJSON *m;

		snprintf(text, sizeof(text), "message %d", i);
		m = post_ok(id, i % 2 ? "comment" : "instruction", text, NULL, "api", 201, NULL);
		ids[i] = (long long)cJSON_GetObjectItemCaseSensitive(m, "id")->valuedouble;
		cJSON_Delete(m);
		cJSON_Delete(post_ok(other, "comment", "noise", NULL, "api", 201, NULL));
	}
	/* All, oldest first, only this ADW's. */
	arr = list(id, 0, 100);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 5);
	for (int i = 0; i < 5; i++) {
		char text[16];

		snprintf(text, sizeof(text), "message %d", i);
		ck_assert_int_eq(item_id(arr, i), ids[i]);
		ck_assert_str_eq(str(cJSON_GetArrayItem(arr, i), "content"), text);
		ck_assert_str_eq(str(cJSON_GetArrayItem(arr, i), "adw_id"), id);
	}
	cJSON_Delete(arr);
	/* after: only newer ones. */
	arr = list(id, ids[1], 100);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 3);
	ck_assert_int_eq(item_id(arr, 0), ids[2]);
	ck_assert_int_eq(item_id(arr, 2), ids[4]);
	cJSON_Delete(arr);
	/* limit: the oldest ones. */
	arr = list(id, 0, 2);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 2);
	ck_assert_int_eq(item_id(arr, 0), ids[0]);
	ck_assert_int_eq(item_id(arr, 1), ids[1]);
	cJSON_Delete(arr);
	/* Both, by name. */
	arr = list("list-me", ids[0], 2);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 2);
	ck_assert_int_eq(item_id(arr, 0), ids[1]);
	ck_assert_int_eq(item_id(arr, 1), ids[2]);
	cJSON_Delete(arr);
	/* Nothing after the last; limit at its maximum. */
	arr = list(id, ids[4], ADW_THREAD_LIST_MAX);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 0);
	cJSON_Delete(arr);
	/* An ADW without messages. */
	{
		char *empty = new_adw("Quiet one");

		arr = list(empty, 0, 10);
		ck_assert_int_eq(cJSON_GetArraySize(arr), 0);
		cJSON_Delete(arr);
		free(empty);
	}
	/* Errors. */
	ck_assert_int_eq(adw_thread_list(conn, "no-such-adw", 0, 10, &json, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_NOT_FOUND);
	ck_assert_int_eq(
	    adw_thread_list(conn, "00000000-0000-0000-0000-000000000000", 0, 10, &json, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_NOT_FOUND);
	ck_assert_int_eq(adw_thread_list(conn, id, 0, 0, &json, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_int_eq(adw_thread_list(conn, id, 0, -1, &json, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_int_eq(adw_thread_list(conn, id, 0, ADW_THREAD_LIST_MAX + 1, &json, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_ptr_null(json);
	free(id);
	free(other);
}
END_TEST

/* ---- adw_thread_note ---- */

START_TEST(test_note)
{
	struct adw_err err = {0};
	char *id;
	PGresult *r;
	char sql[512];

	use_db("thread_note");
	id = new_adw("Noted");
	set_status(id, "in_progress", true);
	ck_assert_msg(adw_thread_note(conn, id, "system", "plan", "Plan step finished in 3.2 s",
				      NULL, &err) == 0,
		      "%s", err.msg);
	ck_assert_msg(
	    adw_thread_note(conn, id, "agent", NULL, "Working on it", "{\"tokens\":12}", &err) == 0,
	    "%s", err.msg);
	snprintf(sql, sizeof(sql),
		 "SELECT sender, action_type, action_status, content, step, metadata::text, "
		 "processed_at IS NOT NULL, status_reason IS NULL FROM adw_messages WHERE adw_id "
		 "= '%s' ORDER BY id",
		 id);
	r = testlib_query(conn, sql);
	ck_assert_int_eq(PQntuples(r), 2);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "system");
	ck_assert_str_eq(PQgetvalue(r, 0, 1), "comment");
	ck_assert_str_eq(PQgetvalue(r, 0, 2), "processed");
	ck_assert_str_eq(PQgetvalue(r, 0, 3), "Plan step finished in 3.2 s");
	ck_assert_str_eq(PQgetvalue(r, 0, 4), "plan");
	ck_assert_str_eq(PQgetvalue(r, 0, 5), "{}");
	ck_assert_str_eq(PQgetvalue(r, 0, 6), "t");
	ck_assert_str_eq(PQgetvalue(r, 0, 7), "t");
	ck_assert_str_eq(PQgetvalue(r, 1, 0), "agent");
	ck_assert_str_eq(PQgetvalue(r, 1, 2), "processed");
	ck_assert(PQgetisnull(r, 1, 4));
	ck_assert_str_eq(PQgetvalue(r, 1, 5), "{\"tokens\": 12}");
	PQclear(r);
	/* An event each, no NOTIFY-worthy pending message. */
	ck_assert_int_eq(countf("SELECT count(*) FROM events WHERE adw_id = '%s' AND type = "
				"'ThreadMessage' AND summary LIKE 'system comment: %%'",
				id),
			 1);
	ck_assert_int_eq(count("SELECT count(*) FROM adw_messages WHERE action_status = 'pending'"),
			 0);
	/* A bad sender is refused by the database. */
	ck_assert_int_eq(adw_thread_note(conn, id, "user?", NULL, "x", NULL, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	free(id);
}
END_TEST

/* ---- questions ---- */

/* Inserts a pending question (id NULL = a generated one); returns its id. */
static char *ask(const char *adw_id, const char *id, const char *question)
{
	struct adw_err err = {0};
	const char *params[3] = {adw_id, id, question};
	PGresult *r =
	    adw_db_query(conn,
			 "INSERT INTO adw_questions (id, adw_id, question, options, step) "
			 "VALUES (COALESCE($2::uuid, gen_random_uuid()), $1, $3, "
			 "'[\"sqlite\", \"postgres\"]', 'plan') RETURNING id",
			 3, params, &err);
	char *v;

	ck_assert_msg(r != NULL, "%s", err.msg);
	v = adw_db_strdup(r, 0, 0);
	PQclear(r);
	return v;
}

static int answer(const char *id, const char *text, const char *source, cJSON **q,
		  struct adw_err *err)
{
	char *json = NULL;
	int rc;

	memset(err, 0, sizeof(*err));
	rc = adw_thread_answer(conn, id, text, source, &json, err);
	if (rc == 0) {
		cJSON *o = cJSON_Parse(json);

		ck_assert_ptr_nonnull(o);
		*q = cJSON_DetachItemFromObjectCaseSensitive(o, "question");
		ck_assert_ptr_nonnull(*q);
		cJSON_Delete(o);
	} else {
		ck_assert_ptr_null(json);
	}
	free(json);
	return rc;
}

static void answer_fail(const char *id, const char *text, enum adw_errcode code,
			const char *msg_part)
{
	struct adw_err err;
	cJSON *q = NULL;

	ck_assert_int_eq(answer(id, text, "api", &q, &err), -1);
	ck_assert_msg(err.code == code, "answer %s: code %d (%s), want %d", id ? id : "-", err.code,
		      err.msg, code);
	if (msg_part)
		ck_assert_msg(strstr(err.msg, msg_part) != NULL, "'%s' lacks '%s'", err.msg,
			      msg_part);
	ck_assert_ptr_null(q);
}

START_TEST(test_answer)
{
	struct adw_err err;
	char *adw, *qid, sql[512];
	cJSON *q;
	PGresult *r;

	use_db("thread_answer");
	adw = new_adw("Ask me");
	set_status(adw, "awaiting_input", true);
	qid = ask(adw, NULL, "Which database?");
	ck_assert_int_eq(countf("SELECT count(*) FROM events WHERE adw_id = '%s' AND type = "
				"'QuestionAsked' AND category = 'control'",
				adw),
			 1);
	ck_assert_msg(answer(qid, "postgres", NULL, &q, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(str(q, "id"), qid);
	ck_assert_str_eq(str(q, "adw_id"), adw);
	ck_assert_str_eq(str(q, "adw_name"), "ask-me");
	ck_assert_str_eq(str(q, "status"), "answered");
	ck_assert_str_eq(str(q, "answer"), "postgres");
	ck_assert_str_eq(str(q, "answered_by"), "user via api");
	ck_assert_str_eq(str(q, "question"), "Which database?");
	ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(q, "answered_at")));
	cJSON_Delete(q);
	/* The stored question. */
	snprintf(sql, sizeof(sql),
		 "SELECT status, answer, answered_by, answered_at IS NOT NULL FROM adw_questions "
		 "WHERE id = '%s'",
		 qid);
	r = testlib_query(conn, sql);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "answered");
	ck_assert_str_eq(PQgetvalue(r, 0, 1), "postgres");
	ck_assert_str_eq(PQgetvalue(r, 0, 2), "user via api");
	ck_assert_str_eq(PQgetvalue(r, 0, 3), "t");
	PQclear(r);
	/* An 'answer' message for the waiting adw-run. */
	snprintf(sql, sizeof(sql),
		 "SELECT sender, action_type, action_status, content, question_id, step, "
		 "metadata->>'source' FROM adw_messages WHERE adw_id = '%s'",
		 adw);
	r = testlib_query(conn, sql);
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "user");
	ck_assert_str_eq(PQgetvalue(r, 0, 1), "answer");
	ck_assert_str_eq(PQgetvalue(r, 0, 2), "pending");
	ck_assert_str_eq(PQgetvalue(r, 0, 3), "postgres");
	ck_assert_str_eq(PQgetvalue(r, 0, 4), qid);
	ck_assert_str_eq(PQgetvalue(r, 0, 5), "plan");
	ck_assert_str_eq(PQgetvalue(r, 0, 6), "api");
	PQclear(r);
	ck_assert_int_eq(countf("SELECT count(*) FROM events WHERE adw_id = '%s' AND type = "
				"'QuestionAnswered' AND category = 'control' AND "
				"payload->'question'->>'answer' = 'postgres'",
				adw),
			 1);
	/* Answering again: CONFLICT, nothing more stored. */
	answer_fail(qid, "sqlite", ADW_ERR_CONFLICT, "is already answered");
	ck_assert_int_eq(countf("SELECT count(*) FROM adw_messages WHERE adw_id = '%s'", adw), 1);
	ck_assert_int_eq(countf("SELECT count(*) FROM adw_questions WHERE answer = 'postgres'"), 1);
	/* The source is recorded; a cancelled or timed-out question is closed. */
	{
		char *q2 = ask(adw, NULL, "Tabs or spaces?");
		char *q3 = ask(adw, NULL, "Really?");
		char *q4 = ask(adw, NULL, "Sure?");

		ck_assert_msg(answer(q2, "tabs", "chat", &q, &err) == 0, "%s", err.msg);
		ck_assert_str_eq(str(q, "answered_by"), "user via chat");
		cJSON_Delete(q);
		ck_assert_int_eq(countf("SELECT count(*) FROM adw_messages WHERE question_id = "
					"'%s' AND metadata->>'source' = 'chat'",
					q2),
				 1);
		exec2("UPDATE adw_questions SET status = 'cancelled' WHERE id = $1", q3, NULL);
		answer_fail(q3, "yes", ADW_ERR_CONFLICT, "is already cancelled");
		exec2("UPDATE adw_questions SET status = 'timed_out' WHERE id = $1", q4, NULL);
		answer_fail(q4, "yes", ADW_ERR_CONFLICT, "is already timed_out");
		free(q2);
		free(q3);
		free(q4);
	}
	free(qid);
	free(adw);
}
END_TEST

START_TEST(test_answer_ids)
{
	struct adw_err err;
	char *adw, *qid, *a1, *a2, prefix[16], upper[16];
	cJSON *q;
	char *big;

	use_db("thread_answer_ids");
	adw = new_adw("Answer by prefix");
	qid = ask(adw, NULL, "Which one?");
	/* Bad answers, whatever the id. */
	answer_fail(qid, "", ADW_ERR_INVALID, "answer must not be empty");
	answer_fail(qid, " \n\t", ADW_ERR_INVALID, "answer must not be empty");
	answer_fail(qid, NULL, ADW_ERR_INVALID, NULL);
	answer_fail(qid, "\xff", ADW_ERR_INVALID, "UTF-8");
	big = adw_xmalloc(ADW_THREAD_TEXT_MAX + 2);
	memset(big, 'a', ADW_THREAD_TEXT_MAX + 1);
	big[ADW_THREAD_TEXT_MAX + 1] = '\0';
	answer_fail(qid, big, ADW_ERR_INVALID, NULL);
	free(big);
	/* Bad ids. */
	answer_fail("", "x", ADW_ERR_INVALID, NULL);
	answer_fail(NULL, "x", ADW_ERR_INVALID, NULL);
	memcpy(prefix, qid, 7);
	prefix[7] = '\0';
	answer_fail(prefix, "x", ADW_ERR_INVALID, "at least its first 8 characters");
	answer_fail("zzzzzzzz", "x", ADW_ERR_INVALID, NULL);
	answer_fail("1234567%", "x", ADW_ERR_INVALID, NULL);
	answer_fail(qid[0] == '0' ? "ffffffff-ffff" : "00000000-0000", "x", ADW_ERR_NOT_FOUND,
		    "not found");
	answer_fail("00000000-0000-0000-0000-000000000000", "x", ADW_ERR_NOT_FOUND, "not found");
	ck_assert_int_eq(count("SELECT count(*) FROM adw_messages"), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM adw_questions WHERE status = 'pending'"), 1);
	/* An 8-character prefix, in upper case too. */
	memcpy(prefix, qid, 8);
	prefix[8] = '\0';
	for (int i = 0; i < 9; i++)
		upper[i] =
		    (char)(prefix[i] >= 'a' && prefix[i] <= 'f' ? prefix[i] - 32 : prefix[i]);
	ck_assert_msg(answer(upper, "the first", NULL, &q, &err) == 0, "%s: %s", upper, err.msg);
	ck_assert_str_eq(str(q, "id"), qid);
	ck_assert_str_eq(str(q, "status"), "answered");
	cJSON_Delete(q);
	/* ... and the error names what the caller gave. */
	answer_fail(prefix, "again", ADW_ERR_CONFLICT, "is already answered");
	/* Two questions sharing a prefix: the prefix is ambiguous, a longer one is not. */
	a1 = ask(adw, "abcdef01-2345-4678-9abc-000000000001", "First twin?");
	a2 = ask(adw, "abcdef01-2345-4678-9abc-000000000002", "Second twin?");
	answer_fail("abcdef01", "x", ADW_ERR_INVALID, "ambiguous");
	answer_fail("ABCDEF01-2345", "x", ADW_ERR_INVALID, "ambiguous");
	answer_fail("abcdef01-2345-4678-9abc-00000000000", "x", ADW_ERR_INVALID, "ambiguous");
	/* Still ambiguous once one of them is answered (by its full id). */
	ck_assert_msg(answer(a1, "one", "api", &q, &err) == 0, "%s", err.msg);
	cJSON_Delete(q);
	answer_fail("abcdef01", "x", ADW_ERR_INVALID, "ambiguous");
	/* A full id with upper-case hex is a uuid. */
	ck_assert_msg(answer("ABCDEF01-2345-4678-9ABC-000000000002", "two", "api", &q, &err) == 0,
		      "%s", err.msg);
	ck_assert_str_eq(str(q, "id"), a2);
	cJSON_Delete(q);
	/* A prefix that matches nothing. */
	answer_fail(qid[0] == '0' ? "ffffffff" : "00000000", "x", ADW_ERR_NOT_FOUND, "not found");
	free(a1);
	free(a2);
	free(qid);
	free(adw);
}
END_TEST

static cJSON *questions(const char *status, const char *adw_id, int limit)
{
	struct adw_err err = {0};
	char *json = NULL;
	cJSON *o, *arr;

	ck_assert_msg(adw_thread_questions(conn, status, adw_id, limit, &json, &err) == 0, "%s",
		      err.msg);
	o = cJSON_Parse(json);
	free(json);
	ck_assert_ptr_nonnull(o);
	arr = cJSON_DetachItemFromObjectCaseSensitive(o, "questions");
	cJSON_Delete(o);
	ck_assert(cJSON_IsArray(arr));
	return arr;
}

START_TEST(test_question_get_and_list)
{
	struct adw_err err = {0};
	char *a1, *a2, *q1, *q2, *q3, *json = NULL;
	cJSON *o, *arr;

	use_db("thread_questions");
	a1 = new_adw("First asker");
	a2 = new_adw("Second asker");
	q1 = ask(a1, NULL, "One?");
	exec2("UPDATE adw_questions SET created_at = now() - interval '3 minutes' WHERE id = $1",
	      q1, NULL);
	q2 = ask(a1, NULL, "Two?");
	exec2("UPDATE adw_questions SET created_at = now() - interval '2 minutes' WHERE id = $1",
	      q2, NULL);
	q3 = ask(a2, NULL, "Three?");
	{
		cJSON *q;

		ck_assert_msg(answer(q2, "2", "cli", &q, &err) == 0, "%s", err.msg);
		ck_assert_str_eq(str(q, "answered_by"), "user via cli");
		cJSON_Delete(q);
	}
	/* One by uuid. */
	ck_assert_msg(adw_thread_question(conn, q1, &json, &err) == 0, "%s", err.msg);
	o = cJSON_Parse(json);
	free(json);
	json = NULL;
	{
		cJSON *q = cJSON_GetObjectItemCaseSensitive(o, "question");

		ck_assert_str_eq(str(q, "id"), q1);
		ck_assert_str_eq(str(q, "question"), "One?");
		ck_assert_str_eq(str(q, "status"), "pending");
		ck_assert_str_eq(str(q, "step"), "plan");
		ck_assert_str_eq(str(q, "adw_name"), "first-asker");
		ck_assert(is_null(q, "answer"));
		ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(q, "options")),
				 2);
	}
	cJSON_Delete(o);
	ck_assert_int_eq(
	    adw_thread_question(conn, "00000000-0000-0000-0000-000000000000", &json, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_NOT_FOUND);
	ck_assert_msg(strstr(err.msg, "not found") != NULL, "%s", err.msg);
	/* Not a uuid: an error, never a query. */
	ck_assert_int_eq(adw_thread_question(conn, "not-a-uuid", &json, &err), -1);
	ck_assert_msg(err.code == ADW_ERR_NOT_FOUND || err.code == ADW_ERR_INVALID, "code %d",
		      err.code);
	ck_assert_ptr_null(json);
	/* All, newest first. */
	arr = questions(NULL, NULL, 100);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 3);
	ck_assert_str_eq(str(cJSON_GetArrayItem(arr, 0), "id"), q3);
	ck_assert_str_eq(str(cJSON_GetArrayItem(arr, 1), "id"), q2);
	ck_assert_str_eq(str(cJSON_GetArrayItem(arr, 2), "id"), q1);
	cJSON_Delete(arr);
	/* By status. */
	arr = questions("pending", NULL, 100);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 2);
	ck_assert_str_eq(str(cJSON_GetArrayItem(arr, 0), "id"), q3);
	ck_assert_str_eq(str(cJSON_GetArrayItem(arr, 1), "id"), q1);
	cJSON_Delete(arr);
	arr = questions("answered", NULL, 100);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 1);
	ck_assert_str_eq(str(cJSON_GetArrayItem(arr, 0), "id"), q2);
	cJSON_Delete(arr);
	arr = questions("timed_out", NULL, 100);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 0);
	cJSON_Delete(arr);
	arr = questions("cancelled", NULL, 100);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 0);
	cJSON_Delete(arr);
	/* By ADW, and both filters. */
	arr = questions(NULL, a1, 100);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 2);
	ck_assert_str_eq(str(cJSON_GetArrayItem(arr, 0), "id"), q2);
	cJSON_Delete(arr);
	arr = questions("pending", a1, 100);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 1);
	ck_assert_str_eq(str(cJSON_GetArrayItem(arr, 0), "id"), q1);
	cJSON_Delete(arr);
	arr = questions("answered", a2, 100);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 0);
	cJSON_Delete(arr);
	arr = questions(NULL, "00000000-0000-0000-0000-000000000000", 100);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 0);
	cJSON_Delete(arr);
	/* limit: the newest. */
	arr = questions(NULL, NULL, 1);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 1);
	ck_assert_str_eq(str(cJSON_GetArrayItem(arr, 0), "id"), q3);
	cJSON_Delete(arr);
	/* Errors. */
	ck_assert_int_eq(adw_thread_questions(conn, "open", NULL, 10, &json, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_int_eq(adw_thread_questions(conn, "", NULL, 10, &json, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_int_eq(adw_thread_questions(conn, NULL, "first-asker", 10, &json, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_int_eq(adw_thread_questions(conn, NULL, "1234", 10, &json, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_int_eq(adw_thread_questions(conn, NULL, NULL, 0, &json, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_int_eq(
	    adw_thread_questions(conn, NULL, NULL, ADW_THREAD_LIST_MAX + 1, &json, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_ptr_null(json);
	free(q1);
	free(q2);
	free(q3);
	free(a1);
	free(a2);
}
END_TEST

START_TEST(test_adw_json_question)
{
	struct adw_err err = {0};
	char *adw, *qid, *json = NULL;
	cJSON *a, *q;

	use_db("thread_adw_question");
	adw = new_adw("Show my question");
	set_status(adw, "awaiting_input", true);
	/* No question: null. */
	ck_assert(adw_store_adw_get(conn, adw, false, &json, NULL, &err) == 0);
	a = cJSON_Parse(json);
	free(json);
	ck_assert(is_null(a, "question"));
	cJSON_Delete(a);
	/* A pending one is shown. */
	qid = ask(adw, NULL, "Left or right?");
	ck_assert(adw_store_adw_get(conn, adw, false, &json, NULL, &err) == 0);
	a = cJSON_Parse(json);
	free(json);
	q = cJSON_GetObjectItemCaseSensitive(a, "question");
	ck_assert(cJSON_IsObject(q));
	ck_assert_str_eq(str(q, "id"), qid);
	ck_assert_str_eq(str(q, "question"), "Left or right?");
	ck_assert_str_eq(str(q, "status"), "pending");
	cJSON_Delete(a);
	/* Answered: null again. */
	ck_assert_msg(answer(qid, "left", NULL, &q, &err) == 0, "%s", err.msg);
	cJSON_Delete(q);
	ck_assert(adw_store_adw_get(conn, adw, false, &json, NULL, &err) == 0);
	a = cJSON_Parse(json);
	free(json);
	ck_assert(is_null(a, "question"));
	cJSON_Delete(a);
	free(qid);
	free(adw);
}
END_TEST

/* ---- adw_store_adw_fail closes the thread ---- */

START_TEST(test_fail_closes_thread)
{
	struct adw_err err = {0};
	char *adw, *qid, *done_q;
	bool changed = false;
	cJSON *q;

	use_db("thread_fail");
	adw = new_adw("Fail with open things");
	set_status(adw, "in_progress", true);
	done_q = ask(adw, NULL, "Already answered?");
	ck_assert_msg(answer(done_q, "yes", NULL, &q, &err) == 0, "%s", err.msg);
	cJSON_Delete(q);
	exec2("UPDATE adw_messages SET action_status = 'processed' WHERE question_id = $1", done_q,
	      NULL);
	qid = ask(adw, NULL, "Still there?");
	cJSON_Delete(post_ok(adw, "instruction", "one", NULL, "api", 201, NULL));
	cJSON_Delete(post_ok(adw, "instruction", "two", NULL, "api", 201, NULL));
	cJSON_Delete(post_ok(adw, "comment", "fyi", NULL, "api", 201, NULL));
	exec2("UPDATE adw_messages SET action_status = 'acknowledged' WHERE content = 'two' AND "
	      "adw_id = $1",
	      adw, NULL);
	ck_assert_msg(adw_store_adw_fail(conn, adw, "runner died", &changed, &err) == 0, "%s",
		      err.msg);
	ck_assert(changed);
	expect_adw(adw, "status", "failed");
	/* The pending question is cancelled; the answered one stays. */
	ck_assert_int_eq(countf("SELECT count(*) FROM adw_questions WHERE id = '%s' AND status = "
				"'cancelled' AND answered_at IS NOT NULL",
				qid),
			 1);
	ck_assert_int_eq(countf("SELECT count(*) FROM adw_questions WHERE id = '%s' AND status = "
				"'answered'",
				done_q),
			 1);
	ck_assert_int_eq(countf("SELECT count(*) FROM events WHERE adw_id = '%s' AND type = "
				"'QuestionClosed'",
				adw),
			 1);
	/* Open messages are ignored with the reason; closed ones are kept. */
	ck_assert_int_eq(countf("SELECT count(*) FROM adw_messages WHERE adw_id = '%s' AND "
				"action_status = 'ignored' AND status_reason = 'the adw failed: "
				"runner died' AND processed_at IS NOT NULL",
				adw),
			 2);
	ck_assert_int_eq(countf("SELECT count(*) FROM adw_messages WHERE adw_id = '%s' AND "
				"action_status IN ('pending', 'acknowledged')",
				adw),
			 0);
	ck_assert_int_eq(countf("SELECT count(*) FROM adw_messages WHERE adw_id = '%s' AND "
				"action_status = 'processed'",
				adw),
			 2);
	/* No question to show any more; answering it is too late. */
	answer_fail(qid, "yes", ADW_ERR_CONFLICT, "is already cancelled");
	/* Failing it again changes nothing. */
	ck_assert(adw_store_adw_fail(conn, adw, "again", &changed, &err) == 0);
	ck_assert(!changed);
	ck_assert_int_eq(countf("SELECT count(*) FROM adw_messages WHERE status_reason LIKE "
				"'%%again%%'"),
			 0);
	free(qid);
	free(done_q);
	free(adw);
}
END_TEST

int main(void)
{
	const char *url = getenv("ADW_TEST_DATABASE_URL");
	Suite *s;
	TCase *tp;

	/* Every case needs PostgreSQL: meson's "skip" without it. */
	if (!url || !*url) {
		fprintf(stderr, "ADW_TEST_DATABASE_URL unset: skipping\n");
		return 77;
	}
	s = suite_create("adw_thread");
	tp = tcase_create("pg");
	tcase_add_checked_fixture(tp, pg_setup, pg_teardown);
	tcase_add_test(tp, test_comment_any_status);
	tcase_add_test(tp, test_instruction_open);
	tcase_add_test(tp, test_instruction_ended);
	tcase_add_test(tp, test_instruction_invalid);
	tcase_add_test(tp, test_metadata_source);
	tcase_add_test(tp, test_pause_pending);
	tcase_add_test(tp, test_pause_running);
	tcase_add_test(tp, test_pause_already_paused);
	tcase_add_test(tp, test_pause_ended);
	tcase_add_test(tp, test_resume_unstarted);
	tcase_add_test(tp, test_resume_paused_in_run);
	tcase_add_test(tp, test_resume_pause_open);
	tcase_add_test(tp, test_resume_ended);
	tcase_add_test(tp, test_cancel_unstarted);
	tcase_add_test(tp, test_cancel_running);
	tcase_add_test(tp, test_cancel_already_cancelled);
	tcase_add_test(tp, test_cancel_ended);
	tcase_add_test(tp, test_redirect_blank);
	tcase_add_test(tp, test_redirect_pending);
	tcase_add_test(tp, test_redirect_paused_unstarted);
	tcase_add_test(tp, test_redirect_running);
	tcase_add_test(tp, test_redirect_ended);
	tcase_add_test(tp, test_unknown_action_and_adw);
	tcase_add_test(tp, test_notify);
	tcase_add_test(tp, test_events);
	tcase_add_test(tp, test_list);
	tcase_add_test(tp, test_note);
	tcase_add_test(tp, test_answer);
	tcase_add_test(tp, test_answer_ids);
	tcase_add_test(tp, test_question_get_and_list);
	tcase_add_test(tp, test_adw_json_question);
	tcase_add_test(tp, test_fail_closes_thread);
	suite_add_tcase(s, tp);
	return testlib_run(s);
}
