/* SPDX-License-Identifier: MIT */
/*
 * The agent runtime interface: how adw-run asks an agent to perform one
 * step. A runtime runs the rendered prompt in the working dir, reports every
 * event through ctx->emit as it happens, and fills a result. Runtimes:
 * "claude" (adw_claude.h: the Claude Code CLI, stream-json) and "dry-run"
 * (adw_dryrun.h: no model; deterministic step contracts). Called from
 * adw-run's single thread.
 */
#ifndef ADW_RUNTIME_H
#define ADW_RUNTIME_H

#include <stdbool.h>

#include "adw_config.h"
#include "adw_event.h"

/**
 * Receives one event of the running step. The runtime fills category,
 * type, content, summary (or NULL) and payload; adw_id, agent_id and step
 * are stamped by the callee. Returns 0, or -1 when the event could not be
 * stored (the runtime carries on; the runner records the loss).
 */
typedef int (*adw_emit_fn)(void *ud, struct adw_event *ev);

struct adw_step_ctx {
	const struct adw_config *cfg;
	const char *adw_id;	 /* uuid */
	const char *adw_name;	 /* kebab name */
	const char *step;	 /* "plan", "build", "review", "fix", or a custom step */
	const char *prompt;	 /* the rendered prompt for the agent */
	const char *user_prompt; /* the ADW's original prompt */
	const char *working_dir; /* absolute; the agent runs here */
	const char *model;	 /* NULL = the runtime's default */
	const char *session_id;	 /* uuid chosen by the runner for this step */
	const char *artifact;	 /* absolute path the step must write, or NULL */
	const char *plan_path;	 /* absolute path of the plan, or NULL */
	const char *review_path; /* absolute path of the review report, or NULL */
	int timeout_s;		 /* wall-clock limit of the step; 0 = none */
	adw_emit_fn emit;
	void *emit_ud;
	/*
	 * Called (when not NULL) with emit_ud before the runtime blocks waiting
	 * for its agent, so buffered events are written while nothing happens.
	 */
	void (*idle)(void *ud);
};

struct adw_step_result {
	bool ok;		/* the step succeeded (claude: is_error == false) */
	char *error;		/* why it failed (owned), or NULL */
	char *session_id;	/* the agent's session id (owned), or NULL */
	char *result_text;	/* the final result text (owned), or NULL */
	char *subtype;		/* claude's result subtype (owned), or NULL */
	long long input_tokens; /* tokens, from the final usage */
	long long output_tokens;
	double cost_usd;       /* USD, total_cost_usd */
	long long duration_ms; /* as reported by the agent; 0 if unknown */
	int num_turns;
};

/** Frees the owned strings of r and zeroes it. NULL-safe. */
void adw_step_result_release(struct adw_step_result *r);

#endif
