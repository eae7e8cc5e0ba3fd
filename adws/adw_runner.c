/* SPDX-License-Identifier: MIT */
/* Runs the steps of one ADW and records everything in PostgreSQL. */
#include "adw_runner.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "adw_claude.h"
#include "adw_db.h"
#include "adw_dryrun.h"
#include "adw_event.h"
#include "adw_log.h"
#include "adw_prompt.h"
#include "adw_report.h"
#include "adw_runtime.h"
#include "adw_store.h"
#include "adw_workflow.h"

#define REPORT_MAX (8 * 1024 * 1024)

struct runner {
	const struct adw_config *cfg;
	PGconn *conn;
	char *id, *name, *prompt, *workdir, *runtime, *model, *workflow_type;
	char short_id[9];
	struct adw_workflow wf;
	char *plan_path, *review_path;
	enum adw_verdict verdict;
	const char *step;	      /* the running step, for events */
	char *agent_id;		      /* the running step's agent */
	int lost_events;	      /* events that could not be stored */
	struct adw_event_batch batch; /* events not yet written */
};

#define BATCH_ROWS 64		 /* write when this many events wait... */
#define BATCH_BYTES (512 * 1024) /* ...or this many bytes... */
#define BATCH_AGE_MS 5		 /* ...or the oldest has waited this long */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void new_uuid(char out[37])
{
	uuid_t u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

/* Writes the buffered events in one statement (retried once on a new connection). */
static void flush(struct runner *r)
{
	struct adw_err err = {0};

	if (r->batch.n == 0)
		return;
	if (adw_event_batch_flush(r->conn, &r->batch, NULL, &err) == 0)
		return;
	adw_log_error("adw=%s %d events not stored yet: %s", r->id, r->batch.n, err.msg);
	if (adw_db_check(r->conn, &err) == 0 &&
	    adw_event_batch_flush(r->conn, &r->batch, NULL, &err) == 0)
		return;
	r->lost_events += r->batch.n;
	adw_log_error("adw=%s %d events lost: %s", r->id, r->batch.n, err.msg);
	adw_event_batch_release(&r->batch);
	adw_event_batch_init(&r->batch);
}

/* Buffers an event of the running step (or of the workflow when step is NULL). */
static int record(struct runner *r, struct adw_event *ev)
{
	ev->adw_id = r->id;
	if (!ev->step)
		ev->step = r->step;
	if (!ev->agent_id)
		ev->agent_id = r->agent_id;
	adw_event_batch_add(&r->batch, ev);
	if (r->batch.n >= BATCH_ROWS || r->batch.bytes >= BATCH_BYTES ||
	    adw_event_batch_age_ms(&r->batch) >= BATCH_AGE_MS)
		flush(r);
	return 0;
}

static void idle_cb(void *ud)
{
	flush(ud);
}

static int emit_cb(void *ud, struct adw_event *ev)
{
	return record(ud, ev);
}

static void system_event(struct runner *r, const char *step, const char *type, cJSON *payload,
			 const char *fmt, ...) ADW_PRINTF(5, 6);

static void system_event(struct runner *r, const char *step, const char *type, cJSON *payload,
			 const char *fmt, ...)
{
	struct adw_event ev = {.category = ADW_CAT_SYSTEM, .type = type, .payload = payload};
	const char *saved = r->step;
	char *saved_agent = r->agent_id;
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	ev.content = msg ? msg : type;
	r->step = step;
	if (!step)
		r->agent_id = NULL;
	record(r, &ev);
	r->step = saved;
	r->agent_id = saved_agent;
	free(msg);
	cJSON_Delete(payload);
}

/* An AdwUpdated event carrying the ADW's current JSON. */
static void adw_updated(struct runner *r, const char *what)
{
	struct adw_err err = {0};
	char *json = NULL;
	cJSON *payload = cJSON_CreateObject();
	struct adw_event ev = {.category = ADW_CAT_SYSTEM, .type = "AdwUpdated", .content = what};
	const char *saved = r->step;
	char *saved_agent = r->agent_id;

	if (adw_store_adw_get(r->conn, r->id, false, &json, NULL, &err) == 0)
		cJSON_AddItemToObject(payload, "adw", cJSON_Parse(json));
	ev.payload = payload;
	r->step = NULL;
	r->agent_id = NULL;
	record(r, &ev);
	r->step = saved;
	r->agent_id = saved_agent;
	cJSON_Delete(payload);
	free(json);
}

static void agent_event(struct runner *r, const char *type, const char *what)
{
	struct adw_err err = {0};
	const char *params[1] = {r->agent_id};
	PGresult *res = adw_db_query(r->conn, "SELECT agent_json(g) FROM agents g WHERE id = $1", 1,
				     params, &err);
	cJSON *payload = cJSON_CreateObject();
	struct adw_event ev = {.category = ADW_CAT_SYSTEM, .type = type, .content = what};

	if (res && PQntuples(res) == 1)
		cJSON_AddItemToObject(payload, "agent", cJSON_Parse(PQgetvalue(res, 0, 0)));
	PQclear(res);
	ev.payload = payload;
	record(r, &ev);
	cJSON_Delete(payload);
}

static int load(struct runner *r, struct adw_err *err)
{
	char pid[16], host[256] = "localhost";
	const char *params[3] = {r->id, pid, host};
	PGresult *res;

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "localhost");
	/* Take the ADW over: pending (foreground run) or claimed by a supervisor. */
	res = adw_db_query(r->conn,
			   "UPDATE ai_developer_workflows SET status = 'in_progress', "
			   "worker_pid = $2::int, worker_host = COALESCE(worker_host, $3), "
			   "started_at = COALESCE(started_at, now()) "
			   "WHERE id = $1 AND status IN ('pending', 'in_progress') "
			   "RETURNING adw_name, prompt, working_dir, runtime, model, workflow_type",
			   3, params, err);
	if (!res)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return adw_err_set(err, ADW_ERR_CONFLICT, "adw '%s' is not pending or in progress",
				   r->id);
	}
	r->name = adw_db_strdup(res, 0, 0);
	r->prompt = adw_db_strdup(res, 0, 1);
	r->workdir = adw_db_strdup(res, 0, 2);
	r->runtime = adw_db_strdup(res, 0, 3);
	r->model = adw_db_strdup(res, 0, 4);
	r->workflow_type = adw_db_strdup(res, 0, 5);
	PQclear(res);
	memcpy(r->short_id, r->id, 8);
	r->short_id[8] = '\0';
	return adw_workflow_load(r->cfg, r->workflow_type, &r->wf, err);
}

