/* SPDX-License-Identifier: MIT */
/* Runs the steps of one ADW and records everything in PostgreSQL. */
#include "adw_runner.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "adw_ask.h"
#include "adw_buf.h"
#include "adw_claude.h"
#include "adw_control.h"
#include "adw_db.h"
#include "adw_dryrun.h"
#include "adw_event.h"
#include "adw_git.h"
#include "adw_log.h"
#include "adw_prompt.h"
#include "adw_report.h"
#include "adw_runtime.h"
#include "adw_spill.h"
#include "adw_store.h"
#include "adw_thread.h"
#include "adw_workflow.h"

#define REPORT_MAX (8 * 1024 * 1024)

struct runner {
	const struct adw_config *cfg;
	PGconn *conn;
	char *id, *name, *prompt, *workdir, *runtime, *model, *workflow_type;
	char short_id[9];
	struct adw_workflow wf;
	bool *done;	/* per step: finished by an earlier run (completed or skipped) */
	bool recovered; /* this run follows one that was lost (metadata.recovering) */
	int timeout_s, step_timeout_s;	 /* limits of the run and of a step; 0 = none */
	double max_cost_usd;		 /* USD budget; 0 = none */
	bool budget_waived;		 /* a person chose to go on past the budget */
	double cost_before_step;	 /* USD the ADW had spent when the step began */
	char *budget_why;		 /* the step was stopped at the budget: why (owned) */
	long long deadline_ms;		 /* monotonic end of this run; 0 = none */
	int owned_backend;		 /* the backend holding the ADW's lock (own()) */
	long long last_reset_ms;	 /* monotonic ms of the last reconnect attempt */
	long long db_down_since;	 /* monotonic ms since the database is away; 0 = up */
	struct adw_spill spill;		 /* events an outage could not keep in memory */
	char *repo, *worktree, *branch;	 /* the ADW's git worktree, when its dir is a repository */
	char *base_commit, *head_before; /* where its branch started; HEAD before the step */
	bool run_timed_out;		 /* the step's time was cut to the run's deadline */
	char *plan_path, *review_path;
	enum adw_verdict verdict;
	const char *step;	      /* the running step, for events */
	char *agent_id;		      /* the running step's agent */
	int lost_events;	      /* events that could not be stored */
	struct adw_event_batch batch; /* events not yet written */

