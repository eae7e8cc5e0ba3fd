/* SPDX-License-Identifier: MIT */
/*
 * The ADW store: every query about ADWs, their steps, agents, events and
 * the orchestrator chat that more than one program needs (adw-server, adw,
 * adw-run). JSON answers are built by the SQL functions of the schema
 * (adw_json, event_json, agent_json, chat_json), so every program returns
 * the same shapes. One PGconn per thread; functions keep no state.
 */
#ifndef ADW_STORE_H
#define ADW_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <sys/types.h>

#include "adw_config.h"
#include "adw_err.h"

#define ADW_STORE_LIST_MAX 1000		  /* largest ?limit= for lists */
#define ADW_STORE_EVENTS_MAX 5000	  /* largest ?limit= for events */
#define ADW_STORE_PROMPT_MAX (256 * 1024) /* bytes of an ADW prompt */
#define ADW_STORE_KEY_MAX 200		  /* bytes of an idempotency key */
#define ADW_STORE_TIMEOUT_MAX (7 * 86400) /* s: the longest timeout_s / step_timeout_s */
#define ADW_STORE_BUDGET_MAX 1000000.0	  /* USD: the largest max_cost_usd */

/** A request to create an ADW; NULL fields take their defaults. */
struct adw_new {
	const char *workflow;	     /* required: a workflow name ('-' reads as '_') */
	const char *prompt;	     /* required, non-blank, <= ADW_STORE_PROMPT_MAX bytes */
	const char *name;	     /* default: a kebab slug of the prompt's first words */
	const char *working_dir;     /* default cfg->workdir; must be an existing, writable dir */
	const char *runtime;	     /* default cfg->runtime: "claude" or "dry-run" */
	const char *model;	     /* default cfg->model (may stay NULL) */
	const char *source;	     /* who asked: "api", "chat", "cli" (recorded in metadata) */
	const char *status;	     /* initial status: NULL = "pending" (a supervisor claims it) */
	const char *redirected_from; /* uuid of the ADW this one replaces, or NULL */
	const char *idempotency_key; /* 1..ADW_STORE_KEY_MAX bytes, or NULL: refused while an
					unfinished ADW has the same key */
	int timeout_s;		     /* s one run may take (1..ADW_STORE_TIMEOUT_MAX); 0 = none */
	int step_timeout_s;	     /* s one step may take (1..ADW_STORE_TIMEOUT_MAX); 0 = none */
	double max_cost_usd;	     /* USD budget (0 < x <= ADW_STORE_BUDGET_MAX); 0 = none */
	bool in_transaction;	     /* the caller holds a transaction: no BEGIN/COMMIT here */
};

/**
 * Validates and inserts an ADW with its step rows and an AdwCreated event,
 * in one transaction (nothing is written when anything fails). *json gets
 * the ADW object and *id its uuid (either may be NULL; caller frees).
 * Errors: INVALID (unknown workflow listing the known ones, empty prompt,
 * bad working dir, unknown runtime, bad name, bad idempotency key, a
 * timeout or budget out of range),
 * CONFLICT when an unfinished ADW has the same idempotency key — *json and
 * *id then get that ADW (the partial unique index of migration 006 decides;
 * outside a caller's transaction a key freed meanwhile is retried once),
 * UNAVAILABLE.
 */
int adw_store_adw_create(PGconn *conn, const struct adw_config *cfg, const struct adw_new *in,
			 char **json, char **id, struct adw_err *err) ADW_MUST_CHECK;
/**
 * Finds an ADW by uuid or, failing that, by name (the newest of that
 * name). *json gets {"adw":{...}} when wrap, else the bare object; *id (may
 * be NULL) its uuid. Errors: NOT_FOUND "adw 'x' not found", UNAVAILABLE.
 */
int adw_store_adw_get(PGconn *conn, const char *id_or_name, bool wrap, char **json, char **id,
		      struct adw_err *err) ADW_MUST_CHECK;
/**
 * {"adws":[...]} newest first, optionally only one status, at most limit
 * (1..ADW_STORE_LIST_MAX). Errors: INVALID (bad status), UNAVAILABLE.
 */
int adw_store_adw_list(PGconn *conn, const char *status, int limit, char **json,
		       struct adw_err *err) ADW_MUST_CHECK;
/**
 * {"events":[...],"next_after":N}: events with id > after in id order, at
 * most limit (1..ADW_STORE_EVENTS_MAX), optionally of one ADW and/or agent
 * (uuids). Errors: INVALID (bad uuid), UNAVAILABLE.
 */
int adw_store_events(PGconn *conn, long long after, int limit, const char *adw_id,
		     const char *agent_id, char **json, struct adw_err *err) ADW_MUST_CHECK;
/** {"agents":[...]} live (not archived) agents, newest first, at most 500. */
int adw_store_agents(PGconn *conn, char **json, struct adw_err *err) ADW_MUST_CHECK;
/** {"workflows":[{name, description, steps}]} from the definitions. Caller frees. */
int adw_store_workflows(const struct adw_config *cfg, char **json,
			struct adw_err *err) ADW_MUST_CHECK;
/**
 * Stores one chat message (sender/receiver "user" or "orchestrator") with
 * an optional ADW link and metadata (JSON object text or NULL), plus a
 * ChatMessage event. *json gets the message object. Errors: UNAVAILABLE.
 */
int adw_store_chat_add(PGconn *conn, const char *sender, const char *receiver, const char *message,
		       const char *adw_id, const char *metadata, char **json,
		       struct adw_err *err) ADW_MUST_CHECK;