/* Where a step writes its artifact, inside the working dir; NULL when none. */
static char *artifact_path(const struct runner *r, const char *step)
{
	if (strcmp(step, "plan") == 0)
		return adw_xasprintf("%s/specs/%s-%s.md", r->workdir, r->name, r->short_id);
	if (strcmp(step, "review") == 0)
		return adw_xasprintf("%s/app_review/review-%s-%s.md", r->workdir, r->name,
				     r->short_id);
	if (strcmp(step, "fix") == 0)
		return adw_xasprintf("%s/app_fix_reports/fix-%s-%s.md", r->workdir, r->name,
				     r->short_id);
	return NULL;
}

static char *title_case(const char *step)
{
	char *s = adw_xstrdup(step);

	s[0] = (char)toupper((unsigned char)s[0]);
	return s;
}

static int step_begin(struct runner *r, int index, const char *step, const char *artifact,
		      struct adw_err *err)
{
	char *agent_name = adw_xasprintf("%s-%s", step, r->short_id);
	char idx[16];
	const char *model =
	    r->model ? r->model : (strcmp(r->runtime, "dry-run") == 0 ? "dry-run" : "default");
	const char *params[6] = {agent_name, model, r->runtime, r->workdir, r->id, step};
	PGresult *res;
	cJSON *payload;
	int rc = -1;

