/* SPDX-License-Identifier: MIT */
/* The thread of an ADW: messages, control actions and decision questions. */
#include "adw_thread.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adw_db.h"
#include "adw_event.h"
#include "adw_store.h"

static const char *const actions[] = {"comment", "instruction", "pause",
				      "resume",	 "cancel",	"redirect"};

/*
 * The ADW row as the action sees it, locked FOR NO KEY UPDATE: that
 * serialises actions with the runner's status changes but not with the
 * KEY SHARE locks of foreign-key checks (an event insert of the runner
 * holding the events lock of migration 003 would otherwise deadlock with
 * this transaction's own event insert).
 */
struct target {
	char *id, *name, *status;
	bool started;	  /* an adw-run has taken it (started_at is set) */
	bool pause_open;  /* a pause message waits for adw-run */
	char *redirected; /* redirected_to, or NULL */
};

/* What the decision table says. */
struct decision {
	const char *msg_status; /* pending, processed or ignored */
	char *reason;		/* for ignored */
	bool conflict;		/* answer 409 after storing */
	const char *now;	/* a status to set at once: paused, pending, cancelled, or NULL */
};

static bool blank(const char *s)
{
	for (; s && *s; s++) {
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return false;
	}
	return true;
}

static bool terminal(const char *status)
{
	return !strcmp(status, "completed") || !strcmp(status, "failed") ||
	       !strcmp(status, "cancelled");
}

static void rollback(PGconn *conn)
{
	PQclear(PQexec(conn, "ROLLBACK"));
}

static void target_release(struct target *t)
{
	free(t->id);
	free(t->name);
	free(t->status);
	free(t->redirected);
}

static int lock_target(PGconn *conn, const char *id, struct target *t, struct adw_err *err)
{
	const char *params[1] = {id};
	PGresult *res;

	/*
	 * Lock first, read after: a statement that waited for the lock still
	 * sees other rows (the pause messages) as of its own snapshot, taken
	 * before another action on this ADW committed.
	 */
	if (adw_db_exec(conn,
			"SELECT 1 FROM ai_developer_workflows WHERE id = $1 FOR NO KEY UPDATE", 1,
			params, err) < 0)
		return -1;
	res = adw_db_query(
	    conn,
	    "SELECT a.id, a.adw_name, a.status, a.started_at IS NOT NULL, EXISTS (SELECT 1 FROM "
	    "adw_messages m WHERE m.adw_id = a.id AND m.action_type = 'pause' AND "
	    "m.action_status IN ('pending', 'acknowledged')), a.redirected_to "
	    "FROM ai_developer_workflows a WHERE a.id = $1",
	    1, params, err);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return adw_err_set(err, ADW_ERR_NOT_FOUND, "adw '%s' not found", id);
	}
	t->id = adw_db_strdup(res, 0, 0);
	t->name = adw_db_strdup(res, 0, 1);
	t->status = adw_db_strdup(res, 0, 2);
	t->started = PQgetvalue(res, 0, 3)[0] == 't';
	t->pause_open = PQgetvalue(res, 0, 4)[0] == 't';
	t->redirected = adw_db_strdup(res, 0, 5);
	PQclear(res);
	return 0;
}