/**
 * {"messages":[...]} oldest first: the newest limit (1..1000) messages,
 * optionally only those older than the message whose id is before.
 */
int adw_store_chat_list(PGconn *conn, int limit, const char *before, char **json,
			struct adw_err *err) ADW_MUST_CHECK;
/**
 * Claims up to max pending ADWs (oldest first, FOR UPDATE SKIP LOCKED, so
 * several supervisors may share a database): sets them in_progress with
 * worker host and pid. *ids gets a new array of *n new uuid strings
 * (free each, then the array).
 */
int adw_store_adw_claim(PGconn *conn, const char *host, pid_t pid, int max, char ***ids, int *n,
			struct adw_err *err) ADW_MUST_CHECK;
/** Records the pid and log file of the adw-run child running an ADW. */
int adw_store_adw_set_worker(PGconn *conn, const char *id, pid_t pid, const char *log_path,
			     struct adw_err *err) ADW_MUST_CHECK;
/**
 * Ends an unfinished ADW as failed with reason (its running step too), with
 * SystemError and AdwUpdated events. *changed (may be NULL) tells whether
 * it was unfinished. Finished ADWs are left alone. Errors: UNAVAILABLE.
 */
int adw_store_adw_fail(PGconn *conn, const char *id, const char *reason, bool *changed,
		       struct adw_err *err) ADW_MUST_CHECK;
/** What adw_store_adw_recover() did. */
enum adw_recovery {
	ADW_RECOVERY_NONE,     /* the ADW had already ended: nothing to do */
	ADW_RECOVERY_REQUEUED, /* pending again: a supervisor resumes it after its last
				  finished step (paused: paused again, as before it started) */
	ADW_RECOVERY_FAILED,   /* lost more than max times: failed, with the history */
};

/**
 * An ADW whose adw-run was lost (killed, crashed, its machine gone): unless
 * it had ended, it goes back to pending so that it resumes from the step
 * after its last completed one — the running step is run again from its
 * start, its open question is closed, messages its adw-run had
 * acknowledged but not carried out wait again for the next one — and
 * metadata.recoveries and metadata.recovery_history ([{at, reason}]) grow.
 * A paused ADW stays paused (as if paused before it started). After max
 * recoveries it fails instead, its reason naming the count. *outcome says
 * which. Errors: UNAVAILABLE.
 */
int adw_store_adw_recover(PGconn *conn, const char *id, const char *reason, int max,
			  enum adw_recovery *outcome, struct adw_err *err) ADW_MUST_CHECK;
/**
 * The sign of life of a supervisor: heartbeat_at = now() for those of the n
 * ADWs (uuids) that are running, in one UPDATE. Errors: UNAVAILABLE.
 */
int adw_store_heartbeat(PGconn *conn, char *const *ids, int n, struct adw_err *err) ADW_MUST_CHECK;
/**
 * At most max running ADWs that look lost (migration 008): no heartbeat for
 * stale_s seconds and nobody holds their advisory lock (adw_lock_key).
 * *ids and *why (a reason for each) are new arrays of *n strings (free with
 * adw_store_strv_free). The caller takes the lock before recovering one, so
 * that two supervisors never recover the same ADW. Errors: UNAVAILABLE.
 */
int adw_store_adw_lost(PGconn *conn, int stale_s, int max, char ***ids, char ***why, int *n,
		       struct adw_err *err) ADW_MUST_CHECK;
/**
 * The unfinished (in_progress, paused, awaiting_input) ADWs run on host:
 * parallel new arrays of ids and worker pids (pid 0 when unknown).
 */
int adw_store_adw_unfinished(PGconn *conn, const char *host, char ***ids, pid_t **pids, int *n,
			     struct adw_err *err) ADW_MUST_CHECK;
/**
 * Sends a failed or cancelled ADW (uuid or name) back to pending so that
 * a supervisor runs it again from from_step (a step name), or, when
 * from_step is NULL, from its first step that did not finish: finished
 * steps before that point are not run again (their artifacts and verdict
 * carry over); the steps from there on are reset. Errors, status and
 * cancellation are cleared, metadata.retries counts the retries, and the
 * thread and events record who asked (source: "api", "cli"). *json gets
 * the ADW object (caller frees). Errors: NOT_FOUND, INVALID (from_step is
 * not a step of the ADW), CONFLICT (the ADW is not failed or cancelled),
 * UNAVAILABLE.
 */
int adw_store_adw_retry(PGconn *conn, const char *id_or_name, const char *from_step,
			const char *source, char **json, struct adw_err *err) ADW_MUST_CHECK;
/**
 * Writes an AdwUpdated event (content what) carrying the ADW's current
 * JSON, usually inside the caller's transaction right after a change of
 * status. *json (may be NULL) gets that JSON (caller frees). Errors:
 * NOT_FOUND, UNAVAILABLE.
 */
int adw_store_adw_updated(PGconn *conn, const char *id, const char *what, char **json,
			  struct adw_err *err) ADW_MUST_CHECK;
/** True when s looks like a uuid (8-4-4-4-12 hex digits). */
bool adw_store_is_uuid(const char *s);
/** A kebab-case name from the first words of prompt (<= 40 bytes). Caller frees. */
char *adw_store_slug(const char *prompt);
/** Frees an array of n strings and the array. */
void adw_store_strv_free(char **v, int n);

#endif