	snprintf(idx, sizeof(idx), "%d", index);
	flush(r);
	if (adw_db_exec(r->conn, "BEGIN", 0, NULL, err) < 0)
		goto out;
	/* A re-run of a step reuses its name: archive the earlier agent. */
	if (adw_db_exec(r->conn,
			"UPDATE agents SET archived = true WHERE name = $1 AND NOT archived", 1,
			params, err) < 0)
		goto rollback;
	res =
	    adw_db_query(r->conn,
			 "INSERT INTO agents (name, model, runtime, working_dir, adw_id, adw_step, "
			 "status) VALUES ($1, $2, $3, $4, $5, $6, 'executing') RETURNING id",
			 6, params, err);
	if (!res)
		goto rollback;
	free(r->agent_id);
	r->agent_id = adw_xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	{
		const char *p2[4] = {r->id, idx, r->agent_id, artifact};

		if (adw_db_exec(r->conn,
				"UPDATE adw_steps SET status = 'running', started_at = now(), "
				"ended_at = NULL, duration_ms = NULL, error = NULL, agent_id = $3, "
				"artifact = $4 WHERE adw_id = $1 AND position = $2::int",
				4, p2, err) < 0 ||
		    adw_db_exec(r->conn,
				"UPDATE ai_developer_workflows SET current_step = $3, "
				"completed_steps = $2::int WHERE id = $1",
				3, (const char *[]){r->id, idx, step}, err) < 0)
			goto rollback;
	}
	if (adw_db_exec(r->conn, "COMMIT", 0, NULL, err) < 0)
		goto rollback;
	r->step = step;
	agent_event(r, "AgentCreated", "step agent created");
	payload = cJSON_CreateObject();
	cJSON_AddStringToObject(payload, "step", step);
	cJSON_AddNumberToObject(payload, "index", index);
	cJSON_AddStringToObject(payload, "agent_id", r->agent_id);
	cJSON_AddStringToObject(payload, "runtime", r->runtime);
	cJSON_AddStringToObject(payload, "model", model);
	if (artifact)
		cJSON_AddStringToObject(payload, "artifact", artifact);
	if (r->plan_path && strcmp(step, "plan") != 0)
		cJSON_AddStringToObject(payload, "plan_path", r->plan_path);
	{
		char *content = adw_xasprintf("StepStart: %s", step);
		char *clip = adw_event_clip(r->prompt, 100, 1);
		char *summary = adw_xasprintf("Starting %s step for: %s", step, clip);
		struct adw_event ev = {.category = ADW_CAT_ADW_STEP,
				       .type = "StepStart",
				       .content = content,
				       .summary = summary,
				       .payload = payload};

		record(r, &ev);
		free(summary);
		free(clip);
		free(content);
	}
	cJSON_Delete(payload);
	adw_updated(r, "step started");
	rc = 0;
	goto out;
rollback:
	PQclear(PQexec(r->conn, "ROLLBACK"));
out:
	free(agent_name);
	return rc;
}

