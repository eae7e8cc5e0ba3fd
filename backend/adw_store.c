/* SPDX-License-Identifier: MIT */
/* Queries shared by the server, the CLI and the runner. */
#include "adw_store.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adw_buf.h"
#include "adw_db.h"
#include "adw_event.h"
#include "adw_log.h"
#include "adw_workflow.h"

#define NAME_MAX_BYTES 100

static const char *const terminal_sql = "('completed', 'failed', 'cancelled')";

bool adw_store_is_uuid(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

void adw_store_strv_free(char **v, int n)
{
	for (int i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

char *adw_store_slug(const char *prompt)
{
	char out[48];
	size_t n = 0;
	int words = 0;
	const char *p = prompt;

	/* Up to six ASCII words, never cut inside a word, at most 40 bytes. */
	while (*p && words < 6) {
		const char *w;
		size_t len;

		while (*p && !(isalnum((unsigned char)*p) && (unsigned char)*p < 0x80))
			p++;
		w = p;
		while (isalnum((unsigned char)*p) && (unsigned char)*p < 0x80)
			p++;
		len = (size_t)(p - w);
		if (len == 0)
			break;
		if (n + (n ? 1 : 0) + len > 40) {
			if (n == 0) {
				len = 40;
			} else {
				break;
			}
		}
		if (n)
			out[n++] = '-';
		for (size_t i = 0; i < len; i++)
			out[n++] = (char)tolower((unsigned char)w[i]);
		words++;
	}
	out[n] = '\0';
	return adw_xstrdup(n ? out : "adw");
}

static bool blank(const char *s)
{
	for (; s && *s; s++) {
		if (!isspace((unsigned char)*s))
			return false;
	}
	return true;
}

static int check_workdir(const char *dir, char **abs, struct adw_err *err)
{
	struct stat st;
	char *path;

	if (!dir || !*dir)
		return adw_err_set(err, ADW_ERR_INVALID, "working_dir must not be empty");
	path = adw_config_abspath(dir);
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		adw_err_set(err, ADW_ERR_INVALID,
			    "working dir '%s' does not exist or is not a directory", dir);
		free(path);
		return -1;
	}
	if (access(path, W_OK | X_OK) < 0) {
		adw_err_set(err, ADW_ERR_INVALID, "working dir '%s' is not writable", dir);
		free(path);
		return -1;
	}
	*abs = path;
	return 0;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	/* A uuid-shaped name could never be found by name (ids win). */
	if (n == 0 || n > NAME_MAX_BYTES || adw_store_is_uuid(s))
		return false;
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && !strchr("-_.", *s))
			return false;
	}
	return true;
}

static void rollback(PGconn *conn)
{
	PQclear(PQexec(conn, "ROLLBACK"));
}

/*
 * The unfinished ADW holding in->idempotency_key: -1 with CONFLICT and
 * *json and *id set (either may be NULL), 1 when there is none any more, -1
 * with another error.
 */
static int existing_by_key(PGconn *conn, const struct adw_new *in, char **json, char **id,
			   struct adw_err *err)
{
	const char *params[1] = {in->idempotency_key};
	PGresult *res =
	    adw_db_query(conn,
			 "SELECT a.id, a.adw_name, adw_json(a) FROM ai_developer_workflows a "
			 "WHERE idempotency_key = $1 AND status NOT IN ('completed', "
			 "'failed', 'cancelled')",
			 1, params, err);

	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 1;
	}
	adw_err_set(err, ADW_ERR_CONFLICT, "an unfinished adw has idempotency key '%s': %s (%s)",
		    in->idempotency_key, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 0));
	if (json)
		*json = adw_db_strdup(res, 0, 2);
	if (id)
		*id = adw_db_strdup(res, 0, 0);
	PQclear(res);
	return -1;
}

