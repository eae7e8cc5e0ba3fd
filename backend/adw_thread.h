/* SPDX-License-Identifier: MIT */
/*
 * The thread of an ADW: its messages (user, agent, system) and the control
 * actions people take through them (pause, resume, cancel, redirect,
 * instructions for the running agent), and the decision questions agents
 * ask, with their answers. Shared by adw-server (API, chat), adw (CLI) and
 * adw-run (the runner's own comments).
 *
 * Who acts: an action on an ADW that no process runs yet (pending, or
 * paused before it started) takes effect here, at once. An action on a
 * running ADW is stored as a pending message; the trigger of migration 005
 * NOTIFYs adw_control_<uuid without dashes>, and the ADW's adw-run
 * acknowledges it and carries it out at its next checkpoint. Every message
 * and every change of its status is also an event (category "control").
 *
 * Functions keep no state; one PGconn per thread.
 */
#ifndef ADW_THREAD_H
#define ADW_THREAD_H

#include <libpq-fe.h>

#include "adw_config.h"
#include "adw_err.h"

#define ADW_THREAD_TEXT_MAX (256 * 1024) /* bytes of a message's content */
#define ADW_THREAD_LIST_MAX 1000	 /* messages of one GET */

/** A person's message or action on an ADW. */
struct adw_thread_request {
	const char *adw;      /* uuid or name (the newest of that name) */
	const char *action;   /* comment, instruction, pause, resume, cancel, redirect */
	const char *content;  /* the text; the reason for pause/resume/cancel (optional);
				 the new prompt for redirect (required) */
	const char *metadata; /* a JSON object (text), or NULL */
	const char *source;   /* "api", "chat" or "cli": recorded as metadata.source */
};

/** What adw_thread_post() did. Release with adw_thread_result_release(). */
struct adw_thread_result {
	char *message; /* the stored message, a JSON object */
	char *adw;     /* the ADW after the action (redirect: the new ADW), a JSON object */
	int status;    /* 201 for a new message or ADW (comment, instruction, redirect), else 200 */
};

/**
 * Stores the message and takes or requests its action, in one
 * transaction with the ADW row locked:
 *   comment      always stored, processed.
 *   instruction  pending, for the running agent (delivered by adw-run).
 *   pause        pending ADW: paused at once; running: pending for adw-run;
 *                already paused: stored as ignored ("already paused"), no-op.
 *   resume       paused before it started: pending again at once; paused or
 *                with a pause not yet taken: pending for adw-run; otherwise
 *                ignored ("not paused"), no-op.
 *   cancel       pending or paused before it started: cancelled at once;
 *                running: pending for adw-run; already cancelled: ignored, no-op.
 *   redirect     creates a new ADW with content as its prompt (same
 *                workflow, working dir, runtime, model), linked both ways
 *                (redirected_from / redirected_to), and cancels this one as
 *                above. out->adw is the new ADW.
 * Errors: NOT_FOUND (no such ADW), INVALID (unknown action, bad or blank
 * content where it is required, metadata not an object, text over
 * ADW_THREAD_TEXT_MAX or not UTF-8), CONFLICT when the ADW has already
 * ended — the message is then stored as ignored with that reason, and the
 * error says so — UNAVAILABLE. out is filled only on success.
 */
int adw_thread_post(PGconn *conn, const struct adw_config *cfg, const struct adw_thread_request *rq,
		    struct adw_thread_result *out, struct adw_err *err) ADW_MUST_CHECK;
void adw_thread_result_release(struct adw_thread_result *out);

/**
 * {"messages":[...]} of an ADW (uuid or name), oldest first: those with id
 * > after, at most limit (1..ADW_THREAD_LIST_MAX). *json is the caller's.
 * Errors: NOT_FOUND, UNAVAILABLE.
 */
int adw_thread_list(PGconn *conn, const char *adw, long long after, int limit, char **json,
		    struct adw_err *err) ADW_MUST_CHECK;

/**
 * Adds a processed message of the ADW's own (sender "system" or "agent",
 * action_type "comment" unless given), e.g. "Plan step finished in 3.2 s".
 * metadata: a JSON object text or NULL; step may be NULL. Errors: UNAVAILABLE.
 */
int adw_thread_note(PGconn *conn, const char *adw_id, const char *sender, const char *step,
		    const char *content, const char *metadata, struct adw_err *err) ADW_MUST_CHECK;

/**
 * Answers a pending question: id is its uuid or a unique prefix of at least
 * 8 characters. Stores the answer, marks the question answered by
 * "user via <source>", and adds an "answer" message to the thread for the
 * waiting adw-run. *json gets {"question":{...}} (caller frees). Errors:
 * NOT_FOUND, INVALID (blank or oversized answer, ambiguous prefix),
 * CONFLICT (already answered, timed out or cancelled), UNAVAILABLE.
 */
int adw_thread_answer(PGconn *conn, const char *id, const char *answer, const char *source,
		      char **json, struct adw_err *err) ADW_MUST_CHECK;

/** {"question":{...}} of a question by uuid. Errors: NOT_FOUND, INVALID, UNAVAILABLE. */
int adw_thread_question(PGconn *conn, const char *id, char **json,
			struct adw_err *err) ADW_MUST_CHECK;

/**
 * {"questions":[...]} newest first, optionally of one status (pending,
 * answered, timed_out, cancelled) and/or one ADW (uuid), at most limit
 * (1..ADW_THREAD_LIST_MAX). Errors: INVALID (bad status or uuid), UNAVAILABLE.
 */
int adw_thread_questions(PGconn *conn, const char *status, const char *adw_id, int limit,
			 char **json, struct adw_err *err) ADW_MUST_CHECK;

/**
 * Cancels the ADWs paused before they started (no process waits on them)
 * whose pause is older than timeout_s seconds, with the reason "paused for
 * more than N s without a resume" and cancelled_by = by; *n gets how many.
 * A running ADW's pause is timed by its adw-run instead. Called by the
 * supervisor. Errors: UNAVAILABLE.
 */
int adw_thread_expire_paused(PGconn *conn, int timeout_s, const char *by, int *n,
			     struct adw_err *err) ADW_MUST_CHECK;

#endif