/* Records the end of a step: agent, step row, ADW totals, StepEnd. */
static int step_end(struct runner *r, int index, const char *step, const char *artifact,
		    const struct adw_step_result *res, bool ok, const char *error,
		    long long duration_ms, struct adw_err *err)
{
	char dur[32], in[32], out_t[32], cost[64], idx[16], done[16];
	const char *verdict =
	    strcmp(step, "review") == 0 ? adw_report_verdict_name(r->verdict) : NULL;
	const char *params[12];
	cJSON *payload;
	char *content;

	snprintf(dur, sizeof(dur), "%lld", duration_ms);
	snprintf(in, sizeof(in), "%lld", res->input_tokens);
	snprintf(out_t, sizeof(out_t), "%lld", res->output_tokens);
	snprintf(cost, sizeof(cost), "%.6f", res->cost_usd);
	snprintf(idx, sizeof(idx), "%d", index);
	snprintf(done, sizeof(done), "%d", ok ? index + 1 : index);
	params[0] = r->id;
	params[1] = r->agent_id;
	params[2] = ok ? "complete" : "blocked";
	params[3] = res->session_id;
	params[4] = in;
	params[5] = out_t;
	params[6] = cost;
	flush(r);
	if (adw_db_exec(r->conn, "BEGIN", 0, NULL, err) < 0)
		return -1;
	if (adw_db_exec(
		r->conn,
		"UPDATE agents SET status = $3, session_id = $4, input_tokens = $5::bigint, "
		"output_tokens = $6::bigint, total_cost = $7::numeric WHERE id = $2 AND "
		"adw_id = $1",
		7, params, err) < 0)
		goto rollback;
	params[1] = idx;
	params[2] = ok ? "completed" : "failed";
	params[3] = dur;
	params[4] = verdict;
	params[5] = artifact;
	params[6] = ok ? NULL : error;
	if (adw_db_exec(
		r->conn,
		"UPDATE adw_steps SET status = $3, ended_at = now(), duration_ms = $4::bigint, "
		"verdict = $5, artifact = $6, error = $7 WHERE adw_id = $1 AND position = $2::int",
		7, params, err) < 0)
		goto rollback;
	params[1] = done;
	params[2] = in;
	params[3] = out_t;
	params[4] = cost;
	params[5] = ok && artifact ? step : NULL;
	params[6] = artifact;
	params[7] = verdict;
	if (adw_db_exec(r->conn,
			"UPDATE ai_developer_workflows SET completed_steps = $2::int, "
			"input_tokens = input_tokens + $3::bigint, "
			"output_tokens = output_tokens + $4::bigint, "
			"cost_usd = cost_usd + $5::numeric, verdict = COALESCE($8, verdict), "
			"output_data = CASE WHEN $6::text IS NULL THEN output_data ELSE "
			"jsonb_set(jsonb_set(output_data, '{artifacts}', "
			"COALESCE(output_data -> 'artifacts', '{}'::jsonb)), "
			"ARRAY['artifacts', $6::text], to_jsonb($7::text)) END "
			"|| CASE WHEN $8::text IS NULL THEN '{}'::jsonb "
			"ELSE jsonb_build_object('verdict', $8::text) END "
			"WHERE id = $1",
			8, params, err) < 0)
		goto rollback;
	if (adw_db_exec(r->conn, "COMMIT", 0, NULL, err) < 0)
		goto rollback;
	agent_event(r, "AgentUpdated", ok ? "step agent complete" : "step agent blocked");
	payload = cJSON_CreateObject();
	cJSON_AddStringToObject(payload, "step", step);
	cJSON_AddNumberToObject(payload, "index", index);
	cJSON_AddStringToObject(payload, "status", ok ? "success" : "failed");
	cJSON_AddNumberToObject(payload, "duration_ms", (double)duration_ms);
	cJSON_AddStringToObject(payload, "agent_id", r->agent_id);
	if (res->session_id)
		cJSON_AddStringToObject(payload, "session_id", res->session_id);
	cJSON_AddNumberToObject(payload, "input_tokens", (double)res->input_tokens);
	cJSON_AddNumberToObject(payload, "output_tokens", (double)res->output_tokens);
	cJSON_AddNumberToObject(payload, "cost_usd", res->cost_usd);
	if (verdict)
		cJSON_AddStringToObject(payload, "verdict", verdict);
	if (artifact)
		cJSON_AddStringToObject(payload, "artifact", artifact);
	if (!ok)
		cJSON_AddStringToObject(payload, "error", error ? error : "unknown error");
	content = adw_xasprintf("StepEnd: %s (%s)", step, ok ? "success" : "failed");
	{
		char *summary =
		    ok ? adw_xasprintf("Step '%s' completed successfully in %.1fs%s%s", step,
				       (double)duration_ms / 1000.0, verdict ? ", verdict " : "",
				       verdict ? verdict : "")
		       : adw_xasprintf("Step '%s' failed: %s", step,
				       error ? error : "unknown error");
		struct adw_event ev = {.category = ADW_CAT_ADW_STEP,
				       .type = "StepEnd",
				       .content = content,
				       .summary = summary,
				       .payload = payload};

		record(r, &ev);
		free(summary);
	}
	free(content);
	cJSON_Delete(payload);
	adw_updated(r, ok ? "step completed" : "step failed");
	return 0;
rollback:
	PQclear(PQexec(r->conn, "ROLLBACK"));
	return -1;
}

static int run_runtime(struct runner *r, const struct adw_step_ctx *ctx,
		       struct adw_step_result *res)
{
	if (strcmp(r->runtime, "dry-run") == 0)
		return adw_dryrun_run_step(ctx, res);
	return adw_claude_run_step(ctx, res);
}