int adw_store_adw_create(PGconn *conn, const struct adw_config *cfg, const struct adw_new *in,
			 char **json, char **id, struct adw_err *err)
{
	struct adw_workflow wf = {0};
	struct adw_buf steps;
	char *workdir = NULL, *name = NULL, *new_id = NULL, *adw = NULL, *meta = NULL;
	const char *runtime = in->runtime ? in->runtime : cfg->runtime;
	const char *model = in->model && *in->model ? in->model : cfg->model;
	char total[16], limits[3][32] = {"", "", ""};
	PGresult *res = NULL;
	cJSON *m = NULL, *payload = NULL;
	bool in_tx = false;
	int rc = -1;

	adw_buf_init(&steps, 0);
	if (!in->workflow || !*in->workflow) {
		adw_err_set(err, ADW_ERR_INVALID, "workflow is required");
		goto out;
	}
	if (adw_workflow_load(cfg, in->workflow, &wf, err) < 0)
		goto out;
	if (!adw_event_utf8_valid(in->prompt) || !adw_event_utf8_valid(in->name) ||
	    !adw_event_utf8_valid(in->working_dir) || !adw_event_utf8_valid(in->model)) {
		adw_err_set(err, ADW_ERR_INVALID,
			    "prompt, name, working_dir and model must be valid UTF-8");
		goto out;
	}
	if (!in->prompt || blank(in->prompt)) {
		adw_err_set(err, ADW_ERR_INVALID, "prompt must not be empty");
		goto out;
	}
	if (strlen(in->prompt) > ADW_STORE_PROMPT_MAX) {
		adw_err_set(err, ADW_ERR_INVALID, "prompt is over %d bytes", ADW_STORE_PROMPT_MAX);
		goto out;
	}
	if (in->idempotency_key &&
	    (!*in->idempotency_key || strlen(in->idempotency_key) > ADW_STORE_KEY_MAX ||
	     !adw_event_utf8_valid(in->idempotency_key))) {
		adw_err_set(err, ADW_ERR_INVALID, "idempotency_key must be 1-%d bytes of UTF-8",
			    ADW_STORE_KEY_MAX);
		goto out;
	}
	if (in->timeout_s < 0 || in->timeout_s > ADW_STORE_TIMEOUT_MAX || in->step_timeout_s < 0 ||
	    in->step_timeout_s > ADW_STORE_TIMEOUT_MAX) {
		adw_err_set(err, ADW_ERR_INVALID,
			    "timeout_s and step_timeout_s must be 1..%d seconds",
			    ADW_STORE_TIMEOUT_MAX);
		goto out;
	}
	if (!(in->max_cost_usd >= 0 && in->max_cost_usd <= ADW_STORE_BUDGET_MAX)) {
		adw_err_set(err, ADW_ERR_INVALID,
			    "max_cost_usd must be more than 0 and at most %.0f",
			    ADW_STORE_BUDGET_MAX);
		goto out;
	}
	if (!adw_config_runtime_known(runtime)) {
		adw_err_set(err, ADW_ERR_INVALID, "unknown runtime '%s' (known: claude, dry-run)",
			    runtime);
		goto out;
	}
	if (check_workdir(in->working_dir ? in->working_dir : cfg->workdir, &workdir, err) < 0)
		goto out;
	name = in->name && *in->name ? adw_xstrdup(in->name) : adw_store_slug(in->prompt);
	if (!name_ok(name)) {
		adw_err_set(err, ADW_ERR_INVALID,
			    "bad name '%s': use 1-%d letters, digits, '-', '_' or '.'", name,
			    NAME_MAX_BYTES);
		goto out;
	}
	if (adw_buf_adds(&steps, "{") < 0)
		goto out;
	for (int i = 0; i < wf.nsteps; i++) {
		if (adw_buf_addf(&steps, "%s\"%s\"", i ? "," : "", wf.steps[i].name) < 0)
			goto out;
	}
	if (adw_buf_adds(&steps, "}") < 0)
		goto out;
	snprintf(total, sizeof(total), "%d", wf.nsteps);
	if (in->timeout_s)
		snprintf(limits[0], sizeof(limits[0]), "%d", in->timeout_s);
	if (in->step_timeout_s)
		snprintf(limits[1], sizeof(limits[1]), "%d", in->step_timeout_s);
	if (in->max_cost_usd > 0)
		snprintf(limits[2], sizeof(limits[2]), "%.6f", in->max_cost_usd);
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "source", in->source ? in->source : "api");
	meta = cJSON_PrintUnformatted(m);

	if (!in->in_transaction) {
		if (adw_db_exec(conn, "BEGIN", 0, NULL, err) < 0)
			goto out;
		in_tx = true;
	}
	{
		const char *params[15] = {name,
					  wf.name,
					  wf.description,
					  in->prompt,
					  workdir,
					  runtime,
					  model,
					  total,
					  meta,
					  in->status ? in->status : "pending",
					  in->redirected_from,
					  in->idempotency_key,
					  limits[0][0] ? limits[0] : NULL,
					  limits[1][0] ? limits[1] : NULL,
					  limits[2][0] ? limits[2] : NULL};

		res = adw_db_query(conn,
				   "INSERT INTO ai_developer_workflows (adw_name, workflow_type, "
				   "description, prompt, working_dir, runtime, model, total_steps, "
				   "metadata, status, redirected_from, idempotency_key, timeout_s, "
				   "step_timeout_s, max_cost_usd, input_data) "
				   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
				   "$13::int, $14::int, $15::numeric, "
				   "json_build_object('prompt', $4::text, 'working_dir', $5::text, "
				   "'model', $7::text, 'runtime', $6::text)) RETURNING id",
				   15, params, err);
		if (!res && err->code == ADW_ERR_CONFLICT && in->idempotency_key) {
			if (in_tx) {
				rollback(conn);
				in_tx = false;
			}
			rc = existing_by_key(conn, in, json, id, err);
			if (rc == 1 && !in->in_transaction) {
				/* It ended in between: the key is free again. */
				struct adw_new again = *in;

				rc = adw_store_adw_create(conn, cfg, &again, json, id, err);
			} else if (rc == 1) {
				rc = adw_err_set(err, ADW_ERR_CONFLICT,
						 "idempotency key '%s' is taken",
						 in->idempotency_key);
			}
			goto out;
		}
		if (!res)
			goto out;
		new_id = adw_xstrdup(PQgetvalue(res, 0, 0));
		PQclear(res);
		res = NULL;
	}
	{
		const char *params[2] = {new_id, adw_buf_str(&steps)};

		if (adw_db_exec(conn,
				"INSERT INTO adw_steps (adw_id, position, name) "
				"SELECT $1, ord - 1, s FROM unnest($2::text[]) WITH ORDINALITY AS "
				"t(s, ord)",
				2, params, err) < 0)
			goto out;
	}
	{
		const char *params[1] = {new_id};

		if (adw_db_query_text(
			conn, NULL,
			"SELECT adw_json(a) FROM ai_developer_workflows a WHERE id = $1", 1, params,
			&adw, err) < 0)
			goto out;
	}
	{
		char *content = adw_xasprintf("ADW '%s' created: %s, %d steps, runtime %s", name,
					      wf.name, wf.nsteps, runtime);
		struct adw_event ev = {
		    .adw_id = new_id,
		    .category = ADW_CAT_SYSTEM,
		    .type = "AdwCreated",
		    .content = content,
		};

		payload = cJSON_CreateObject();
		cJSON_AddItemToObject(payload, "adw", cJSON_Parse(adw));
		ev.payload = payload;
		if (adw_event_insert(conn, &ev, NULL, err) < 0) {
			free(content);
			goto out;
		}
		free(content);
	}
	if (in_tx && adw_db_exec(conn, "COMMIT", 0, NULL, err) < 0)
		goto out;
	in_tx = false;
	if (json) {
		*json = adw;
		adw = NULL;
	}
	if (id) {
		*id = new_id;
		new_id = NULL;
	}
	rc = 0;
