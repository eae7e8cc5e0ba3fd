/* SPDX-License-Identifier: MIT */
/*
 * Events: one row of the events table and one JSON object on the API
 * (INTERFACE.md "Events"). This module names categories, writes the
 * one-line fallback summary every event gets at insert time (original.md
 * §2c "AI summaries"), and inserts rows. Any thread, one PGconn per thread.
 */
#ifndef ADW_EVENT_H
#define ADW_EVENT_H

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdbool.h>

#include "adw_err.h"

enum adw_event_category {
	ADW_CAT_ADW_STEP, /* "adw_step": StepStart, StepEnd */
	ADW_CAT_RESPONSE, /* "response": TextBlock, ThinkingBlock, ToolUseBlock, ToolResultBlock,
			     Result */
	ADW_CAT_HOOK,	  /* "hook": PreToolUse, PostToolUse, Stop */
	ADW_CAT_SYSTEM,	  /* "system": SystemInfo, SystemWarning, SystemError, AdwCreated, ... */
	ADW_CAT_CHAT,	  /* "chat": ChatMessage */
	ADW_CAT_CONTROL,  /* "control": steering of a running ADW */
	ADW_CAT_FILE_TRACKING, /* "file_tracking": FileTrackingBlock */
};

struct adw_event {
	const char *adw_id;   /* uuid text or NULL */
	const char *agent_id; /* uuid text or NULL */
	const char *step;     /* "plan", "build", ... or NULL (the "Workflow" lane) */
	enum adw_event_category category;
	const char *type;     /* "TextBlock", "StepStart", ...; never NULL */
	const char *content;  /* full text; NULL = "" */
	const char *summary;  /* one line; NULL = adw_event_summarize() */
	const cJSON *payload; /* object or NULL ({}); borrowed, not modified */
};

/** Wire name of a category ("adw_step", ...); static string. */
const char *adw_event_category_name(enum adw_event_category cat);
/**
 * The fallback one-line summary of ev, from its type, content and payload:
 * "Read: main.c", "Bash: make test", "Response: <first 150 chars>...",
 * "Thinking: ...", "Using tool: X", "Step completed: success", "<type>".
 * At most 200 bytes, cut on a UTF-8 boundary, newlines folded to spaces.
 * Returns a new string; caller frees.
 */
char *adw_event_summarize(const struct adw_event *ev);
/**
 * Inserts ev (summary computed when NULL). *id (may be NULL) gets the new
 * event id. Returns 0, or -1 with err (see adw_db_query).
 */
int adw_event_insert(PGconn *conn, const struct adw_event *ev, long long *id,
		     struct adw_err *err) ADW_MUST_CHECK;
/**
 * Copies at most max bytes of s into a new string, cut on a UTF-8
 * character boundary, with "..." appended when cut; newlines become
 * spaces when fold is true. Caller frees.
 */
char *adw_event_clip(const char *s, size_t max, int fold);

/*
 * A batch of events written with one statement (adw_events_append): the
 * write path of adw-run, so a chatty agent costs one round trip and one
 * commit per batch, not per event. Events keep their order. One owner.
 *
 * Each batch has a key (a random uuid chosen with its first row) that the
 * database records with the rows (migration 009): writing the same batch
 * again — after a connection lost between COMMIT and its answer, or from a
 * spill file (adw_spill.h) — inserts nothing. Each row carries "ts", the
 * time it was added, so events written late keep when they happened.
 */
struct adw_event_batch {
	cJSON *rows;	    /* JSON array of pending rows */
	int n;		    /* rows pending */
	size_t bytes;	    /* approximate bytes pending */
	long long first_ms; /* CLOCK_MONOTONIC ms when the oldest pending row was added */
	char key[37];	    /* uuid of this batch, chosen with its first row; "" once cleared */
};

/** Initialises an empty batch. */
void adw_event_batch_init(struct adw_event_batch *b);
/** Frees the pending rows. NULL-safe. */
void adw_event_batch_release(struct adw_event_batch *b);
/**
 * Adds a copy of ev (summary computed when NULL, invalid UTF-8 replaced).
 * ev and its payload stay the caller's.
 */
void adw_event_batch_add(struct adw_event_batch *b, const struct adw_event *ev);
/** Milliseconds since the oldest pending row was added; 0 when empty. */
long long adw_event_batch_age_ms(const struct adw_event_batch *b);
/**
 * Writes every pending row in one statement under the batch's key, and
 * leaves the batch as it was: for a write inside the caller's transaction,
 * cleared with adw_event_batch_clear() once it has committed (or cut back
 * with adw_event_batch_truncate() when it rolled back). *last_id as in
 * adw_event_batch_flush(). err: see adw_db_query.
 */
int adw_event_batch_write(PGconn *conn, const struct adw_event_batch *b, long long *last_id,
			  struct adw_err *err) ADW_MUST_CHECK;
/** Empties b and forgets its key (its rows are stored). */
void adw_event_batch_clear(struct adw_event_batch *b);
/**
 * Drops the rows of b after its first n, keeping its key (a retry of the
 * same batch stays one batch). bytes stays an over-estimate.
 */
void adw_event_batch_truncate(struct adw_event_batch *b, int n);
/**
 * Writes every pending row in one statement, in order, once: *last_id (may
 * be NULL) gets the id of the last row, or 0 when a batch of this key was
 * written before (nothing is inserted). On success the batch is empty; on
 * failure (err: see adw_db_query) the rows and key stay pending for a retry.
 */
int adw_event_batch_flush(PGconn *conn, struct adw_event_batch *b, long long *last_id,
			  struct adw_err *err) ADW_MUST_CHECK;

/**
 * Writes rows (a JSON array text of batch rows, as adw_event_batch builds
 * them) under key (a uuid, or NULL for none) with adw_events_append: the
 * shared door of adw_event_batch_flush() and spill write-back. *last_id as
 * there. err: see adw_db_query.
 */
int adw_event_append_json(PGconn *conn, const char *rows, const char *key, long long *last_id,
			  struct adw_err *err) ADW_MUST_CHECK;

/** True when s is valid UTF-8 as PostgreSQL defines it. NULL is valid. */
bool adw_event_utf8_valid(const char *s);
/** Replaces invalid UTF-8 bytes of s with '?' in place. NULL-safe. */
void adw_event_fix_utf8(char *s);

#endif