/* The decision table of adw_thread_post() (adw_thread.h). */
static void decide(const char *action, const struct target *t, struct decision *d)
{
	bool paused = !strcmp(t->status, "paused");
	bool unstarted = !strcmp(t->status, "pending") || (paused && !t->started);

	memset(d, 0, sizeof(*d));
	d->msg_status = "pending";
	if (!strcmp(action, "comment")) {
		d->msg_status = "processed";
		return;
	}
	if (!strcmp(action, "cancel") && !strcmp(t->status, "cancelled")) {
		d->msg_status = "ignored";
		d->reason = adw_xstrdup("already cancelled");
		return;
	}
	if (terminal(t->status)) {
		d->msg_status = "ignored";
		d->reason = adw_xasprintf("too late: the adw already ended (%s)", t->status);
		d->conflict = true;
		return;
	}
	if (!strcmp(action, "redirect") && t->redirected) {
		/* One replacement per ADW: a second would run beside the first. */
		d->msg_status = "ignored";
		d->reason = adw_xasprintf("was already redirected (to %s)", t->redirected);
		d->conflict = true;
		return;
	}
	if (!strcmp(action, "pause")) {
		if (paused) {
			d->msg_status = "ignored";
			d->reason = adw_xstrdup("already paused");
		} else if (unstarted) {
			d->msg_status = "processed";
			d->now = "paused";
		}
	} else if (!strcmp(action, "resume")) {
		if (paused && !t->started) {
			d->msg_status = "processed";
			d->now = "pending";
		} else if (!paused && !t->pause_open) {
			d->msg_status = "ignored";
			d->reason = adw_xstrdup("not paused");
		}
	} else if (!strcmp(action, "cancel") || !strcmp(action, "redirect")) {
		if (unstarted) {
			d->msg_status = "processed";
			d->now = "cancelled";
		}
	}
}

/* Takes an action at once on an ADW no process runs. */
static int act_now(PGconn *conn, const struct target *t, const char *status, const char *reason,
		   const char *by, struct adw_err *err)
{
	const char *params[4] = {t->id, status, reason, by};
	char *what;
	int rc;

	if (!strcmp(status, "cancelled")) {
		if (adw_db_exec(conn,
				"UPDATE ai_developer_workflows SET status = $2, "
				"cancel_reason = $3, cancelled_by = $4, paused_at = NULL, "
				"completed_at = now() WHERE id = $1",
				4, params, err) < 0 ||
		    adw_db_exec(conn,
				"UPDATE adw_steps SET status = 'cancelled' WHERE adw_id = $1 AND "
				"status IN ('pending', 'running')",
				1, params, err) < 0 ||
		    adw_db_exec(conn,
				"UPDATE adw_messages SET action_status = 'ignored', processed_at = "
				"now(), status_reason = 'the adw was cancelled' WHERE adw_id = $1 "
				"AND action_status IN ('pending', 'acknowledged')",
				1, params, err) < 0)
			return -1;
	} else if (adw_db_exec(conn,
			       "UPDATE ai_developer_workflows SET status = $2::text, "
			       "paused_at = CASE WHEN $2::text = 'paused' THEN now() END, "
			       "pause_reason = CASE WHEN $2::text = 'paused' THEN $3::text END "
			       "WHERE id = $1",
			       3, params, err) < 0) {
		return -1;
	}
	what = adw_xasprintf("status: %s", status);
	rc = adw_store_adw_updated(conn, t->id, what, NULL, err);
	free(what);
	return rc;
}

static int insert_message(PGconn *conn, const char *adw_id, const char *sender, const char *action,
			  const char *status, const char *reason, const char *content,
			  const char *metadata, const char *step, const char *question_id,
			  char **json, struct adw_err *err)
{
	const char *params[9] = {adw_id,  sender,   action, status,	reason,
				 content, metadata, step,   question_id};

	return adw_db_query_text(
	    conn, NULL,
	    "INSERT INTO adw_messages AS m (adw_id, sender, action_type, action_status, "
	    "status_reason, content, metadata, step, question_id, acknowledged_at, processed_at) "
	    "VALUES ($1, $2, $3, $4::text, $5, $6, COALESCE($7::jsonb, '{}'), $8, $9, "
	    "CASE WHEN $4::text <> 'pending' THEN clock_timestamp() END, "
	    "CASE WHEN $4::text <> 'pending' THEN clock_timestamp() END) RETURNING message_json(m)",
	    9, params, json, err);
}

static const char *default_content(const char *action)
{
	if (!strcmp(action, "pause"))
		return "Pause requested";
	if (!strcmp(action, "resume"))
		return "Resume requested";
	if (!strcmp(action, "cancel"))
		return "Cancel requested";
	return NULL;
}