out:
	if (in_tx)
		rollback(conn);
	PQclear(res);
	cJSON_Delete(m);
	cJSON_Delete(payload);
	free(meta);
	free(adw);
	free(new_id);
	free(name);
	free(workdir);
	adw_buf_release(&steps);
	adw_workflow_release(&wf);
	return rc;
}

int adw_store_adw_get(PGconn *conn, const char *id_or_name, bool wrap, char **json, char **id,
		      struct adw_err *err)
{
	const char *params[2] = {adw_store_is_uuid(id_or_name) ? id_or_name : NULL, id_or_name};
	PGresult *res;

	res = adw_db_query_prepared(
	    conn, wrap ? "adw_get_wrapped" : "adw_get",
	    wrap ? "SELECT json_build_object('adw', adw_json(a)), a.id "
		   "FROM ai_developer_workflows a "
		   "WHERE a.id = $1::uuid OR ($1 IS NULL AND a.adw_name = $2) "
		   "ORDER BY a.created_at DESC LIMIT 1"
		 : "SELECT adw_json(a), a.id FROM ai_developer_workflows a "
		   "WHERE a.id = $1::uuid OR ($1 IS NULL AND a.adw_name = $2) "
		   "ORDER BY a.created_at DESC LIMIT 1",
	    2, params, err);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return adw_err_set(err, ADW_ERR_NOT_FOUND, "adw '%s' not found", id_or_name);
	}
	if (json)
		*json = adw_xstrdup(PQgetvalue(res, 0, 0));
	if (id)
		*id = adw_xstrdup(PQgetvalue(res, 0, 1));
	PQclear(res);
	return 0;
}

static bool status_known(const char *s)
{
	static const char *const known[] = {"pending",	      "in_progress", "paused",
					    "awaiting_input", "completed",   "failed",
					    "cancelled"};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(s, known[i]) == 0)
			return true;
	}
	return false;
}

int adw_store_adw_list(PGconn *conn, const char *status, int limit, char **json,
		       struct adw_err *err)
{
	char lim[16];
	const char *params[2] = {status && *status ? status : NULL, lim};

	if (params[0] && !status_known(params[0]))
		return adw_err_set(err, ADW_ERR_INVALID,
				   "unknown status '%s' (known: pending, in_progress, paused, "
				   "awaiting_input, completed, failed, cancelled)",
				   status);
	if (limit < 1 || limit > ADW_STORE_LIST_MAX)
		return adw_err_set(err, ADW_ERR_INVALID, "limit must be 1..%d", ADW_STORE_LIST_MAX);
	snprintf(lim, sizeof(lim), "%d", limit);
	return adw_db_query_text(
	    conn, "adw_list",
	    "SELECT json_build_object('adws', COALESCE(json_agg(adw_json(a) "
	    "ORDER BY a.created_at DESC, a.id), '[]'::json)) FROM ("
	    "SELECT * FROM ai_developer_workflows WHERE ($1::text IS NULL OR status = $1) "
	    "ORDER BY created_at DESC, id LIMIT $2::int) a",
	    2, params, json, err);
}