/* Runs step i. Returns 0 when it succeeded, -1 when the ADW must fail (*why set). */
static int run_step(struct runner *r, int i, char **why)
{
	const char *step = r->wf.steps[i].name;
	char *artifact = artifact_path(r, step);
	char *tmpl = NULL, *rendered = NULL, *report = NULL;
	char session[37];
	struct adw_step_result res = {0};
	struct adw_err err = {0};
	long long t0 = now_ms();
	bool ok = false;
	char *error = NULL;
	int rc = -1;

	if (step_begin(r, i, step, artifact, &err) < 0) {
		*why = adw_xasprintf("cannot record the start of step '%s': %s", step, err.msg);
		goto out;
	}
	new_uuid(session);
	if (adw_prompt_load(r->cfg, step, &tmpl, &err) < 0) {
		error = adw_xstrdup(err.msg);
	} else {
		const struct adw_prompt_var vars[] = {
		    {"prompt", r->prompt},
		    {"adw_name", r->name},
		    {"adw_id", r->id},
		    {"working_dir", r->workdir},
		    {"step", step},
		    {"artifact_path", artifact},
		    {"plan_path", r->plan_path},
		    {"review_path", r->review_path},
		    {"workflow", r->wf.name},
		};

		if (adw_prompt_render(tmpl, vars, (int)(sizeof(vars) / sizeof(vars[0])), &rendered,
				      &err) < 0)
			error = adw_xasprintf("prompt template for '%s': %s", step, err.msg);
	}
	if (!error) {
		const char *params[4] = {r->agent_id, r->id, rendered, session};
		struct adw_step_ctx ctx = {
		    .cfg = r->cfg,
		    .adw_id = r->id,
		    .adw_name = r->name,
		    .step = step,
		    .prompt = rendered,
		    .user_prompt = r->prompt,
		    .working_dir = r->workdir,
		    .model = r->model,
		    .session_id = session,
		    .artifact = artifact,
		    .plan_path = r->plan_path,
		    .review_path = r->review_path,
		    .emit = emit_cb,
		    .emit_ud = r,
		    .idle = idle_cb,
		};

		if (adw_db_exec(
			r->conn,
			"INSERT INTO prompts (agent_id, adw_id, author, prompt_text, session_id) "
			"VALUES ($1, $2, 'adw_runner', $3, $4)",
			4, params, &err) < 0)
			adw_log_warn("adw=%s prompt not recorded: %s", r->id, err.msg);
		if (run_runtime(r, &ctx, &res) < 0 || !res.ok) {
			error = adw_xstrdup(res.error ? res.error : "the agent reported an error");
		} else if (artifact) {
			if (adw_report_read(artifact, REPORT_MAX, &report, &err) < 0) {
				error = adw_xasprintf(
				    "the %s step did not write its output file: %s", step, err.msg);
			} else if (strcmp(step, "review") == 0) {
				r->verdict = adw_report_verdict(report);
				if (r->verdict == ADW_VERDICT_NONE)
					error =
					    adw_xasprintf("review report '%s' has no "
							  "'VERDICT: PASS' or 'VERDICT: FAIL' line",
							  artifact);
			}
		}
	}
	ok = error == NULL;
	if (ok && strcmp(step, "plan") == 0) {
		free(r->plan_path);
		r->plan_path = adw_xstrdup(artifact);
	} else if (ok && strcmp(step, "review") == 0) {
		free(r->review_path);
		r->review_path = adw_xstrdup(artifact);
	}
	if (step_end(r, i, step, artifact, &res, ok, error, now_ms() - t0, &err) < 0) {
		*why = adw_xasprintf("cannot record the end of step '%s': %s", step, err.msg);
		goto out;
	}
	if (!ok) {
		char *title = title_case(step);

		*why = adw_xasprintf("%s step failed: %s", title, error);
		free(title);
		goto out;
	}
	rc = 0;
out:
	adw_step_result_release(&res);
	free(error);
	free(report);
	free(rendered);
	free(tmpl);
	free(artifact);
	return rc;
}

static int skip_step(struct runner *r, int i)
{
	char idx[16], done[16];
	const char *params[3] = {r->id, idx, done};
	struct adw_err err = {0};

	snprintf(idx, sizeof(idx), "%d", i);
	snprintf(done, sizeof(done), "%d", i + 1);
	if (adw_db_exec(
		r->conn,
		"UPDATE adw_steps SET status = 'skipped' WHERE adw_id = $1 AND position = $2::int",
		2, params, &err) < 0 ||
	    adw_db_exec(r->conn,
			"UPDATE ai_developer_workflows SET completed_steps = $2::int WHERE id = $1",
			2, (const char *[]){r->id, done}, &err) < 0)
		return -1;
	system_event(r, r->wf.steps[i].name, "SystemInfo", NULL,
		     "%s step skipped - review passed with no blockers", r->wf.steps[i].name);
	return 0;
}

/*
 * Ends the ADW: the status and its last events commit together, so whoever
 * sees the terminal status can already read every event.
 */