/* Checks the request; returns the metadata object to store (caller deletes). */
static cJSON *check_request(const struct adw_thread_request *rq, struct adw_err *err)
{
	bool known = false;
	cJSON *meta;

	for (size_t i = 0; rq->action && i < sizeof(actions) / sizeof(actions[0]); i++)
		known = known || !strcmp(rq->action, actions[i]);
	if (!known) {
		adw_err_set(err, ADW_ERR_INVALID,
			    "action_type must be one of comment, instruction, pause, resume, "
			    "cancel, redirect");
		return NULL;
	}
	if (rq->content && strlen(rq->content) > ADW_THREAD_TEXT_MAX) {
		adw_err_set(err, ADW_ERR_INVALID, "content is over %d bytes", ADW_THREAD_TEXT_MAX);
		return NULL;
	}
	if (!adw_event_utf8_valid(rq->content)) {
		adw_err_set(err, ADW_ERR_INVALID, "content must be valid UTF-8");
		return NULL;
	}
	if (!default_content(rq->action) && blank(rq->content)) {
		adw_err_set(err, ADW_ERR_INVALID, "%s must not be empty",
			    !strcmp(rq->action, "redirect") ? "the new prompt" : "content");
		return NULL;
	}
	meta = rq->metadata ? cJSON_Parse(rq->metadata) : cJSON_CreateObject();
	if (!cJSON_IsObject(meta)) {
		cJSON_Delete(meta);
		adw_err_set(err, ADW_ERR_INVALID, "metadata must be a JSON object");
		return NULL;
	}
	cJSON_DeleteItemFromObject(meta, "source");
	cJSON_AddStringToObject(meta, "source", rq->source ? rq->source : "api");
	return meta;
}

/* Creates the ADW that replaces t (inside the caller's transaction). */
static int redirect_create(PGconn *conn, const struct adw_config *cfg, const struct target *t,
			   const struct adw_thread_request *rq, char **new_json, char **new_id,
			   struct adw_err *err)
{
	const char *params[1] = {t->id};
	PGresult *res = adw_db_query(conn,
				     "SELECT workflow_type, working_dir, runtime, model FROM "
				     "ai_developer_workflows WHERE id = $1",
				     1, params, err);
	char *wf, *dir, *runtime, *model;
	struct adw_new in = {0};
	int rc;

	if (!res)
		return -1;
	wf = adw_db_strdup(res, 0, 0);
	dir = adw_db_strdup(res, 0, 1);
	runtime = adw_db_strdup(res, 0, 2);
	model = adw_db_strdup(res, 0, 3);
	PQclear(res);
	in.workflow = wf;
	in.prompt = rq->content;
	in.working_dir = dir;
	in.runtime = runtime;
	in.model = model;
	in.source = rq->source;
	in.redirected_from = t->id;
	in.in_transaction = true;
	rc = adw_store_adw_create(conn, cfg, &in, new_json, new_id, err);
	if (rc == 0) {
		const char *p2[2] = {t->id, *new_id};

		rc = adw_db_exec(
		    conn, "UPDATE ai_developer_workflows SET redirected_to = $2 WHERE id = $1", 2,
		    p2, err);
	}
	free(wf);
	free(dir);
	free(runtime);
	free(model);
	return rc;
}

int adw_thread_post(PGconn *conn, const struct adw_config *cfg, const struct adw_thread_request *rq,
		    struct adw_thread_result *out, struct adw_err *err)
{
	struct target t = {0};
	struct decision d = {0};
	char *id = NULL, *message = NULL, *adw = NULL, *new_id = NULL, *meta_text = NULL;
	char *by = NULL, *reason = NULL;
	const char *content;
	cJSON *meta;
	bool in_tx = false, redirect = rq->action && !strcmp(rq->action, "redirect");
	int rc = -1;