int adw_store_events(PGconn *conn, long long after, int limit, const char *adw_id,
		     const char *agent_id, char **json, struct adw_err *err)
{
	char a[32], lim[16];
	const char *params[4] = {a, adw_id, agent_id, lim};

	if (adw_id && !adw_store_is_uuid(adw_id))
		return adw_err_set(err, ADW_ERR_INVALID, "adw_id '%s' is not a uuid", adw_id);
	if (agent_id && !adw_store_is_uuid(agent_id))
		return adw_err_set(err, ADW_ERR_INVALID, "agent_id '%s' is not a uuid", agent_id);
	if (limit < 1 || limit > ADW_STORE_EVENTS_MAX)
		return adw_err_set(err, ADW_ERR_INVALID, "limit must be 1..%d",
				   ADW_STORE_EVENTS_MAX);
	if (after < 0)
		return adw_err_set(err, ADW_ERR_INVALID, "after must be >= 0");
	snprintf(a, sizeof(a), "%lld", after);
	snprintf(lim, sizeof(lim), "%d", limit);
	return adw_db_query_text(
	    conn, "events_after",
	    "SELECT json_build_object('events', COALESCE(json_agg(event_json(e) "
	    "ORDER BY e.id), '[]'::json), 'next_after', COALESCE(max(e.id), $1::bigint)) "
	    "FROM (SELECT * FROM events WHERE id > $1::bigint "
	    "AND ($2::uuid IS NULL OR adw_id = $2::uuid) "
	    "AND ($3::uuid IS NULL OR agent_id = $3::uuid) "
	    "ORDER BY id LIMIT $4::int) e",
	    4, params, json, err);
}

int adw_store_agents(PGconn *conn, char **json, struct adw_err *err)
{
	return adw_db_query_text(
	    conn, "agents_list",
	    "SELECT json_build_object('agents', COALESCE(json_agg(agent_json(g) "
	    "ORDER BY g.created_at DESC), '[]'::json)) FROM ("
	    "SELECT * FROM agents WHERE NOT archived ORDER BY created_at DESC LIMIT 500) g",
	    0, NULL, json, err);
}

int adw_store_workflows(const struct adw_config *cfg, char **json, struct adw_err *err)
{
	struct adw_workflow *list = NULL;
	int n = 0;
	cJSON *root, *arr;

	if (adw_workflow_list(cfg, &list, &n, err) < 0)
		return -1;
	root = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(root, "workflows");
	for (int i = 0; i < n; i++) {
		cJSON *w = cJSON_CreateObject();
		cJSON *steps = cJSON_AddArrayToObject(w, "steps");

		cJSON_AddStringToObject(w, "name", list[i].name);
		cJSON_AddStringToObject(w, "description", list[i].description);
		for (int s = 0; s < list[i].nsteps; s++)
			cJSON_AddItemToArray(steps, cJSON_CreateString(list[i].steps[s].name));
		cJSON_AddItemToArray(arr, w);
	}
	*json = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	adw_workflow_list_free(list, n);
	return 0;
}

int adw_store_chat_add(PGconn *conn, const char *sender, const char *receiver, const char *message,
		       const char *adw_id, const char *metadata, char **json, struct adw_err *err)
{
	char *msg = adw_xstrdup(message);
	char *row = NULL;
	const char *params[5] = {sender, receiver, msg, adw_id, metadata ? metadata : "{}"};
	cJSON *payload = NULL;
	bool in_tx = false;
	int rc = -1;

	adw_event_fix_utf8(msg);
	if (adw_db_exec(conn, "BEGIN", 0, NULL, err) < 0)
		goto out;
	in_tx = true;
	if (adw_db_query_text(
		conn, NULL,
		"WITH c AS (INSERT INTO orchestrator_chat (sender_type, receiver_type, message, "
		"adw_id, metadata) VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING *) "
		"SELECT chat_json(c) FROM c",
		5, params, &row, err) < 0)
		goto out;
	{
		struct adw_event ev = {
		    .adw_id = adw_id,
		    .category = ADW_CAT_CHAT,
		    .type = "ChatMessage",
		    .content = msg,
		};
		char *who = adw_xasprintf("%s: %s", sender, msg);

		payload = cJSON_Parse(row);
		ev.payload = payload;
		ev.summary = who;
		rc = adw_event_insert(conn, &ev, NULL, err);
		free(who);
		if (rc < 0)
			goto out;
		rc = -1;
	}
	if (adw_db_exec(conn, "COMMIT", 0, NULL, err) < 0)
		goto out;
	in_tx = false;
	if (json) {
		*json = row;
		row = NULL;
	}
	rc = 0;
out:
	if (in_tx)
		rollback(conn);
	cJSON_Delete(payload);
	free(row);
	free(msg);
	return rc;
}

int adw_store_chat_list(PGconn *conn, int limit, const char *before, char **json,
			struct adw_err *err)
{
	char lim[16];
	const char *params[2] = {lim, before && *before ? before : NULL};

	if (limit < 1 || limit > ADW_STORE_LIST_MAX)
		return adw_err_set(err, ADW_ERR_INVALID, "limit must be 1..%d", ADW_STORE_LIST_MAX);
	if (params[1] && !adw_store_is_uuid(params[1]))
		return adw_err_set(err, ADW_ERR_INVALID, "before '%s' is not a message id", before);
	snprintf(lim, sizeof(lim), "%d", limit);
	return adw_db_query_text(
	    conn, NULL,
	    "SELECT json_build_object('messages', COALESCE(json_agg(chat_json(c) "
	    "ORDER BY c.seq), '[]'::json)) FROM ("
	    "SELECT * FROM orchestrator_chat WHERE ($2::uuid IS NULL OR seq < "
	    "(SELECT seq FROM orchestrator_chat WHERE id = $2::uuid)) "
	    "ORDER BY seq DESC LIMIT $1::int) c",
	    2, params, json, err);
}