	/* Steering (adw_control.h): what people asked and the runner has not done yet. */
	struct adw_control ctl;
	bool ctl_open;		 /* LISTENing on the ADW's control channel */
	long long last_fetch_ms; /* monotonic ms of the last forced fetch */
	long long pause_id;	 /* a pause waiting for a checkpoint (0 = none) */
	char *pause_reason;
	bool paused;	     /* in pause_wait() */
	long long resume_id; /* a resume that arrived while paused */
	long long cancel_id; /* a cancel or redirect to carry out (0 = none) */
	bool cancel;	     /* the ADW must end cancelled */
	char *cancel_reason, *cancel_by;
	bool answered;	       /* an answer message arrived */
	long long *answer_ids; /* answer messages to mark processed */
	int nanswers;
	struct adw_instruction *instr; /* acknowledged instructions not yet delivered */
	int ninstr;
	long long *delivered; /* delivered instructions waiting for their turn */
	int ndelivered;
	char **files; /* files the step's agent wrote (for its comment) */
	int nfiles;
	int ask_fd; /* the ask bridge's listening socket, -1 = none */
	char *ask_socket;
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

/*
 * While the database is away the buffered events stay in memory up to
 * cfg->event_buffer_bytes; beyond that each batch goes to this run's spill
 * file (adw_spill.h), written back in order (before newer events) once the
 * database answers again. Nothing is dropped unless the file cannot be
 * written (then it is counted and logged).
 */
#define DB_RETRIES 5 /* a change of state cut by a lost connection is done again this often */

static void spill(struct runner *r)
{
	struct adw_err err = {0};

	if (r->batch.n == 0)
		return;
	if (adw_spill_append(&r->spill, r->cfg->home, r->id, &r->batch, &err) < 0) {
		r->lost_events += r->batch.n;
		adw_log_error("adw=%s %d events lost: %s", r->id, r->batch.n, err.msg);
	}
	adw_event_batch_release(&r->batch);
	adw_event_batch_init(&r->batch);
}

/*
 * Writes back what an outage sent to the spill file, all of it in one
 * transaction; 0 when nothing is left there, -1 when the database refused.
 */
static int unspill(struct runner *r)
{
	struct adw_err err = {0};
	int n = 0;

	if (adw_spill_replay(&r->spill, r->conn, &n, &err) < 0)
		return -1;
	if (n)
		adw_log_info("adw=%s %d spilled events written back", r->id, n);
	return 0;
}

/* Writes the buffered events in one statement; keeps or spills them while the database is away. */
static void flush(struct runner *r)
{
	struct adw_err err = {0};
	long long now;

	if (r->batch.n == 0 && !r->spill.events)
		return;
	/* Inside a transaction the events go with its COMMIT (tx_commit()). */
	if (r->conn && PQtransactionStatus(r->conn) != PQTRANS_IDLE &&
	    PQtransactionStatus(r->conn) != PQTRANS_UNKNOWN)
		return;
	now = now_ms();
	if (PQstatus(r->conn) != CONNECTION_OK) {
		/* Try the database again at most once a second. */
		if (now - r->last_reset_ms < 1000 || adw_db_check(r->conn, &err) < 0) {
			if (now - r->last_reset_ms >= 1000)
				r->last_reset_ms = now;
			if (r->batch.bytes >= (size_t)r->cfg->event_buffer_bytes)
				spill(r);
			return;
		}
	}
	if ((r->spill.events && unspill(r) < 0) ||
	    (r->batch.n && adw_event_batch_flush(r->conn, &r->batch, NULL, &err) < 0)) {
		adw_log_error("adw=%s %d events not stored yet: %s", r->id, r->batch.n,
			      err.msg[0] ? err.msg : "database unavailable");
		if (adw_db_check(r->conn, &err) < 0 || (r->spill.events && unspill(r) < 0) ||
		    (r->batch.n && adw_event_batch_flush(r->conn, &r->batch, NULL, &err) < 0)) {
			r->last_reset_ms = now;
			if (r->batch.bytes >= (size_t)r->cfg->event_buffer_bytes)
				spill(r);
		}
	}
}

/*
 * Commits the open transaction with every buffered event in it (one keyed
 * batch): a change of state and the events that report it are stored
 * together or not at all, so a kill -9 right after a COMMIT loses no event.
 * On failure rolls back and drops the events buffered since `since` (the
 * batch's n at BEGIN): they reported a change that did not happen, and a
 * retry records them again under the same key.
 */
static int tx_commit(struct runner *r, int since, struct adw_err *err)
{
	if (adw_event_batch_write(r->conn, &r->batch, NULL, err) == 0 &&
	    adw_db_exec(r->conn, "COMMIT", 0, NULL, err) == 0) {
		adw_event_batch_clear(&r->batch);
		return 0;
	}
	PQclear(PQexec(r->conn, "ROLLBACK"));
	adw_event_batch_truncate(&r->batch, since);
	return -1;
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

static void steer_take(struct runner *r, bool force);
static int own(struct runner *r, struct adw_err *err);
static int control_fd_cb(void *ud);

/* Before a runtime blocks: write what is buffered, read what people sent. */
static void idle_cb(void *ud)
{
	flush(ud);
	steer_take(ud, false);
}

static void watch(struct runner *r, const struct adw_event *ev);

static int emit_cb(void *ud, struct adw_event *ev)
{
	int rc = record(ud, ev);

	watch(ud, ev);
	return rc;
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

#define STEER_BACKSTOP_MS 5000 /* fetch control messages at least this often, notified or not */
#define FILES_KEPT 50	       /* files named in a step's comment, at most */

/* A short comment of the runner's own in the ADW's thread. */
static void note(struct runner *r, const char *fmt, ...) ADW_PRINTF(2, 3);

static void note(struct runner *r, const char *fmt, ...)
{
	struct adw_err err = {0};
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return;
	flush(r);
	if (adw_thread_note(r->conn, r->id, "system", r->step, msg, NULL, &err) < 0)
		adw_log_warn("adw=%s thread comment not stored: %s", r->id, err.msg);
	free(msg);
}

/* Sets a control message's action_status (processed or ignored). */
static void mark(struct runner *r, long long id, const char *status, const char *reason)
{
	struct adw_err err = {0};

	if (id <= 0 || !r->ctl_open)
		return;
	flush(r);
	if (adw_control_mark(&r->ctl, id, status, reason, &err) < 0)
		adw_log_warn("adw=%s message %lld not marked %s: %s", r->id, id, status, err.msg);
}

/* metadata[key] as a new string, or NULL. */
static char *meta_str(const char *metadata, const char *key)
{
	cJSON *m = metadata ? cJSON_Parse(metadata) : NULL;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, key);
	char *s = cJSON_IsString(v) ? adw_xstrdup(v->valuestring) : NULL;

	cJSON_Delete(m);
	return s;
}

static void take_cancel(struct runner *r, struct adw_control_msg *m)
{
	char *source = meta_str(m->metadata, "source");
	char *to =
	    strcmp(m->action, "redirect") == 0 ? meta_str(m->metadata, "redirected_to") : NULL;

	r->cancel = true;
	r->cancel_id = m->id;
	r->cancel_by = adw_xasprintf("user via %s", source ? source : "api");
	if (to) {
		struct adw_err err = {0};
		const char *params[1] = {to};
		char *name = NULL;

		if (adw_db_query_text(r->conn, NULL,
				      "SELECT adw_name FROM ai_developer_workflows WHERE id = $1",
				      1, params, &name, &err) < 0)
			name = adw_xstrdup(to);
		r->cancel_reason = adw_xasprintf("redirected to %s", name);
		free(name);
	} else {
		r->cancel_reason =
		    adw_xstrdup(m->content && *m->content ? m->content : "Cancel requested");
	}
	free(source);
	free(to);
}

/* What one person's message means for the run (the state machine of issue 4). */
static void steer_apply(struct runner *r, struct adw_control_msg *m)
{
	const char *a = m->action;

	if (r->cancel && strcmp(a, "answer") != 0) {
		mark(r, m->id, "ignored",
		     !strcmp(a, "cancel") || !strcmp(a, "redirect") ? "already cancelled"
								    : "the adw is being cancelled");
	} else if (!strcmp(a, "instruction")) {
		r->instr = adw_xrealloc(r->instr, (size_t)(r->ninstr + 1) * sizeof(*r->instr));
		r->instr[r->ninstr].id = m->id;
		r->instr[r->ninstr++].text = m->content;
		m->content = NULL;
	} else if (!strcmp(a, "pause")) {
		if (r->paused || r->pause_id) {
			mark(r, m->id, "ignored", "already paused");
		} else {
			r->pause_id = m->id;
			free(r->pause_reason);
			r->pause_reason = m->content;
			m->content = NULL;
		}
	} else if (!strcmp(a, "resume")) {
		if (r->paused && !r->resume_id) {
			r->resume_id = m->id;
		} else if (r->pause_id) {
			mark(r, r->pause_id, "ignored", "resumed before the pause took effect");
			r->pause_id = 0;
			mark(r, m->id, "processed", "the pause was withdrawn");
		} else {
			mark(r, m->id, "ignored", "not paused");
		}
	} else if (!strcmp(a, "cancel") || !strcmp(a, "redirect")) {
		take_cancel(r, m);
	} else if (!strcmp(a, "answer")) {
		r->answered = true;
		r->answer_ids =
		    adw_xrealloc(r->answer_ids, (size_t)(r->nanswers + 1) * sizeof(*r->answer_ids));
		r->answer_ids[r->nanswers++] = m->id;
	} else {
		mark(r, m->id, "ignored", "nothing to do for this kind of message");
	}
	adw_control_msg_release(m);
}

/*
 * Acknowledges and applies what people sent: at once when notified, and
 * at least every STEER_BACKSTOP_MS (or now, when force) in case a
 * notification was lost with a connection.
 */
static void steer_take(struct runner *r, bool force)
{
	struct adw_control_msg m;
	struct adw_err err = {0};
	long long now = now_ms();

	if (!r->ctl_open)
		return;
	if (PQstatus(r->conn) != CONNECTION_OK) {
		/* The database is away: try again at most once a second. */
		if (now - r->last_reset_ms < 1000)
			return;
		r->last_reset_ms = now;
		if (adw_db_check(r->conn, &err) < 0)
			return;
	}
	if (PQstatus(r->conn) == CONNECTION_OK && PQbackendPID(r->conn) != r->owned_backend) {
		/* A reconnect dropped the lock: take it again, or another run has the ADW. */
		if (own(r, &err) < 0 && err.code == ADW_ERR_CONFLICT) {
			adw_log_error(
			    "adw=%s another adw-run took this ADW over while the database "
			    "was away; stopping",
			    r->id);
			exit(ADW_RUNNER_SUPERSEDED);
		}
	}
	if (now - r->last_fetch_ms >= STEER_BACKSTOP_MS)
		force = true;
	if (force)
		r->last_fetch_ms = now;
	for (;;) {
		int n = adw_control_poll(&r->ctl, force, &err);

		if (n < 0) {
			adw_log_warn("adw=%s control messages not read: %s", r->id, err.msg);
			/* A reset connection LISTENs again at the next poll. */
			if (adw_db_check(r->conn, &err) < 0)
				adw_log_warn("adw=%s database still unavailable: %s", r->id,
					     err.msg);
			break;
		}
		force = false;
		while (adw_control_next(&r->ctl, &m) == 0)
			steer_apply(r, &m);
		if (n == 0 && !r->ctl.woken)
			break;
	}
}

/* Waits up to ms for the control channel (or returns at once without one). */
static void steer_wait(struct runner *r, long long ms)
{
	struct pollfd p = {.fd = -1, .events = POLLIN};

	flush(r);
	steer_take(r, false);
	if (r->cancel || r->resume_id || r->answered)
		return;
	if (ms > ADW_STEP_TICK_MS)
		ms = ADW_STEP_TICK_MS;
	p.fd = control_fd_cb(r);
	if (poll(&p, 1, (int)(ms > 0 ? ms : 0)) < 0 && errno != EINTR)
		adw_log_warn("adw=%s poll: %s", r->id, strerror(errno));
	steer_take(r, false);
}

/* Sets the status of the running ADW (paused, awaiting_input, in_progress) and its agent. */
static void status_set(struct runner *r, const char *status, const char *reason)
{
	struct adw_err err = {0};
	const char *params[3] = {r->id, status, reason};

	flush(r);
	if (adw_db_exec(r->conn,
			"UPDATE ai_developer_workflows SET status = $2::text, "
			"paused_at = CASE WHEN $2::text = 'paused' THEN now() END, "
			"pause_reason = CASE WHEN $2::text = 'paused' THEN $3::text END "
			"WHERE id = $1 AND status NOT IN ('completed', 'failed', 'cancelled')",
			3, params, &err) < 0)
		adw_log_error("adw=%s status %s not stored: %s", r->id, status, err.msg);
	if (r->agent_id) {
		const char *p2[2] = {r->agent_id,
				     strcmp(status, "in_progress") ? "waiting" : "executing"};

		if (adw_db_exec(r->conn, "UPDATE agents SET status = $2 WHERE id = $1", 2, p2,
				&err) < 0)
			adw_log_warn("adw=%s agent status not stored: %s", r->id, err.msg);
		else
			agent_event(r, "AgentUpdated", p2[1]);
	}
}

/*
 * A checkpoint's pause: the ADW is paused until a resume (RUN) or a
 * cancel, or until cfg->pause_timeout_s passes (CANCEL, with that reason).
 */
static enum adw_step_order pause_wait(struct runner *r)
{
	long long deadline = now_ms() + r->cfg->pause_timeout_s * 1000LL;
	const char *reason =
	    r->pause_reason && *r->pause_reason ? r->pause_reason : "no reason given";

	status_set(r, "paused", reason);
	mark(r, r->pause_id, "processed", NULL);
	r->pause_id = 0;
	r->paused = true;
	system_event(r, r->step, "SystemInfo", NULL, "Paused: %s", reason);
	adw_updated(r, "status: paused");
	if (r->step)
		note(r, "Paused during the %s step (the agent's session is kept): %s", r->step,
		     reason);
	else
		note(r, "Paused before the next step: %s", reason);
	while (!r->cancel && !r->resume_id) {
		long long left = deadline - now_ms();

		if (left <= 0) {
			r->cancel = true;
			r->cancel_reason = adw_xasprintf(
			    "paused for more than %d s without a resume", r->cfg->pause_timeout_s);
			r->cancel_by = adw_xstrdup("adw-run (pause timeout)");
			break;
		}
		steer_wait(r, left);
	}
	r->paused = false;
	if (r->cancel)
		return ADW_STEP_CANCEL;
	mark(r, r->resume_id, "processed", NULL);
	r->resume_id = 0;
	status_set(r, "in_progress", NULL);
	system_event(r, r->step, "SystemInfo", NULL, "Resumed");
	adw_updated(r, "status: in_progress");
	note(r, "Resumed%s%s", r->step ? " the " : "", r->step ? r->step : "");
	return ADW_STEP_RUN;
}

/* The control channel's socket now; -1 while the connection is down. */
static int control_fd_cb(void *ud)
{
	struct runner *r = ud;

	return r->ctl_open && PQstatus(r->conn) == CONNECTION_OK ? adw_control_fd(&r->ctl) : -1;
}

static enum adw_step_order control_cb(void *ud)
{
	struct runner *r = ud;

	steer_take(r, false);
	return r->cancel ? ADW_STEP_CANCEL : r->pause_id ? ADW_STEP_PAUSE : ADW_STEP_RUN;
}

static int next_instruction_cb(void *ud, struct adw_instruction *in)
{
	struct runner *r = ud;

	if (r->ninstr == 0)
		return -1;
	*in = r->instr[0];
	memmove(r->instr, r->instr + 1, (size_t)(r->ninstr - 1) * sizeof(*r->instr));
	r->ninstr--;
	return 0;
}

static void delivered_cb(void *ud, long long id)
{
	struct runner *r = ud;
	cJSON *p = cJSON_CreateObject();

	r->delivered =
	    adw_xrealloc(r->delivered, (size_t)(r->ndelivered + 1) * sizeof(*r->delivered));
	r->delivered[r->ndelivered++] = id;
	cJSON_AddNumberToObject(p, "message_id", (double)id);
	system_event(r, r->step, "SystemInfo", p, "Instruction %lld delivered to the agent", id);
}

static void turn_started_cb(void *ud)
{
	struct runner *r = ud;

	if (r->ndelivered == 0)
		return;
	mark(r, r->delivered[0], "processed", NULL);
	memmove(r->delivered, r->delivered + 1,
		(size_t)(r->ndelivered - 1) * sizeof(*r->delivered));
	r->ndelivered--;
}

static enum adw_step_order pause_cb(void *ud)
{
	return pause_wait(ud);
}

/* Marks the answer messages that arrived as processed. */
static void answers_done(struct runner *r)
{
	for (int i = 0; i < r->nanswers; i++)
		mark(r, r->answer_ids[i], "processed", NULL);
	r->nanswers = 0;
	r->answered = false;
}

/* Stores a question (with its thread message) and sets the ADW awaiting_input. */
static char *question_open(struct runner *r, const struct adw_question_req *q, struct adw_err *err)
{
	cJSON *opts = cJSON_CreateArray(), *meta = cJSON_CreateObject();
	char *opts_s, *meta_s, *qid = NULL, secs[16];
	bool in_tx = false;
	int since = 0;

	for (int i = 0; i < q->noptions; i++)
		cJSON_AddItemToArray(opts, cJSON_CreateString(q->options[i]));
	cJSON_AddItemToObject(meta, "options", cJSON_Duplicate(opts, 1));
	if (q->context)
		cJSON_AddStringToObject(meta, "context", q->context);
	opts_s = cJSON_PrintUnformatted(opts);
	meta_s = cJSON_PrintUnformatted(meta);
	snprintf(secs, sizeof(secs), "%d", r->cfg->question_timeout_s);
	flush(r);
	if (adw_db_exec(r->conn, "BEGIN", 0, NULL, err) < 0)
		goto out;
	in_tx = true;
	since = r->batch.n;
	/*
	 * The ADW row first, then the inserts whose triggers take the events
	 * lock: the order every writer keeps (adw_thread.c), so none deadlocks.
	 */
	status_set(r, "awaiting_input", NULL);
	{
		const char *params[8] = {r->id,	 r->agent_id, r->step,		 q->question,
					 opts_s, q->context,  q->default_answer, secs};

		if (adw_db_query_text(
			r->conn, NULL,
			"INSERT INTO adw_questions (adw_id, agent_id, step, question, "
			"options, context, default_answer, timeout_at) VALUES ($1, $2, "
			"$3, $4, $5::jsonb, $6, $7, now() + make_interval(secs => "
			"$8::int)) RETURNING id",
			8, params, &qid, err) < 0)
			goto out;
	}
	{
		const char *params[5] = {r->id, q->question, meta_s, r->step, qid};

		if (adw_db_exec(r->conn,
				"INSERT INTO adw_messages (adw_id, sender, action_type, "
				"action_status, content, metadata, step, question_id, "
				"acknowledged_at, processed_at) VALUES ($1, 'agent', 'question', "
				"'processed', $2, $3::jsonb, $4, $5, now(), now())",
				5, params, err) < 0)
			goto out;
	}
	adw_updated(r, "status: awaiting_input");
	in_tx = false;
	if (tx_commit(r, since, err) < 0) {
		free(qid);
		qid = NULL;
	}
out:
	if (in_tx) {
		PQclear(PQexec(r->conn, "ROLLBACK"));
		adw_event_batch_truncate(&r->batch, since);
		free(qid);
		qid = NULL;
	}
	cJSON_Delete(opts);
	cJSON_Delete(meta);
	free(opts_s);
	free(meta_s);
	return qid;
}

/*
 * Settles question qid if it can be: 1 answered (*answer set), 0 still
 * pending, -1 closed otherwise (*why set). On timeout, takes the default or
 * cancels the ADW.
 */
static int question_check(struct runner *r, const char *qid, bool timed_out, char **answer,
			  char **why)
{
	const char *params[1] = {qid};
	struct adw_err err = {0};
	PGresult *res;
	int rc = 0;

	flush(r);
	res = timed_out ? adw_db_query(r->conn,
				       "UPDATE adw_questions SET status = CASE WHEN default_answer "
				       "IS NULL THEN 'timed_out' ELSE 'answered' END, answer = "
				       "default_answer, answered_by = CASE WHEN default_answer IS "
				       "NOT NULL THEN 'default (no answer in time)' END, "
				       "answered_at = now() WHERE id = $1 AND status = 'pending' "
				       "RETURNING status, answer",
				       1, params, &err)
			: NULL;
	if (!res || PQntuples(res) == 0) {
		PQclear(res);
		res =
		    adw_db_query(r->conn, "SELECT status, answer FROM adw_questions WHERE id = $1",
				 1, params, &err);
	}
	if (!res || PQntuples(res) != 1) {
		PQclear(res);
		return 0; /* the database is away: ask again later */
	}
	if (!strcmp(PQgetvalue(res, 0, 0), "answered")) {
		*answer = adw_db_strdup(res, 0, 1);
		rc = 1;
	} else if (!strcmp(PQgetvalue(res, 0, 0), "timed_out")) {
		r->cancel = true;
		r->cancel_reason = adw_xasprintf("the question was not answered within %d s",
						 r->cfg->question_timeout_s);
		r->cancel_by = adw_xstrdup("adw-run (question timeout)");
		*why = adw_xstrdup(r->cancel_reason);
		rc = -1;
	} else if (strcmp(PQgetvalue(res, 0, 0), "pending") != 0) {
		*why = adw_xasprintf("the question was %s", PQgetvalue(res, 0, 0));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* ctx->ask: a decision question for a person; blocks until it is settled. */
static int ask_cb(void *ud, const struct adw_question_req *q, char **answer, char **why)
{
	struct runner *r = ud;
	struct adw_err err = {0};
	long long deadline = now_ms() + r->cfg->question_timeout_s * 1000LL;
	long long checked = now_ms();
	char *qid;
	int rc = 0;

	*answer = *why = NULL;
	if (r->cancel) {
		*why = adw_xstrdup("the adw is being cancelled");
		return -1;
	}
	qid = question_open(r, q, &err);
	if (!qid) {
		*why = adw_xasprintf("the question could not be stored: %s", err.msg);
		return -1;
	}
	adw_log_info("adw=%s step %s asks (question %s): %s", r->id, r->step ? r->step : "-", qid,
		     q->question);
	while (rc == 0) {
		long long now = now_ms();

		if (r->cancel) {
			const char *params[1] = {qid};

			if (adw_db_exec(
				r->conn,
				"UPDATE adw_questions SET status = 'cancelled', answered_at "
				"= now() WHERE id = $1 AND status = 'pending'",
				1, params, &err) < 0)
				adw_log_warn("adw=%s question not closed: %s", r->id, err.msg);
			*why = adw_xstrdup("the adw was cancelled while waiting for an answer");
			rc = -1;
		} else if (r->answered || now >= deadline || now - checked >= STEER_BACKSTOP_MS) {
			checked = now;
			r->answered = false;
			rc = question_check(r, qid, now >= deadline, answer, why);
		}
		if (rc == 0)
			steer_wait(r, deadline - now);
	}
	answers_done(r);
	if (rc > 0) {
		if (!r->cancel)
			status_set(r, "in_progress", NULL);
		adw_updated(r, "status: in_progress");
		note(r, "Answer received; the %s step continues", r->step ? r->step : "");
	}
	free(qid);
	return rc > 0 ? 0 : -1;
}

/* Watches the step's events for the thread: files written, builds and tests run. */
static void watch(struct runner *r, const struct adw_event *ev)
{
	static const char *const checks[] = {
	    "make",	"ninja", "meson test",	"npm test", "npm run", "pytest", "cargo", "go test",
	    "go build", "ctest", "node --test", "yarn",	    "pnpm",    "gradle", "mvn",	  "tox"};
	const cJSON *name, *input, *path, *cmd;

	if (!ev->payload || strcmp(ev->type, "PostToolUse") != 0)
		return;
	name = cJSON_GetObjectItemCaseSensitive(ev->payload, "tool_name");
	input = cJSON_GetObjectItemCaseSensitive(ev->payload, "tool_input");
	if (!cJSON_IsString(name) || !cJSON_IsObject(input))
		return;
	path = cJSON_GetObjectItemCaseSensitive(input, "file_path");
	cmd = cJSON_GetObjectItemCaseSensitive(input, "command");
	if ((!strcmp(name->valuestring, "Write") || !strcmp(name->valuestring, "Edit")) &&
	    cJSON_IsString(path) && r->nfiles < FILES_KEPT) {
		for (int i = 0; i < r->nfiles; i++) {
			if (!strcmp(r->files[i], path->valuestring))
				return;
		}
		r->files = adw_xrealloc(r->files, (size_t)(r->nfiles + 1) * sizeof(*r->files));
		r->files[r->nfiles++] = adw_xstrdup(path->valuestring);
	} else if (!strcmp(name->valuestring, "Bash") && cJSON_IsString(cmd)) {
		bool failed =
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ev->payload, "is_error"));

		for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
			if (strstr(cmd->valuestring, checks[i])) {
				char *c = adw_event_clip(cmd->valuestring, 120, 1);

				note(r, "Ran `%s`: %s", c, failed ? "failed" : "succeeded");
				free(c);
				return;
			}
		}
	}
}

/* "a, b and 3 more" of the files written in the step, relative to the working dir. */
static char *files_line(struct runner *r)
{
	struct adw_buf b;
	size_t wl = strlen(r->workdir);

	adw_buf_init(&b, 0);
	for (int i = 0; i < r->nfiles && i < 5; i++) {
		const char *f = r->files[i];

		if (!strncmp(f, r->workdir, wl) && f[wl] == '/')
			f += wl + 1;
		if (adw_buf_addf(&b, "%s%s", i ? ", " : "", f) < 0)
			break;
	}
	if (r->nfiles > 5 && adw_buf_addf(&b, " and %d more", r->nfiles - 5) < 0)
		adw_log_warn("adw=%s out of memory", r->id);
	for (int i = 0; i < r->nfiles; i++)
		free(r->files[i]);
	r->nfiles = 0;
	return adw_buf_detach(&b);
}

/*
 * What earlier runs of this ADW finished (a retry, or a run taken over
 * after its process was lost): finished steps are not run again, and
 * their plan, review and verdict carry over to the steps after them.
 */
static int load_progress(struct runner *r, struct adw_err *err)
{
	const char *params[1] = {r->id};
	PGresult *res =
	    adw_db_query(r->conn,
			 "UPDATE ai_developer_workflows a SET metadata = a.metadata - "
			 "'recovering' FROM (SELECT id, metadata ? 'recovering' AS was FROM "
			 "ai_developer_workflows WHERE id = $1) o WHERE a.id = o.id "
			 "RETURNING o.was",
			 1, params, err);

	if (!res)
		return -1;
	/* Set by adw_store_adw_recover, taken by the first run after it. */
	r->recovered = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	res = adw_db_query(r->conn,
			   "SELECT position, name, status, artifact, verdict FROM adw_steps "
			   "WHERE adw_id = $1 ORDER BY position",
			   1, params, err);
	if (!res)
		return -1;
	r->done = adw_xcalloc((size_t)(r->wf.nsteps > 0 ? r->wf.nsteps : 1), sizeof(*r->done));
	for (int i = 0; i < PQntuples(res); i++) {
		int pos = (int)strtol(PQgetvalue(res, i, 0), NULL, 10);
		const char *name = PQgetvalue(res, i, 1), *status = PQgetvalue(res, i, 2);
		bool completed = !strcmp(status, "completed");

		if (pos < 0 || pos >= r->wf.nsteps || strcmp(name, r->wf.steps[pos].name) != 0)
			continue; /* the definition changed since: run it as it is now */
		r->done[pos] = completed || !strcmp(status, "skipped");
		if (completed && !PQgetisnull(res, i, 3) && !strcmp(name, "plan")) {
			free(r->plan_path);
			r->plan_path = adw_db_strdup(res, i, 3);
		} else if (completed && !PQgetisnull(res, i, 3) && !strcmp(name, "review")) {
			free(r->review_path);
			r->review_path = adw_db_strdup(res, i, 3);
			r->verdict = !strcmp(PQgetvalue(res, i, 4), "PASS")   ? ADW_VERDICT_PASS
				     : !strcmp(PQgetvalue(res, i, 4), "FAIL") ? ADW_VERDICT_FAIL
									      : ADW_VERDICT_NONE;
		}
	}
	PQclear(res);
	return 0;
}

/*
 * Holds the ADW's advisory lock on this connection for as long as the run
 * lasts (migration 008): it vanishes with this process or, through the
 * server's TCP keepalives set here, with its machine; a supervisor finding
 * a running ADW with no lock holder and no heartbeat resumes it. CONFLICT
 * when another adw-run holds it.
 */
static int own(struct runner *r, struct adw_err *err)
{
	const char *params[1] = {r->id};
	char *got = NULL;
	int rc;

	if (adw_db_exec(r->conn,
			"SELECT set_config('tcp_keepalives_idle', '5', false), "
			"set_config('tcp_keepalives_interval', '2', false), "
			"set_config('tcp_keepalives_count', '2', false)",
			0, NULL, err) < 0 ||
	    adw_db_query_text(r->conn, NULL, "SELECT pg_try_advisory_lock(adw_lock_key($1))::text",
			      1, params, &got, err) < 0)
		return -1;
	rc = strcmp(got, "true") == 0
		 ? 0
		 : adw_err_set(err, ADW_ERR_CONFLICT, "adw '%s' is run by another adw-run", r->id);
	free(got);
	r->owned_backend = PQbackendPID(r->conn);
	return rc;
}

static int load(struct runner *r, struct adw_err *err)
{
	char pid[16], host[256] = "localhost";
	const char *params[3] = {r->id, pid, host};
	PGresult *res;

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "localhost");
	if (own(r, err) < 0)
		return -1;
	/* Take the ADW over: pending (foreground run) or claimed by a supervisor. */
	res =
	    adw_db_query(r->conn,
			 "UPDATE ai_developer_workflows SET status = 'in_progress', "
			 "worker_pid = $2::int, worker_host = COALESCE(worker_host, $3), "
			 "started_at = COALESCE(started_at, now()) "
			 "WHERE id = $1 AND status IN ('pending', 'in_progress') "
			 "RETURNING adw_name, prompt, working_dir, runtime, model, workflow_type, "
			 "timeout_s, step_timeout_s, max_cost_usd",
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
	r->timeout_s = PQgetisnull(res, 0, 6) ? 0 : (int)strtol(PQgetvalue(res, 0, 6), NULL, 10);
	r->step_timeout_s =
	    PQgetisnull(res, 0, 7) ? 0 : (int)strtol(PQgetvalue(res, 0, 7), NULL, 10);
	r->max_cost_usd = PQgetisnull(res, 0, 8) ? 0 : strtod(PQgetvalue(res, 0, 8), NULL);
	if (r->timeout_s)
		r->deadline_ms = now_ms() + r->timeout_s * 1000LL;
	PQclear(res);
	memcpy(r->short_id, r->id, 8);
	r->short_id[8] = '\0';
	if (adw_workflow_load(r->cfg, r->workflow_type, &r->wf, err) < 0)
		return -1;
	return load_progress(r, err);
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

/*
 * Before a change of state: waits for the database with backoff (100 ms
 * doubling to 2 s), holding the agent's events in memory or the spill
 * file meanwhile; takes the ADW's lock again on a new connection. After
 * ADW_DB_OUTAGE_S it gives up: everything is spilled, the log says so, and
 * adw-run exits ADW_RUNNER_DB_LOST for its supervisor to fail the ADW.
 */
static void db_wait(struct runner *r)
{
	struct adw_err err = {0};
	long long start = now_ms(), delay = 100;

	for (;;) {
		PGresult *res = PQstatus(r->conn) == CONNECTION_OK
				    ? adw_db_query(r->conn, "SELECT 1", 0, NULL, &err)
				    : NULL;

		PQclear(res);
		if (res || adw_db_check(r->conn, &err) == 0)
			break;
		if (!r->db_down_since) {
			r->db_down_since = start;
			adw_log_warn("adw=%s the database is unavailable: waiting up to %d s",
				     r->id, r->cfg->db_outage_s);
		}
		if (now_ms() - r->db_down_since >= r->cfg->db_outage_s * 1000LL) {
			spill(r);
			adw_log_error(
			    "adw=%s the database was unavailable for %d s (ADW_DB_OUTAGE_S): "
			    "giving up; %d events kept in %s, %d lost",
			    r->id, r->cfg->db_outage_s, r->spill.events,
			    r->spill.path ? r->spill.path : "(none)", r->lost_events);
			exit(ADW_RUNNER_DB_LOST);
		}
		if (r->batch.bytes >= (size_t)r->cfg->event_buffer_bytes)
			spill(r);
		usleep((useconds_t)delay * 1000);
		delay = delay * 2 > 2000 ? 2000 : delay * 2;
	}
	if (r->db_down_since) {
		adw_log_info("adw=%s the database is back after %.1f s", r->id,
			     (double)(now_ms() - r->db_down_since) / 1000.0);
		r->db_down_since = 0;
	}
	if (PQbackendPID(r->conn) != r->owned_backend && own(r, &err) < 0 &&
	    err.code == ADW_ERR_CONFLICT) {
		adw_log_error("adw=%s another adw-run took this ADW over while the database was "
			      "away; stopping",
			      r->id);
		exit(ADW_RUNNER_SUPERSEDED);
	}
	flush(r);
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
	int rc = -1, since = 0;

	snprintf(idx, sizeof(idx), "%d", index);
	db_wait(r);
	if (adw_db_exec(r->conn, "BEGIN", 0, NULL, err) < 0)
		goto out;
	since = r->batch.n;
	/* The ADW row first, as every writer does (no deadlock with a recovery or an action). */
	if (adw_db_exec(r->conn,
			"SELECT 1 FROM ai_developer_workflows WHERE id = $1 FOR NO KEY UPDATE", 1,
			(const char *[]){r->id}, err) < 0)
		goto rollback;
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
	if (tx_commit(r, since, err) == 0)
		rc = 0;
	goto out;
rollback:
	PQclear(PQexec(r->conn, "ROLLBACK"));
	adw_event_batch_truncate(&r->batch, since);
out:
	free(agent_name);
	return rc;
}

/* Records the end of a step: agent, step row, ADW totals, StepEnd. */
static int step_end(struct runner *r, int index, const char *step, const char *artifact,
		    const struct adw_step_result *res, bool ok, const char *error,
		    long long duration_ms, struct adw_err *err)
{
	const char *outcome = ok ? "completed" : r->cancel ? "cancelled" : "failed";
	char dur[32], in[32], out_t[32], cost[64], idx[16], done[16];
	const char *verdict =
	    strcmp(step, "review") == 0 ? adw_report_verdict_name(r->verdict) : NULL;
	const char *params[12];
	cJSON *payload;
	char *content;
	PGresult *res_agent;
	bool ended;
	int since;

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
	db_wait(r);
	if (adw_db_exec(r->conn, "BEGIN", 0, NULL, err) < 0)
		return -1;
	since = r->batch.n;
	/* The ADW row first, as every writer does (no deadlock with a recovery or an action). */
	if (adw_db_exec(r->conn,
			"SELECT 1 FROM ai_developer_workflows WHERE id = $1 FOR NO KEY UPDATE", 1,
			(const char *[]){r->id}, err) < 0)
		goto rollback;
	res_agent = adw_db_query(
	    r->conn,
	    "UPDATE agents SET status = $3, session_id = $4, input_tokens = $5::bigint, "
	    "output_tokens = $6::bigint, total_cost = $7::numeric WHERE id = $2 AND "
	    "adw_id = $1 AND status = 'executing' RETURNING id",
	    7, params, err);
	if (!res_agent)
		goto rollback;
	ended = PQntuples(res_agent) == 0;
	PQclear(res_agent);
	if (ended) {
		/*
		 * An earlier try committed this step's end, but its answer was lost
		 * with the connection: adding the tokens and cost again would count
		 * them twice. Its events went with it under the batch's key, so
		 * writing the batch again stores nothing new.
		 */
		adw_log_info("adw=%s the end of step '%s' was already stored", r->id, step);
		return tx_commit(r, since, err);
	}
	params[1] = idx;
	params[2] = outcome;
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
	agent_event(r, "AgentUpdated", ok ? "step agent complete" : "step agent blocked");
	payload = cJSON_CreateObject();
	cJSON_AddStringToObject(payload, "step", step);
	cJSON_AddNumberToObject(payload, "index", index);
	cJSON_AddStringToObject(payload, "status", ok ? "success" : outcome);
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
	content = adw_xasprintf("StepEnd: %s (%s)", step, ok ? "success" : outcome);
	{
		char *summary =
		    ok ? adw_xasprintf("Step '%s' completed successfully in %.1fs%s%s", step,
				       (double)duration_ms / 1000.0, verdict ? ", verdict " : "",
				       verdict ? verdict : "")
		       : adw_xasprintf("Step '%s' %s: %s", step, outcome,
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
	adw_updated(r, ok ? "step completed" : r->cancel ? "step cancelled" : "step failed");
	{
		char *files = files_line(r);

		if (ok)
			note(r, "The %s step completed in %.1f s%s%s%s%s", step,
			     (double)duration_ms / 1000.0, *files ? "; files written: " : "", files,
			     verdict ? "; review verdict " : "", verdict ? verdict : "");
		else if (!r->cancel)
			note(r, "The %s step failed: %s", step, error ? error : "unknown error");
		free(files);
	}
	return tx_commit(r, since, err);
rollback:
	PQclear(PQexec(r->conn, "ROLLBACK"));
	adw_event_batch_truncate(&r->batch, since);
	return -1;
}

static int run_runtime(struct runner *r, const struct adw_step_ctx *ctx,
		       struct adw_step_result *res)
{
	if (strcmp(r->runtime, "dry-run") == 0)
		return adw_dryrun_run_step(ctx, res);
	return adw_claude_run_step(ctx, res);
}

/* Merges obj (owned) into output_data.git. */
static void git_record(struct runner *r, cJSON *obj)
{
	struct adw_err err = {0};
	char *json = cJSON_PrintUnformatted(obj);
	const char *params[2] = {r->id, json};

	flush(r);
	if (adw_db_exec(
		r->conn,
		"UPDATE ai_developer_workflows SET output_data = jsonb_set(output_data, "
		"'{git}', COALESCE(output_data -> 'git', '{}'::jsonb) || $2::jsonb) WHERE id = "
		"$1",
		2, params, &err) < 0)
		adw_log_warn("adw=%s git state not recorded: %s", r->id, err.msg);
	free(json);
	cJSON_Delete(obj);
}

/*
 * When the working dir is in a git repository: the ADW gets its own
 * worktree on branch adw/<name>-<id8> and works there (the same
 * subdirectory of it). Returns 0 (also when not a repository), or -1 with
 * *why when the worktree cannot be made (no run in the shared checkout).
 */
static int git_setup(struct runner *r, char **why)
{
	struct adw_err err = {0};
	char *top = NULL, *wt, *branch;
	size_t tl;
	cJSON *g;

	if (adw_git_toplevel(r->workdir, &top) != 0)
		return 0;
	branch = adw_xasprintf("adw/%s-%s", r->name, r->short_id);
	wt = adw_xasprintf("%s/%s-%s", r->cfg->worktree_dir, r->name, r->short_id);
	if (adw_git_worktree(top, wt, branch, r->cfg->base_branch, &r->base_commit, &err) < 0) {
		*why = adw_xasprintf("cannot make the git worktree %s: %s", wt, err.msg);
		free(top);
		free(wt);
		free(branch);
		return -1;
	}
	tl = strlen(top);
	r->repo = top;
	r->worktree = wt;
	r->branch = branch;
	{
		/* The same place inside the worktree as the working dir in the checkout. */
		const char *rel = !strncmp(r->workdir, top, tl) ? r->workdir + tl : "";
		char *dir = adw_xasprintf("%s%s", wt, rel);

		free(r->workdir);
		r->workdir = dir;
	}
	g = cJSON_CreateObject();
	cJSON_AddStringToObject(g, "repo", top);
	cJSON_AddStringToObject(g, "worktree", wt);
	cJSON_AddStringToObject(g, "branch", branch);
	cJSON_AddStringToObject(g, "base_commit", r->base_commit);
	cJSON_AddBoolToObject(g, "worktree_removed", 0);
	git_record(r, g);
	system_event(r, NULL, "SystemInfo", NULL,
		     "Working in git worktree %s on branch %s (from %.12s)", wt, branch,
		     r->base_commit);
	return 0;
}

/* After a step: commit its changes to the branch, and say which files and lines changed. */
static void git_track(struct runner *r, const char *step)
{
	struct adw_err err = {0};
	struct adw_git_file *files = NULL;
	char *head = NULL, *msg;
	bool committed = false;
	long added = 0, removed = 0;
	int n = 0;
	cJSON *payload, *arr, *g, *d;

	if (!r->worktree)
		return;
	msg = adw_xasprintf("adw %s: %s step", r->name, step);
	if (adw_git_commit_all(r->worktree, msg, &committed, &err) < 0 ||
	    adw_git_head(r->worktree, &head, &err) < 0 ||
	    adw_git_numstat(r->worktree, r->head_before ? r->head_before : r->base_commit, head,
			    &files, &n, &err) < 0) {
		adw_log_warn("adw=%s git after the %s step: %s", r->id, step, err.msg);
		system_event(r, step, "SystemWarning", NULL, "git after the %s step: %s", step,
			     err.msg);
		goto out;
	}
	payload = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(payload, "files");
	for (int i = 0; i < n; i++) {
		cJSON *f = cJSON_CreateObject();

		cJSON_AddStringToObject(f, "path", files[i].path);
		cJSON_AddNumberToObject(f, "added", (double)files[i].added);
		cJSON_AddNumberToObject(f, "removed", (double)files[i].removed);
		cJSON_AddItemToArray(arr, f);
		added += files[i].added > 0 ? files[i].added : 0;
		removed += files[i].removed > 0 ? files[i].removed : 0;
	}
	cJSON_AddStringToObject(payload, "branch", r->branch);
	cJSON_AddStringToObject(payload, "commit", head);
	cJSON_AddBoolToObject(payload, "committed", committed);
	{
		char *content = adw_xasprintf("%s step: %d file%s changed, +%ld -%ld", step, n,
					      n == 1 ? "" : "s", added, removed);
		struct adw_event ev = {.category = ADW_CAT_FILE_TRACKING,
				       .type = "FileTrackingBlock",
				       .content = content,
				       .payload = payload};

		record(r, &ev);
		free(content);
	}
	cJSON_Delete(payload);
	adw_git_files_free(files, n);
	files = NULL;
	n = 0;
	/* The ADW's whole diff stat, from where its branch started. */
	if (adw_git_numstat(r->worktree, r->base_commit, head, &files, &n, &err) == 0) {
		added = removed = 0;
		for (int i = 0; i < n; i++) {
			added += files[i].added > 0 ? files[i].added : 0;
			removed += files[i].removed > 0 ? files[i].removed : 0;
		}
		g = cJSON_CreateObject();
		cJSON_AddStringToObject(g, "head", head);
		d = cJSON_AddObjectToObject(g, "diff");
		cJSON_AddNumberToObject(d, "files", n);
		cJSON_AddNumberToObject(d, "insertions", (double)added);
		cJSON_AddNumberToObject(d, "deletions", (double)removed);
		git_record(r, g);
	}
out:
	adw_git_files_free(files, n);
	free(head);
	free(msg);
}

/* At the end: the worktree goes or stays by ADW_WORKTREE_KEEP; the branch always stays. */
static void git_finish(struct runner *r, bool ok)
{
	struct adw_err err = {0};
	const char *keep = r->cfg->worktree_keep ? r->cfg->worktree_keep : "on_failure";
	cJSON *g;

	if (!r->worktree || !strcmp(keep, "always") || (!strcmp(keep, "on_failure") && !ok))
		return;
	if (adw_git_worktree_remove(r->repo, r->worktree, &err) < 0) {
		adw_log_warn("adw=%s worktree %s not removed: %s", r->id, r->worktree, err.msg);
		return;
	}
	g = cJSON_CreateObject();
	cJSON_AddBoolToObject(g, "worktree_removed", 1);
	git_record(r, g);
}

/*
 * The time limit of the next step in ms (0 = none): step_timeout_s, cut to
 * what is left of the run's timeout_s.
 */
static long long step_time(struct runner *r)
{
	long long t = r->step_timeout_s * 1000LL;

	r->run_timed_out = false;
	if (r->deadline_ms) {
		long long left = r->deadline_ms - now_ms();

		if (left < 1)
			left = 1;
		if (!t || left < t) {
			t = left;
			r->run_timed_out = true;
		}
	}
	return t;
}

/* What the ADW has spent so far (USD, as stored), or -1 when the database is away. */
static double adw_cost(struct runner *r)
{
	struct adw_err err = {0};
	const char *params[1] = {r->id};
	char *cost_s = NULL;
	double cost;

	flush(r);
	if (adw_db_query_text(r->conn, NULL,
			      "SELECT cost_usd::text FROM ai_developer_workflows WHERE id = $1", 1,
			      params, &cost_s, &err) < 0)
		return -1;
	cost = strtod(cost_s, NULL);
	free(cost_s);
	return cost;
}

/*
 * The budget is spent (cost USD so far): a person is asked whether to go
 * on (default: stop) — between steps, or with step stopped at it. Returns 0
 * to go on (the budget is waived for the rest of the run), 1 when the ADW
 * was cancelled meanwhile, -1 to stop (*why set).
 */
static int budget_ask(struct runner *r, double cost, const char *step, char **why)
{
	const char *opts[2] = {"continue", "stop"};
	char *q = step ? adw_xasprintf("The cost budget of $%g is spent ($%.4f so far). The %s "
				       "step was stopped there; go on with it?",
				       r->max_cost_usd, cost, step)
		       : adw_xasprintf("The cost budget of $%g is spent ($%.4f so far). Go on "
				       "with the remaining steps?",
				       r->max_cost_usd, cost);
	struct adw_question_req req = {.question = q,
				       .options = opts,
				       .noptions = 2,
				       .context = "max_cost_usd of this ADW",
				       .default_answer = "stop"};
	char *answer = NULL, *reason = NULL;
	int rc = 0;

	system_event(r, step, "SystemWarning", NULL, "Cost budget of $%g reached ($%.4f)",
		     r->max_cost_usd, cost);
	if (ask_cb(r, &req, &answer, &reason) < 0)
		rc = r->cancel ? 1 : -1;
	else if (strcmp(answer, "continue") == 0)
		r->budget_waived = true;
	else
		rc = -1;
	if (rc < 0)
		*why =
		    adw_xasprintf("the cost budget of $%g was reached ($%.4f spent)%s%s",
				  r->max_cost_usd, cost, reason ? ": " : "", reason ? reason : "");
	else if (r->budget_waived)
		note(r, "Going on past the cost budget of $%g, as answered", r->max_cost_usd);
	free(q);
	free(answer);
	free(reason);
	return rc;
}

/*
 * The limits before step i: the run's timeout, and the cost budget.
 * Returns 0 to go on, 1 when the ADW was cancelled meanwhile, -1 when it
 * must fail (*why set).
 */
static int limits_check(struct runner *r, char **why)
{
	double cost;

	if (r->deadline_ms && now_ms() >= r->deadline_ms) {
		*why = adw_xasprintf("the adw timed out after %d s (timeout_s)", r->timeout_s);
		return -1;
	}
	if (!r->max_cost_usd || r->budget_waived)
		return 0;
	cost = adw_cost(r);
	r->cost_before_step = cost < 0 ? 0 : cost;
	if (cost < r->max_cost_usd)
		return 0; /* (or the database is away: the next step's records will say so) */
	return budget_ask(r, cost, NULL, why);
}

/* ctx->over_budget: the step was stopped at the budget; spent is its own cost so far. */
static enum adw_step_order over_budget_cb(void *ud, double spent)
{
	struct runner *r = ud;
	int rc = budget_ask(r, r->cost_before_step + spent, r->step, &r->budget_why);

	return rc == 0 ? ADW_STEP_RUN : ADW_STEP_CANCEL;
}

/*
 * The agent session of step's run that was lost mid-step (this ADW was
 * recovered, and the step's last agent never finished), so the claude
 * runtime can continue it: true with session filled. Not for dry-run, nor
 * for a retry by hand (which starts the step afresh).
 */
static bool lost_session(struct runner *r, const char *step, char session[37])
{
	struct adw_err err = {0};
	const char *params[2] = {r->id, step};
	char *sid = NULL;
	bool ok;

	if (strcmp(r->runtime, "claude") != 0 || !r->recovered)
		return false;
	if (adw_db_query_text(
		r->conn, NULL,
		"SELECT p.session_id FROM prompts p JOIN agents g ON g.id = p.agent_id "
		"WHERE p.adw_id = $1 AND g.adw_step = $2 AND g.status <> 'complete' "
		"AND p.session_id IS NOT NULL ORDER BY p.timestamp DESC LIMIT 1",
		2, params, &sid, &err) < 0)
		return false;
	ok = adw_store_is_uuid(sid);
	if (ok) {
		memcpy(session, sid, 37);
		system_event(r, step, "SystemInfo", NULL,
			     "Resuming the %s step's agent session %s, lost with its adw-run", step,
			     sid);
	}
	free(sid);
	return ok;
}

/*
 * Runs step i. Returns 0 when it succeeded, 1 when the ADW was cancelled
 * meanwhile, -1 when the ADW must fail (*why set).
 */
static int run_step(struct runner *r, int i, char **why)
{
	const char *step = r->wf.steps[i].name;
	char *artifact = artifact_path(r, step);
	char *tmpl = NULL, *rendered = NULL, *report = NULL;
	char session[37];
	bool resume;
	struct adw_step_result res = {0};
	struct adw_err err = {0};
	long long t0 = now_ms();
	bool ok = false;
	char *error = NULL;
	int rc = -1;

	/* A database that goes away mid-transaction: wait for it and do it again. */
	for (int tries = 0; step_begin(r, i, step, artifact, &err) < 0; tries++) {
		if (err.code != ADW_ERR_UNAVAILABLE || tries == DB_RETRIES) {
			*why = adw_xasprintf("cannot record the start of step '%s': %s", step,
					     err.msg);
			goto out;
		}
	}
	note(r, "Started the %s step", step);
	free(r->head_before);
	r->head_before = NULL;
	if (r->worktree && adw_git_head(r->worktree, &r->head_before, &err) < 0)
		adw_log_warn("adw=%s git HEAD: %s", r->id, err.msg);
	resume = lost_session(r, step, session);
	if (!resume)
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
		    .resume_session = resume,
		    .timeout_s = r->step_timeout_s,
		    .timeout_ms = step_time(r),
		    .artifact = artifact,
		    .plan_path = r->plan_path,
		    .review_path = r->review_path,
		    .emit = emit_cb,
		    .emit_ud = r,
		    .idle = idle_cb,
		    .control_fd = control_fd_cb,
		    .control = control_cb,
		    .next_instruction = next_instruction_cb,
		    .delivered = delivered_cb,
		    .turn_started = turn_started_cb,
		    .pause = pause_cb,
		    .ask = ask_cb,
		    .ask_fd = r->ask_fd,
		    .ask_socket = r->ask_socket,
		    .budget_usd = r->max_cost_usd && !r->budget_waived
				      ? r->max_cost_usd - r->cost_before_step
				      : 0,
		    .over_budget = over_budget_cb,
		};

		if (adw_db_exec(
			r->conn,
			"INSERT INTO prompts (agent_id, adw_id, author, prompt_text, session_id) "
			"VALUES ($1, $2, 'adw_runner', $3, $4)",
			4, params, &err) < 0)
			adw_log_warn("adw=%s prompt not recorded: %s", r->id, err.msg);
		if (run_runtime(r, &ctx, &res) < 0 || !res.ok || r->cancel) {
			error = r->cancel ? adw_xasprintf("step cancelled: %s", r->cancel_reason)
				: r->budget_why ? adw_xstrdup(r->budget_why)
				: r->run_timed_out && res.error && strstr(res.error, "timed out")
				    ? adw_xasprintf("the adw timed out after %d s (timeout_s)",
						    r->timeout_s)
				    : adw_xstrdup(res.error ? res.error
							    : "the agent reported an error");
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
	git_track(r, step);
	for (int tries = 0;
	     step_end(r, i, step, artifact, &res, ok, error, now_ms() - t0, &err) < 0; tries++) {
		if (err.code != ADW_ERR_UNAVAILABLE || tries == DB_RETRIES) {
			*why =
			    adw_xasprintf("cannot record the end of step '%s': %s", step, err.msg);
			goto out;
		}
	}
	if (r->cancel) {
		rc = 1;
		goto out;
	}
	if (!ok && r->budget_why) {
		/* Stopped at the budget, as a person (or the question's default) chose. */
		*why = r->budget_why;
		r->budget_why = NULL;
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
	int since;

	db_wait(r);
	in_tx = adw_db_exec(r->conn, "BEGIN", 0, NULL, &err) == 0;
	since = r->batch.n;
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
	{
		const char *p2[2] = {r->id, ok ? "completed" : "failed"};

		/* What is still open can no longer be carried out. */
		if (adw_db_exec(r->conn,
				"UPDATE adw_messages SET action_status = 'ignored', processed_at = "
				"now(), status_reason = 'the adw ended (' || $2 || ') before it "
				"was carried out' WHERE adw_id = $1 AND action_status IN "
				"('pending', 'acknowledged')",
				2, p2, &err) < 0 ||
		    adw_db_exec(
			r->conn,
			"UPDATE adw_questions SET status = 'cancelled', answered_at = now() "
			"WHERE adw_id = $1 AND status = 'pending'",
			1, p2, &err) < 0)
			adw_log_error("adw=%s open messages not closed: %s", r->id, err.msg);
	}
	if (in_tx && tx_commit(r, since, &err) < 0)
		adw_log_error("adw=%s final status not committed: %s", r->id, err.msg);
}

/*
 * Ends the ADW cancelled (a person's cancel or redirect, or a pause or
 * question timeout): the running and remaining steps are cancelled, open
 * questions closed, other open messages ignored; all in one transaction
 * with the last events.
 */
static void finish_cancelled(struct runner *r)
{
	const char *params[3] = {r->id, r->cancel_reason, r->cancel_by};
	struct adw_err err = {0};
	bool in_tx;
	int since;

	db_wait(r);
	in_tx = adw_db_exec(r->conn, "BEGIN", 0, NULL, &err) == 0;
	since = r->batch.n;
	if (adw_db_exec(
		r->conn,
		"UPDATE ai_developer_workflows SET status = 'cancelled', cancel_reason = $2, "
		"cancelled_by = $3, paused_at = NULL, completed_at = now(), duration_ms = "
		"(extract(epoch FROM now() - started_at) * 1000)::bigint WHERE id = $1 "
		"AND status NOT IN ('completed', 'failed', 'cancelled')",
		3, params, &err) < 0 ||
	    adw_db_exec(
		r->conn,
		"UPDATE adw_steps SET status = 'cancelled', ended_at = CASE WHEN status = "
		"'running' THEN now() END, duration_ms = CASE WHEN status = 'running' THEN "
		"(extract(epoch FROM now() - started_at) * 1000)::bigint END WHERE adw_id = "
		"$1 AND status IN ('pending', 'running')",
		1, params, &err) < 0 ||
	    adw_db_exec(r->conn,
			"UPDATE agents SET status = 'blocked' WHERE adw_id = $1 AND status IN "
			"('executing', 'waiting')",
			1, params, &err) < 0 ||
	    adw_db_exec(r->conn,
			"UPDATE adw_questions SET status = 'cancelled', answered_at = now() WHERE "
			"adw_id = $1 AND status = 'pending'",
			1, params, &err) < 0)
		adw_log_error("adw=%s cancellation not stored: %s", r->id, err.msg);
	mark(r, r->cancel_id, "processed", NULL);
	if (adw_db_exec(r->conn,
			"UPDATE adw_messages SET action_status = 'ignored', processed_at = now(), "
			"status_reason = 'the adw was cancelled' WHERE adw_id = $1 AND "
			"action_status IN ('pending', 'acknowledged')",
			1, params, &err) < 0)
		adw_log_error("adw=%s open messages not closed: %s", r->id, err.msg);
	system_event(r, NULL, "SystemWarning", NULL, "Workflow cancelled: %s (%s)",
		     r->cancel_reason, r->cancel_by);
	r->step = NULL;
	note(r, "Cancelled: %s (%s)", r->cancel_reason, r->cancel_by);
	adw_updated(r, "status: cancelled");
	if (in_tx && tx_commit(r, since, &err) < 0)
		adw_log_error("adw=%s cancellation not committed: %s", r->id, err.msg);
}

int adw_runner_run(const struct adw_config *cfg, const char *conninfo, const char *id)
{
	struct runner r = {.cfg = cfg, .ask_fd = -1};
	struct adw_err err = {0};
	char *why = NULL;
	int rc = ADW_RUNNER_USAGE;
	int i;

	adw_event_batch_init(&r.batch);
	adw_spill_init(&r.spill);
	r.id = adw_xstrdup(id);
	r.conn = adw_db_connect(conninfo, &err);
	if (!r.conn) {
		fprintf(stderr, "adw: %s\n", err.msg);
		goto out;
	}
	if (load(&r, &err) < 0) {
		if (err.code == ADW_ERR_CONFLICT) {
			adw_log_info("adw=%s: %s; nothing to do", id, err.msg);
			rc = strstr(err.msg, "another adw-run") ? ADW_RUNNER_SUPERSEDED
								: ADW_RUNNER_COMPLETED;
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
		int n = 0;

		/* What earlier runs of this ADW on this machine spilled and never wrote. */
		if (adw_spill_replay_orphans(r.conn, r.cfg->home, r.id, &n, &err) < 0)
			adw_log_error(
			    "adw=%s events left by an earlier run not written back yet: %s", r.id,
			    err.msg);
		else if (n)
			adw_log_info("adw=%s %d events an earlier run spilled written back", r.id,
				     n);
	}
	if (adw_control_open(&r.ctl, r.conn, r.id, &err) < 0)
		adw_log_error("adw=%s not steerable: %s", r.id, err.msg);
	else
		r.ctl_open = true;
	if (strcmp(r.runtime, "claude") == 0) {
		r.ask_socket = adw_ask_socket_name();
		r.ask_fd = adw_ask_listen(r.ask_socket, &err);
		if (r.ask_fd < 0)
			adw_log_warn("adw=%s agents cannot ask questions: %s", r.id, err.msg);
	}
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
	if (git_setup(&r, &why) < 0)
		adw_log_error("adw=%s %s", r.id, why);
	for (i = 0; !why && i < r.wf.nsteps; i++) {
		/* The checkpoint before each step. */
		steer_take(&r, true);
		if (!r.cancel && r.pause_id)
			pause_wait(&r);
		if (r.cancel)
			break;
		if (r.done[i]) {
			system_event(&r, r.wf.steps[i].name, "SystemInfo", NULL,
				     "%s step already finished by an earlier run: not run again",
				     r.wf.steps[i].name);
			continue;
		}
		if (r.wf.steps[i].only_on_fail && r.verdict != ADW_VERDICT_FAIL) {
			if (skip_step(&r, i) < 0) {
				why = adw_xstrdup("cannot record a skipped step");
				break;
			}
			continue;
		}
		if (limits_check(&r, &why) != 0 || r.cancel)
			break;
		if (run_step(&r, i, &why) != 0)
			break;
	}
	r.step = NULL;
	free(r.agent_id);
	r.agent_id = NULL;
	git_finish(&r, !r.cancel && why == NULL);
	if (r.cancel) {
		finish_cancelled(&r);
		rc = ADW_RUNNER_CANCELLED;
		adw_log_info("adw=%s cancelled: %s (%s)", r.id, r.cancel_reason, r.cancel_by);
	} else {
		finish(&r, why == NULL, why, why && i < r.wf.nsteps ? r.wf.steps[i].name : NULL);
		rc = why ? ADW_RUNNER_FAILED : ADW_RUNNER_COMPLETED;
		adw_log_info("adw=%s %s%s", r.id, why ? "failed: " : "completed", why ? why : "");
	}
	if (r.lost_events)
		adw_log_error("adw=%s %d events could not be stored", r.id, r.lost_events);
out:
	free(why);
	adw_control_close(&r.ctl);
	if (r.ask_fd >= 0)
		close(r.ask_fd);
	free(r.ask_socket);
	free(r.pause_reason);
	free(r.cancel_reason);
	free(r.cancel_by);
	free(r.budget_why);
	free(r.answer_ids);
	for (int k = 0; k < r.ninstr; k++)
		free(r.instr[k].text);
	free(r.instr);
	free(r.delivered);
	for (int k = 0; k < r.nfiles; k++)
		free(r.files[k]);
	free(r.files);
	if (r.conn)
		flush(&r);
	PQfinish(r.conn);
	adw_event_batch_release(&r.batch);
	adw_workflow_release(&r.wf);
	free(r.done);
	adw_spill_close(&r.spill);
	free(r.repo);
	free(r.worktree);
	free(r.branch);
	free(r.base_commit);
	free(r.head_before);
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