	memset(out, 0, sizeof(*out));
	meta = check_request(rq, err);
	if (!meta)
		return -1;
	content = blank(rq->content) ? default_content(rq->action) : rq->content;
	by = adw_xasprintf("user via %s", rq->source ? rq->source : "api");
	if (adw_store_adw_get(conn, rq->adw, false, NULL, &id, err) < 0)
		goto out;
	if (adw_db_exec(conn, "BEGIN", 0, NULL, err) < 0)
		goto out;
	in_tx = true;
	if (lock_target(conn, id, &t, err) < 0)
		goto out;
	decide(rq->action, &t, &d);
	if (redirect && !d.conflict) {
		if (redirect_create(conn, cfg, &t, rq, &adw, &new_id, err) < 0)
			goto out;
		cJSON_AddStringToObject(meta, "redirected_to", new_id);
	}
	if (d.now) {
		if (redirect) {
			char *name = NULL;
			const char *p[1] = {new_id};

			if (adw_db_query_text(conn, NULL,
					      "SELECT adw_name FROM ai_developer_workflows WHERE "
					      "id = $1",
					      1, p, &name, err) < 0)
				goto out;
			reason = adw_xasprintf("redirected to %s", name);
			free(name);
		}
		if (act_now(conn, &t, d.now, reason ? reason : content, by, err) < 0)
			goto out;
	}
	/*
	 * The ADW as this action left it (a supervisor may claim it right
	 * after), read before the message insert takes the events lock.
	 */
	if (!adw && !d.conflict) {
		const char *p[1] = {t.id};

		if (adw_db_query_text(
			conn, NULL,
			"SELECT adw_json(a) FROM ai_developer_workflows a WHERE id = $1", 1, p,
			&adw, err) < 0)
			goto out;
	}
	meta_text = cJSON_PrintUnformatted(meta);
	if (insert_message(conn, t.id, "user", rq->action, d.msg_status, d.reason, content,
			   meta_text, NULL, NULL, &message, err) < 0)
		goto out;
	if (adw_db_exec(conn, "COMMIT", 0, NULL, err) < 0)
		goto out;
	in_tx = false;
	if (d.conflict) {
		if (t.redirected && redirect)
			adw_err_set(err, ADW_ERR_CONFLICT,
				    "adw '%s' was already redirected: the redirect was ignored",
				    t.name);
		else
			adw_err_set(err, ADW_ERR_CONFLICT,
				    "adw '%s' already ended (%s): the %s was ignored", t.name,
				    t.status, rq->action);
		goto out;
	}
	out->message = message;
	out->adw = adw;
	message = adw = NULL;
	out->status =
	    !strcmp(rq->action, "comment") || !strcmp(rq->action, "instruction") || redirect ? 201
											     : 200;
	rc = 0;
out:
	if (in_tx)
		rollback(conn);
	target_release(&t);
	free(d.reason);
	cJSON_Delete(meta);
	free(meta_text);
	free(message);
	free(adw);
	free(new_id);
	free(id);
	free(by);
	free(reason);
	return rc;
}

void adw_thread_result_release(struct adw_thread_result *out)
{
	if (!out)
		return;
	free(out->message);
	free(out->adw);
	memset(out, 0, sizeof(*out));
}

int adw_thread_list(PGconn *conn, const char *adw, long long after, int limit, char **json,
		    struct adw_err *err)
{
	char *id = NULL, a[32], l[16];
	const char *params[3] = {NULL, a, l};
	int rc;

	if (limit < 1 || limit > ADW_THREAD_LIST_MAX)
		return adw_err_set(err, ADW_ERR_INVALID, "limit must be 1..%d",
				   ADW_THREAD_LIST_MAX);
	if (adw_store_adw_get(conn, adw, false, NULL, &id, err) < 0)
		return -1;
	params[0] = id;
	snprintf(a, sizeof(a), "%lld", after);
	snprintf(l, sizeof(l), "%d", limit);
	rc = adw_db_query_text(conn, "thread_list",
			       "SELECT json_build_object('messages', COALESCE(json_agg("
			       "message_json(m) ORDER BY m.id), '[]'::json)) FROM (SELECT * FROM "
			       "adw_messages WHERE adw_id = $1 AND id > $2::bigint ORDER BY id "
			       "LIMIT $3::int) m",
			       3, params, json, err);
	free(id);
	return rc;
}