int adw_store_adw_claim(PGconn *conn, const char *host, pid_t pid, int max, char ***ids, int *n,
			struct adw_err *err)
{
	char p[16], m[16];
	const char *params[3] = {host, p, m};
	PGresult *res;
	char **out;

	*ids = NULL;
	*n = 0;
	if (max <= 0)
		return 0;
	snprintf(p, sizeof(p), "%d", (int)pid);
	snprintf(m, sizeof(m), "%d", max);
	res = adw_db_query(
	    conn,
	    "UPDATE ai_developer_workflows SET status = 'in_progress', "
	    "started_at = COALESCE(started_at, now()), worker_host = $1, "
	    "worker_pid = NULL, heartbeat_at = now(), "
	    "metadata = metadata || jsonb_build_object('supervisor_pid', $2::int) "
	    "WHERE id IN (SELECT id FROM ai_developer_workflows WHERE status = 'pending' "
	    "ORDER BY created_at, id LIMIT $3::int FOR NO KEY UPDATE SKIP LOCKED) RETURNING id",
	    3, params, err);
	if (!res)
		return -1;
	out = adw_xcalloc((size_t)PQntuples(res) + 1, sizeof(*out));
	for (int i = 0; i < PQntuples(res); i++)
		out[i] = adw_xstrdup(PQgetvalue(res, i, 0));
	*n = PQntuples(res);
	*ids = out;
	PQclear(res);
	return 0;
}

int adw_store_adw_set_worker(PGconn *conn, const char *id, pid_t pid, const char *log_path,
			     struct adw_err *err)
{
	char p[16];
	const char *params[3] = {id, p, log_path};

	snprintf(p, sizeof(p), "%d", (int)pid);
	return adw_db_exec(conn,
			   "UPDATE ai_developer_workflows SET worker_pid = $2::int, log_path = $3 "
			   "WHERE id = $1",
			   3, params, err);
}

int adw_store_adw_fail(PGconn *conn, const char *id, const char *reason, bool *changed,
		       struct adw_err *err)
{
	const char *params[2] = {id, reason};
	PGresult *res = NULL;
	char *sql = NULL;
	char *step = NULL;
	cJSON *payload = NULL;
	bool in_tx = false;
	int rc = -1;

	if (changed)
		*changed = false;
	if (adw_db_exec(conn, "BEGIN", 0, NULL, err) < 0)
		goto out;
	in_tx = true;
	sql = adw_xasprintf(
	    "UPDATE ai_developer_workflows SET status = 'failed', error_message = $2, "
	    "error_step = COALESCE(error_step, current_step), error_count = error_count + 1, "
	    "completed_at = now(), duration_ms = (extract(epoch FROM now() - "
	    "COALESCE(started_at, created_at)) * 1000)::bigint "
	    "WHERE id = $1 AND status NOT IN %s RETURNING current_step",
	    terminal_sql);
	res = adw_db_query(conn, sql, 2, params, err);
	if (!res)
		goto out;
	if (PQntuples(res) == 0) {
		rc = 0;
		goto out;
	}
	step = adw_db_strdup(res, 0, 0);
	PQclear(res);
	res = NULL;
	if (adw_db_exec(conn,
			"UPDATE adw_steps SET status = 'failed', error = $2, ended_at = now(), "
			"duration_ms = (extract(epoch FROM now() - started_at) * 1000)::bigint "
			"WHERE adw_id = $1 AND status = 'running'",
			2, params, err) < 0)
		goto out;
	if (adw_db_exec(conn,
			"UPDATE agents SET status = 'blocked' WHERE adw_id = $1 AND status IN "
			"('executing', 'waiting')",
			1, params, err) < 0)
		goto out;
	/* Nobody is left to take an answer or act on a message. */
	if (adw_db_exec(conn,
			"UPDATE adw_questions SET status = 'cancelled', answered_at = now() "
			"WHERE adw_id = $1 AND status = 'pending'",
			1, params, err) < 0 ||
	    adw_db_exec(conn,
			"UPDATE adw_messages SET action_status = 'ignored', processed_at = now(), "
			"status_reason = 'the adw failed: ' || $2 WHERE adw_id = $1 AND "
			"action_status IN ('pending', 'acknowledged')",
			2, params, err) < 0)
		goto out;
	{
		struct adw_event ev = {.adw_id = id,
				       .step = step,
				       .category = ADW_CAT_SYSTEM,
				       .type = "SystemError",
				       .content = reason};

		payload = cJSON_CreateObject();
		cJSON_AddStringToObject(payload, "level", "ERROR");
		cJSON_AddStringToObject(payload, "reason", reason);
		ev.payload = payload;
		if (adw_event_insert(conn, &ev, NULL, err) < 0)
			goto out;
		cJSON_Delete(payload);
		payload = NULL;
	}
	if (adw_store_adw_updated(conn, id, "status: failed", NULL, err) < 0)
		goto out;
	if (adw_db_exec(conn, "COMMIT", 0, NULL, err) < 0)
		goto out;
	in_tx = false;
	if (changed)
		*changed = true;
	rc = 0;
out:
	if (in_tx)
		rollback(conn);
	PQclear(res);
	cJSON_Delete(payload);
	free(step);
	free(sql);
	return rc;
}

