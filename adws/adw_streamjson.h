/* SPDX-License-Identifier: MIT */
/*
 * The Claude Code stream-json reader: turns the CLI's stdout
 * (`claude -p --output-format stream-json --verbose`, one JSON object per
 * line; agent-protocols.md §1.2) into adw events and a step result. Pure: no
 * processes, no I/O, so the tests feed it lines directly. One owner; not
 * thread-safe.
 */
#ifndef ADW_STREAMJSON_H
#define ADW_STREAMJSON_H

#include <stdbool.h>
#include <stddef.h>

#include "adw_buf.h"
#include "adw_runtime.h"

/* The longest stdout line kept; a longer one is dropped with a SystemWarning. */
#define ADW_STREAMJSON_MAX_LINE ((size_t)64 << 20)

struct adw_streamjson_tool; /* a pending tool_use, private */

struct adw_streamjson {
	adw_emit_fn emit;	     /* where events go */
	void *emit_ud;		     /* emit's first argument */
	struct adw_step_result *res; /* filled from init and result lines; borrowed */
	bool got_result;	     /* a result line was seen */
	bool discarding;	     /* skipping the rest of an over-long line */
	size_t max_line;	     /* line cap in bytes; ADW_STREAMJSON_MAX_LINE by default */
	struct adw_buf line;	     /* the partial line of adw_streamjson_feed() */
	struct adw_streamjson_tool *tools; /* tool_use id -> name, input, until paired */
	size_t ntools, captools;
	int inits;   /* system/init lines seen: one per query the CLI starts */
	int results; /* result lines seen: one per query that ended */
	/*
	 * The sums over every result line (with stream-json input the CLI runs
	 * one query per user message, each ending in its own result; res holds
	 * the last one's figures only). Units as in struct adw_step_result.
	 */
	struct {
		long long input_tokens, output_tokens, duration_ms;
		double cost_usd;
		int num_turns;
	} total;
	long long lines;   /* lines handled, empty ones excluded */
	long long dropped; /* lines dropped for being too long */
	int emit_failures; /* emit calls that returned -1 */
};

/**
 * Prepares sj to report events through emit(emit_ud, ev) and results into
 * res (borrowed; must outlive sj). res is not cleared: the caller starts it
 * zeroed. Release with adw_streamjson_release().
 */
void adw_streamjson_init(struct adw_streamjson *sj, adw_emit_fn emit, void *emit_ud,
			 struct adw_step_result *res);
/** Frees what sj holds (not res). NULL-safe; sj may be re-initialised afterwards. */
void adw_streamjson_release(struct adw_streamjson *sj);

/**
 * Handles one complete stdout line (without its '\n'; a trailing '\r' and
 * surrounding blanks are ignored, an empty line is skipped). Emits zero or
 * more events and may fill res:
 *   system/init -> SystemInfo; res->session_id.
 *   assistant   -> TextBlock, ThinkingBlock, ToolUseBlock + PreToolUse per block.
 *   user        -> ToolResultBlock + PostToolUse per tool_result block.
 *   result      -> Result + Stop; res->ok, subtype, result_text, tokens, cost,
 *                  duration_ms, num_turns, session_id, and error on failure.
 *   other       -> SystemInfo "claude: <type>[/<subtype>]" with the object as payload.
 *   not JSON    -> SystemWarning with the clipped text.
 * Never fails: a malformed line becomes a warning event.
 */
void adw_streamjson_feed_line(struct adw_streamjson *sj, const char *line, size_t len);

/**
 * Splits raw stdout bytes (any chunking) into lines and calls
 * adw_streamjson_feed_line() for each. A line longer than sj->max_line is
 * dropped with a SystemWarning event and counted in sj->dropped.
 */
void adw_streamjson_feed(struct adw_streamjson *sj, const char *data, size_t n);
/** At end of stream: handles a last line that had no '\n'. */
void adw_streamjson_finish(struct adw_streamjson *sj);

#endif