int adw_thread_note(PGconn *conn, const char *adw_id, const char *sender, const char *step,
		    const char *content, const char *metadata, struct adw_err *err)
{
	char *json = NULL;
	int rc = insert_message(conn, adw_id, sender, "comment", "processed", NULL, content,
				metadata, step, NULL, &json, err);

	free(json);
	return rc;
}

/* Resolves a question id or unique prefix to its uuid (caller frees). */
static int question_id(PGconn *conn, const char *id, char **out, struct adw_err *err)
{
	const char *params[1] = {id};
	PGresult *res;
	size_t n = id ? strlen(id) : 0;

	if (adw_store_is_uuid(id)) {
		*out = adw_xstrdup(id);
		return 0;
	}
	if (n < 8 || n > 36 || strspn(id, "0123456789abcdefABCDEF-") != n)
		return adw_err_set(err, ADW_ERR_INVALID,
				   "question id must be a uuid or at least its first 8 characters");
	res = adw_db_query(conn,
			   "SELECT id FROM adw_questions WHERE id::text LIKE lower($1) || '%' "
			   "ORDER BY status = 'pending' DESC, created_at DESC LIMIT 2",
			   1, params, err);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return adw_err_set(err, ADW_ERR_NOT_FOUND, "question '%s' not found", id);
	}
	if (PQntuples(res) > 1) {
		PQclear(res);
		return adw_err_set(err, ADW_ERR_INVALID, "question id '%s' is ambiguous", id);
	}
	*out = adw_db_strdup(res, 0, 0);
	PQclear(res);
	return 0;
}

int adw_thread_answer(PGconn *conn, const char *id, const char *answer, const char *source,
		      char **json, struct adw_err *err)
{
	char *qid = NULL, *by = NULL, *q = NULL, *meta = NULL, *msg = NULL;
	PGresult *res = NULL;
	bool in_tx = false;
	int rc = -1;

	if (blank(answer))
		return adw_err_set(err, ADW_ERR_INVALID, "answer must not be empty");
	if (strlen(answer) > ADW_THREAD_TEXT_MAX || !adw_event_utf8_valid(answer))
		return adw_err_set(err, ADW_ERR_INVALID,
				   "answer must be valid UTF-8 of at most %d bytes",
				   ADW_THREAD_TEXT_MAX);
	if (question_id(conn, id, &qid, err) < 0)
		goto out;
	by = adw_xasprintf("user via %s", source ? source : "api");
	if (adw_db_exec(conn, "BEGIN", 0, NULL, err) < 0)
		goto out;
	in_tx = true;
	{
		const char *params[3] = {qid, answer, by};

		res = adw_db_query(conn,
				   "UPDATE adw_questions q SET status = 'answered', answer = $2, "
				   "answered_by = $3, answered_at = now() WHERE id = $1 AND "
				   "status = 'pending' RETURNING adw_id, step, "
				   "json_build_object('question', question_json(q))",
				   3, params, err);
	}
	if (!res)
		goto out;
	if (PQntuples(res) == 0) {
		const char *params[1] = {qid};
		PGresult *st = adw_db_query(conn, "SELECT status FROM adw_questions WHERE id = $1",
					    1, params, err);

		if (st && PQntuples(st) == 1)
			adw_err_set(err, ADW_ERR_CONFLICT, "question '%s' is already %s", id,
				    PQgetvalue(st, 0, 0));
		else if (st)
			adw_err_set(err, ADW_ERR_NOT_FOUND, "question '%s' not found", id);
		PQclear(st);
		goto out;
	}
	q = adw_db_strdup(res, 0, 2);
	{
		cJSON *m = cJSON_CreateObject();

		cJSON_AddStringToObject(m, "source", source ? source : "api");
		meta = cJSON_PrintUnformatted(m);
		cJSON_Delete(m);
	}
	if (insert_message(conn, PQgetvalue(res, 0, 0), "user", "answer", "pending", NULL, answer,
			   meta, PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1), qid, &msg,
			   err) < 0)
		goto out;
	if (adw_db_exec(conn, "COMMIT", 0, NULL, err) < 0)
		goto out;
	in_tx = false;
	*json = q;
	q = NULL;
	rc = 0;