int adw_store_adw_unfinished(PGconn *conn, const char *host, char ***ids, pid_t **pids, int *n,
			     struct adw_err *err)
{
	const char *params[1] = {host};
	PGresult *res;

	*ids = NULL;
	*pids = NULL;
	*n = 0;
	res = adw_db_query(conn,
			   "SELECT id, COALESCE(worker_pid, 0) FROM ai_developer_workflows "
			   "WHERE status IN ('in_progress', 'paused', 'awaiting_input') "
			   "AND worker_host = $1",
			   1, params, err);
	if (!res)
		return -1;
	*n = PQntuples(res);
	*ids = adw_xcalloc((size_t)*n + 1, sizeof(**ids));
	*pids = adw_xcalloc((size_t)*n + 1, sizeof(**pids));
	for (int i = 0; i < *n; i++) {
		(*ids)[i] = adw_xstrdup(PQgetvalue(res, i, 0));
		(*pids)[i] = (pid_t)strtol(PQgetvalue(res, i, 1), NULL, 10);
	}
	PQclear(res);
	return 0;
}

int adw_store_adw_retry(PGconn *conn, const char *id_or_name, const char *from_step,
			const char *source, char **json, struct adw_err *err)
{
	char *id = NULL, *status = NULL, *from = NULL, *note = NULL, *adw = NULL;
	PGresult *res = NULL;
	bool in_tx = false;
	int rc = -1;

	if (adw_store_adw_get(conn, id_or_name, false, NULL, &id, err) < 0)
		return -1;
	if (adw_db_exec(conn, "BEGIN", 0, NULL, err) < 0)
		goto out;
	in_tx = true;
	{
		const char *params[1] = {id};

		if (adw_db_query_text(
			conn, NULL,
			"SELECT status FROM ai_developer_workflows WHERE id = $1 FOR NO "
			"KEY UPDATE",
			1, params, &status, err) < 0)
			goto out;
	}
	if (strcmp(status, "failed") != 0 && strcmp(status, "cancelled") != 0) {
		adw_err_set(err, ADW_ERR_CONFLICT,
			    "adw '%s' is %s: only a failed or cancelled adw can be retried",
			    id_or_name, status);
		goto out;
	}
	{
		/* The first position to run again: from_step's, or the first unfinished. */
		const char *params[2] = {id, from_step};

		res = adw_db_query(
		    conn,
		    "SELECT min(position) FILTER (WHERE $2::text IS NOT NULL AND name = "
		    "$2), min(position) FILTER (WHERE status NOT IN ('completed', "
		    "'skipped')) FROM adw_steps WHERE adw_id = $1",
		    2, params, err);
		if (!res)
			goto out;
		if (from_step && PQgetisnull(res, 0, 0)) {
			adw_err_set(err, ADW_ERR_INVALID, "'%s' is not a step of adw '%s'",
				    from_step, id_or_name);
			goto out;
		}
		from = adw_db_strdup(res, 0, from_step ? 0 : 1);
		PQclear(res);
		res = NULL;
	}
	{
		const char *params[2] = {id, from};

		if (adw_db_exec(
			conn,
			"UPDATE adw_steps SET status = 'pending', started_at = NULL, ended_at "
			"= NULL, duration_ms = NULL, error = NULL, verdict = NULL, artifact = "
			"NULL WHERE adw_id = $1 AND (position >= $2::int OR status NOT IN "
			"('completed', 'skipped'))",
			2, params, err) < 0)
			goto out;
	}
	{
		const char *params[1] = {id};

		if (adw_db_exec(
			conn,
			"UPDATE ai_developer_workflows a SET status = 'pending', error_message = "
			"NULL, error_step = NULL, cancel_reason = NULL, cancelled_by = NULL, "
			"paused_at = NULL, pause_reason = NULL, completed_at = NULL, duration_ms = "
			"NULL, worker_pid = NULL, worker_host = NULL, current_step = NULL, "
			"completed_steps = (SELECT count(*) FROM adw_steps s WHERE s.adw_id = a.id "
			"AND "
			"s.status IN ('completed', 'skipped')), verdict = (SELECT s.verdict FROM "
			"adw_steps s WHERE s.adw_id = a.id AND s.status = 'completed' AND "
			"s.verdict IS "
			"NOT NULL ORDER BY s.position DESC LIMIT 1), output_data = jsonb_set("
			"output_data - 'verdict', '{artifacts}', COALESCE((SELECT "
			"jsonb_object_agg(s.name, s.artifact) FROM adw_steps s WHERE s.adw_id = "
			"a.id "
			"AND s.status = 'completed' AND s.artifact IS NOT NULL), '{}'::jsonb)), "
			"metadata = metadata || jsonb_build_object('retries', COALESCE((metadata "
			"->> "
			"'retries')::int, 0) + 1) WHERE id = $1",
			1, params, err) < 0)
			goto out;
	}
	{
		const char *params[2] = {id, from};

		res = adw_db_query(conn,
				   "SELECT name FROM adw_steps WHERE adw_id = $1 AND position = "
				   "$2::int",
				   2, params, err);
		if (!res)
			goto out;
		note = adw_xasprintf(
		    "Retry requested by user via %s: runs again from the %s step%s",
		    source ? source : "api", PQntuples(res) ? PQgetvalue(res, 0, 0) : "first",
		    from_step ? "" : " (the first one that did not finish)");
		PQclear(res);
		res = NULL;
	}
	{
		cJSON *m = cJSON_CreateObject();
		char *meta;
		const char *params[3] = {id, note, NULL};

		cJSON_AddStringToObject(m, "source", source ? source : "api");
		cJSON_AddStringToObject(m, "action", "retry");
		meta = cJSON_PrintUnformatted(m);
		cJSON_Delete(m);
		params[2] = meta;
		rc = adw_db_exec(
		    conn,
		    "INSERT INTO adw_messages (adw_id, sender, action_type, "
		    "action_status, content, metadata, acknowledged_at, processed_at) "
		    "VALUES ($1, 'system', 'comment', 'processed', $2, $3::jsonb, now(), "
		    "now())",
		    3, params, err);
		free(meta);
		if (rc < 0)
			goto out;
		rc = -1;
	}
	if (adw_store_adw_updated(conn, id, "status: pending (retry)", &adw, err) < 0)
		goto out;
	if (adw_db_exec(conn, "COMMIT", 0, NULL, err) < 0)
		goto out;
	in_tx = false;
	*json = adw;
	adw = NULL;
	rc = 0;
out:
	if (in_tx)
		rollback(conn);
	PQclear(res);
	free(id);
	free(status);
	free(from);
	free(note);
	free(adw);
	return rc;
}