static void finish(struct runner *r, bool ok, const char *why, const char *failed_step)
{
	const char *params[4] = {r->id, ok ? "completed" : "failed", why, failed_step};
	struct adw_err err = {0};
	bool in_tx;

	flush(r);
	in_tx = adw_db_exec(r->conn, "BEGIN", 0, NULL, &err) == 0;
	if (adw_db_exec(r->conn,
			"UPDATE ai_developer_workflows SET status = $2, error_message = $3, "
			"error_step = $4, error_count = error_count + CASE WHEN $3::text IS NULL "
			"THEN 0 ELSE 1 END, completed_at = now(), duration_ms = "
			"(extract(epoch FROM now() - started_at) * 1000)::bigint WHERE id = $1",
			4, params, &err) < 0)
		adw_log_error("adw=%s final status not stored: %s", r->id, err.msg);
	if (ok)
		system_event(r, NULL, "SystemInfo", NULL, "Workflow completed: %s%s%s", r->name,
			     r->verdict != ADW_VERDICT_NONE ? ", review verdict " : "",
			     r->verdict != ADW_VERDICT_NONE ? adw_report_verdict_name(r->verdict)
							    : "");
	else
		system_event(r, NULL, "SystemError", NULL, "Workflow failed: %s", why);
	adw_updated(r, ok ? "status: completed" : "status: failed");
	flush(r);
	if (in_tx && adw_db_exec(r->conn, "COMMIT", 0, NULL, &err) < 0)
		adw_log_error("adw=%s final status not committed: %s", r->id, err.msg);
}

int adw_runner_run(const struct adw_config *cfg, const char *conninfo, const char *id)
{
	struct runner r = {.cfg = cfg};
	struct adw_err err = {0};
	char *why = NULL;
	int rc = ADW_RUNNER_USAGE;
	int i;

	adw_event_batch_init(&r.batch);
	r.id = adw_xstrdup(id);
	r.conn = adw_db_connect(conninfo, &err);
	if (!r.conn) {
		fprintf(stderr, "adw: %s\n", err.msg);
		goto out;
	}
	if (load(&r, &err) < 0) {
		if (err.code == ADW_ERR_CONFLICT) {
			adw_log_info("adw=%s: %s; nothing to do", id, err.msg);
			rc = ADW_RUNNER_COMPLETED;
			goto out;
		}
		fprintf(stderr, "adw: cannot run adw '%s': %s\n", id, err.msg);
		{
			bool changed;
			struct adw_err e2 = {0};

			if (adw_store_adw_fail(r.conn, id, err.msg, &changed, &e2) < 0)
				adw_log_error("adw=%s cannot mark failed: %s", id, e2.msg);
		}
		rc = ADW_RUNNER_FAILED;
		goto out;
	}
	adw_log_info("adw=%s running %s (%s, runtime %s) in %s", r.id, r.name, r.wf.name, r.runtime,
		     r.workdir);
	{
		cJSON *p = cJSON_CreateObject();

		cJSON_AddStringToObject(p, "prompt", r.prompt);
		cJSON_AddStringToObject(p, "working_dir", r.workdir);
		cJSON_AddStringToObject(p, "runtime", r.runtime);
		if (r.model)
			cJSON_AddStringToObject(p, "model", r.model);
		cJSON_AddNumberToObject(p, "total_steps", r.wf.nsteps);
		cJSON_AddNumberToObject(p, "pid", (double)getpid());
		if (strcmp(r.runtime, "dry-run") == 0)
			cJSON_AddBoolToObject(p, "dry_run", 1);
		system_event(&r, NULL, "SystemInfo", p, "Workflow started: %s (%s%s)", r.name,
			     r.wf.name,
			     strcmp(r.runtime, "dry-run") == 0 ? ", dry run: no model" : "");
	}
	adw_updated(&r, "status: in_progress");
	for (i = 0; i < r.wf.nsteps; i++) {
		if (r.wf.steps[i].only_on_fail && r.verdict != ADW_VERDICT_FAIL) {
			if (skip_step(&r, i) < 0) {
				why = adw_xstrdup("cannot record a skipped step");
				break;
			}
			continue;
		}
		if (run_step(&r, i, &why) < 0)
			break;
	}
	r.step = NULL;
	free(r.agent_id);
	r.agent_id = NULL;
	finish(&r, why == NULL, why, why && i < r.wf.nsteps ? r.wf.steps[i].name : NULL);
	if (r.lost_events)
		adw_log_error("adw=%s %d events could not be stored", r.id, r.lost_events);
	rc = why ? ADW_RUNNER_FAILED : ADW_RUNNER_COMPLETED;
	adw_log_info("adw=%s %s%s%s", r.id, why ? "failed: " : "completed", why ? why : "", "");
out:
	free(why);
	PQfinish(r.conn);
	if (r.conn)
		flush(&r);
	adw_event_batch_release(&r.batch);
	adw_workflow_release(&r.wf);
	free(r.plan_path);
	free(r.review_path);
	free(r.agent_id);
	free(r.id);
	free(r.name);
	free(r.prompt);
	free(r.workdir);
	free(r.runtime);
	free(r.model);
	free(r.workflow_type);
	return rc;
}