out:
	if (in_tx)
		rollback(conn);
	PQclear(res);
	free(qid);
	free(by);
	free(q);
	free(meta);
	free(msg);
	return rc;
}

int adw_thread_question(PGconn *conn, const char *id, char **json, struct adw_err *err)
{
	const char *params[1] = {id};

	if (!adw_store_is_uuid(id))
		return adw_err_set(err, ADW_ERR_NOT_FOUND, "question '%s' not found", id);
	if (adw_db_query_text(conn, NULL,
			      "SELECT json_build_object('question', question_json(q)) FROM "
			      "adw_questions q WHERE id = $1",
			      1, params, json, err) < 0) {
		if (err->code == ADW_ERR_NOT_FOUND)
			adw_err_set(err, ADW_ERR_NOT_FOUND, "question '%s' not found", id);
		return -1;
	}
	return 0;
}

int adw_thread_questions(PGconn *conn, const char *status, const char *adw_id, int limit,
			 char **json, struct adw_err *err)
{
	static const char *const known[] = {"pending", "answered", "timed_out", "cancelled"};
	char l[16];
	const char *params[3] = {status, adw_id, l};
	bool ok = !status;

	for (size_t i = 0; status && i < sizeof(known) / sizeof(known[0]); i++)
		ok = ok || !strcmp(status, known[i]);
	if (!ok)
		return adw_err_set(err, ADW_ERR_INVALID,
				   "status must be pending, answered, timed_out or cancelled");
	if (adw_id && !adw_store_is_uuid(adw_id))
		return adw_err_set(err, ADW_ERR_INVALID, "adw_id must be a uuid");
	if (limit < 1 || limit > ADW_THREAD_LIST_MAX)
		return adw_err_set(err, ADW_ERR_INVALID, "limit must be 1..%d",
				   ADW_THREAD_LIST_MAX);
	snprintf(l, sizeof(l), "%d", limit);
	return adw_db_query_text(
	    conn, NULL,
	    "SELECT json_build_object('questions', COALESCE(json_agg(question_json(q) ORDER BY "
	    "q.created_at DESC), '[]'::json)) FROM (SELECT * FROM adw_questions WHERE "
	    "($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR adw_id = $2) ORDER BY "
	    "created_at DESC LIMIT $3::int) q",
	    3, params, json, err);
}

int adw_thread_expire_paused(PGconn *conn, int timeout_s, const char *by, int *n,
			     struct adw_err *err)
{
	char secs[16];
	const char *params[1] = {secs};
	char *reason = NULL;
	PGresult *res = NULL;
	bool in_tx = false;
	int rc = -1;

	*n = 0;
	snprintf(secs, sizeof(secs), "%d", timeout_s);
	if (adw_db_exec(conn, "BEGIN", 0, NULL, err) < 0)
		goto out;
	in_tx = true;
	res = adw_db_query(conn,
			   "SELECT id FROM ai_developer_workflows WHERE status = 'paused' AND "
			   "started_at IS NULL AND paused_at < now() - make_interval(secs => "
			   "$1::int) FOR NO KEY UPDATE SKIP LOCKED",
			   1, params, err);
	if (!res)
		goto out;
	reason = adw_xasprintf("paused for more than %d s without a resume", timeout_s);
	for (int i = 0; i < PQntuples(res); i++) {
		struct target t = {.id = PQgetvalue(res, i, 0)};

		if (act_now(conn, &t, "cancelled", reason, by, err) < 0)
			goto out;
	}
	if (adw_db_exec(conn, "COMMIT", 0, NULL, err) < 0)
		goto out;
	in_tx = false;
	*n = PQntuples(res);
	rc = 0;
out:
	if (in_tx)
		rollback(conn);
	PQclear(res);
	free(reason);
	return rc;
}