int adw_store_adw_recover(PGconn *conn, const char *id, const char *reason, int max,
			  enum adw_recovery *outcome, struct adw_err *err)
{
	const char *params[2] = {id, reason};
	PGresult *res = NULL;
	char *why = NULL, *content = NULL;
	bool in_tx = false;
	int n, rc = -1;

	*outcome = ADW_RECOVERY_NONE;
	if (adw_db_exec(conn, "BEGIN", 0, NULL, err) < 0)
		goto out;
	in_tx = true;
	res =
	    adw_db_query(conn,
			 "SELECT status, COALESCE((metadata ->> 'recoveries')::int, 0), status IN "
			 "('in_progress', 'awaiting_input') OR (status = 'paused' AND started_at "
			 "IS NOT NULL) FROM ai_developer_workflows WHERE id = $1 FOR NO KEY UPDATE",
			 1, params, err);
	if (!res)
		goto out;
	/* Only a running ADW can be lost (pending: already back in the queue). */
	if (PQntuples(res) != 1 || PQgetvalue(res, 0, 2)[0] != 't') {
		rc = 0;
		goto out;
	}
	n = (int)strtol(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	res = NULL;
	if (n >= max) {
		rollback(conn);
		in_tx = false;
		why = adw_xasprintf("%s; lost %d times, more than ADW_MAX_RECOVERIES (%d) allows",
				    reason, n + 1, max);
		{
			bool changed = false;

			if (adw_store_adw_fail(conn, id, why, &changed, err) < 0)
				goto out;
			*outcome = changed ? ADW_RECOVERY_FAILED : ADW_RECOVERY_NONE;
		}
		rc = 0;
		goto out;
	}
	if (adw_db_exec(
		conn,
		"UPDATE ai_developer_workflows SET status = CASE WHEN status = 'paused' "
		"THEN 'paused' ELSE 'pending' END, started_at = CASE WHEN status = 'paused' "
		"THEN NULL ELSE started_at END, worker_pid = NULL, worker_host = NULL, "
		"current_step = NULL, metadata = metadata || jsonb_build_object("
		"'recovering', true, 'recoveries', COALESCE((metadata ->> 'recoveries')::int, 0) + "
		"1, "
		"'recovery_history', COALESCE(metadata -> 'recovery_history', '[]'::jsonb) || "
		"jsonb_build_array(jsonb_build_object('at', adw_ts(now()), 'reason', "
		"$2::text))) WHERE id = $1",
		2, params, err) < 0 ||
	    adw_db_exec(conn,
			"UPDATE adw_steps SET status = 'pending', started_at = NULL, ended_at = "
			"NULL, duration_ms = NULL WHERE adw_id = $1 AND status = 'running'",
			1, params, err) < 0 ||
	    adw_db_exec(conn,
			"UPDATE agents SET status = 'blocked' WHERE adw_id = $1 AND status IN "
			"('executing', 'waiting')",
			1, params, err) < 0 ||
	    adw_db_exec(conn,
			"UPDATE adw_questions SET status = 'cancelled', answered_at = now() WHERE "
			"adw_id = $1 AND status = 'pending'",
			1, params, err) < 0 ||
	    adw_db_exec(conn,
			"UPDATE adw_messages SET action_status = 'pending', acknowledged_at = NULL "
			"WHERE adw_id = $1 AND action_status = 'acknowledged'",
			1, params, err) < 0)
		goto out;
	content = adw_xasprintf("adw-run lost (%s): the ADW resumes after its last finished step "
				"(recovery %d of at most %d)",
				reason, n + 1, max);
	{
		struct adw_event ev = {.adw_id = id,
				       .category = ADW_CAT_SYSTEM,
				       .type = "SystemWarning",
				       .content = content};

		if (adw_event_insert(conn, &ev, NULL, err) < 0)
			goto out;
	}
	if (adw_store_adw_updated(conn, id, "recovered: pending", NULL, err) < 0)
		goto out;
	if (adw_db_exec(conn, "COMMIT", 0, NULL, err) < 0)
		goto out;
	in_tx = false;
	*outcome = ADW_RECOVERY_REQUEUED;
	rc = 0;
out:
	if (in_tx)
		rollback(conn);
	PQclear(res);
	free(why);
	free(content);
	return rc;
}

int adw_store_heartbeat(PGconn *conn, char *const *ids, int n, struct adw_err *err)
{
	struct adw_buf arr;
	const char *params[1];
	int rc;

	if (n <= 0)
		return 0;
	adw_buf_init(&arr, 0);
	for (int i = 0; i < n; i++) {
		if (adw_buf_addf(&arr, "%s%s", i ? "," : "{", ids[i]) < 0)
			break;
	}
	if (adw_buf_adds(&arr, "}") < 0) {
		adw_buf_release(&arr);
		return adw_err_set(err, ADW_ERR_INTERNAL, "out of memory");
	}
	params[0] = adw_buf_str(&arr);
	rc =
	    adw_db_exec(conn,
			"UPDATE ai_developer_workflows SET heartbeat_at = now() WHERE id = "
			"ANY($1::uuid[]) AND status IN ('in_progress', 'paused', 'awaiting_input')",
			1, params, err);
	adw_buf_release(&arr);
	return rc;
}

int adw_store_adw_lost(PGconn *conn, int stale_s, int max, char ***ids, char ***why, int *n,
		       struct adw_err *err)
{
	char secs[16], lim[16];
	const char *params[2] = {secs, lim};
	PGresult *res;

	*ids = *why = NULL;
	*n = 0;
	snprintf(secs, sizeof(secs), "%d", stale_s);
	snprintf(lim, sizeof(lim), "%d", max);
	res = adw_db_query(
	    conn,
	    "SELECT a.id, format('its adw-run (host %s, pid %s) showed no sign of life for %s s "
	    "and holds no lock', COALESCE(a.worker_host, '?'), COALESCE(a.worker_pid::text, "
	    "'?'), (extract(epoch FROM now() - COALESCE(a.heartbeat_at, a.started_at)))::int) "
	    "FROM ai_developer_workflows a WHERE a.status IN ('in_progress', 'paused', "
	    "'awaiting_input') AND a.started_at IS NOT NULL AND COALESCE(a.heartbeat_at, "
	    "a.started_at) < now() - make_interval(secs => $1::int) AND NOT EXISTS (SELECT 1 "
	    "FROM pg_locks l WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.classid = "
	    "((adw_lock_key(a.id) >> 32) & 4294967295)::oid AND l.objid = (adw_lock_key(a.id) "
	    "& 4294967295)::oid) ORDER BY a.heartbeat_at NULLS FIRST LIMIT $2::int",
	    2, params, err);
	if (!res)
		return -1;
	*n = PQntuples(res);
	*ids = adw_xcalloc((size_t)*n + 1, sizeof(**ids));
	*why = adw_xcalloc((size_t)*n + 1, sizeof(**why));
	for (int i = 0; i < *n; i++) {
		(*ids)[i] = adw_db_strdup(res, i, 0);
		(*why)[i] = adw_db_strdup(res, i, 1);
	}
	PQclear(res);
	return 0;
}

int adw_store_adw_updated(PGconn *conn, const char *id, const char *what, char **json,
			  struct adw_err *err)
{
	const char *params[1] = {id};
	char *adw = NULL;
	cJSON *payload;
	int rc;

	if (adw_db_query_text(conn, NULL,
			      "SELECT adw_json(a) FROM ai_developer_workflows a WHERE id = $1", 1,
			      params, &adw, err) < 0)
		return -1;
	payload = cJSON_CreateObject();
	cJSON_AddItemToObject(payload, "adw", cJSON_Parse(adw));
	{
		struct adw_event ev = {.adw_id = id,
				       .category = ADW_CAT_SYSTEM,
				       .type = "AdwUpdated",
				       .content = what,
				       .payload = payload};

		rc = adw_event_insert(conn, &ev, NULL, err);
	}
	cJSON_Delete(payload);
	if (rc == 0 && json)
		*json = adw;
	else
		free(adw);
	return rc;
}
