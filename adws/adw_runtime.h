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

/* What the runner wants of a running step; answered by ctx->control(). */
enum adw_step_order {
	ADW_STEP_RUN = 0, /* carry on */
	ADW_STEP_PAUSE,	 /* stop at the next turn boundary keeping the session, then ctx->pause() */
	ADW_STEP_CANCEL, /* stop now: gracefully, then SIGTERM and SIGKILL to the agent's group */
};

/* An instruction from a person, waiting to be given to the running agent. */
struct adw_instruction {
	long long id; /* adw_messages.id */
	char *text;   /* owned by the receiver of adw_step_ctx.next_instruction() */
};

/* A decision question an agent asks a person (options may be empty: free text). */
struct adw_question_req {
	const char *question;	    /* required, non-empty */
	const char *const *options; /* noptions strings; NULL when noptions == 0 */
	int noptions;		    /* 0..ADW_QUESTION_OPTIONS_MAX */
	const char *context;	    /* optional text shown with the question, or NULL */
	const char *default_answer; /* taken when nobody answers in time, or NULL (cancel) */
};

#define ADW_QUESTION_OPTIONS_MAX 16	  /* options of one question */
#define ADW_QUESTION_TEXT_MAX (16 * 1024) /* bytes of a question, option or answer */
#define ADW_STEP_TICK_MS 1000		  /* ctx->control() is called at least this often */

/*
 * The answer of ctx->ask(): 0 with *answer (malloc'd, caller frees), or -1
 * with *why (malloc'd, caller frees) when the ADW was cancelled or the
 * question timed out with no default.
 */
typedef int (*adw_ask_fn)(void *ud, const struct adw_question_req *q, char **answer, char **why);

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
	bool resume_session;	 /* session_id is this step's session from a run that was lost
				    mid-step: continue it where the runtime can (claude:
				    --resume) instead of starting afresh */
	const char *artifact;	 /* absolute path the step must write, or NULL */
	const char *plan_path;	 /* absolute path of the plan, or NULL */
	const char *review_path; /* absolute path of the review report, or NULL */
	int timeout_s;		 /* wall-clock limit of the step; 0 = none */
	long long timeout_ms;	 /* when > 0, the exact limit in ms (timeout_s is then what
				    messages say); a run's own timeout cuts steps to the ms */
	adw_emit_fn emit;
	void *emit_ud;
	/*
	 * Called (when not NULL) with emit_ud before the runtime blocks waiting
	 * for its agent, so buffered events are written while nothing happens.
	 */
	void (*idle)(void *ud);

	/*
	 * Steering (issue 4). All callbacks take emit_ud and may be NULL (a
	 * step nobody steers, as in the runtime unit tests).
	 *
	 * control_fd() names the socket that is readable when control
	 * messages may be waiting (the runner's LISTEN connection) — ask before
	 * each poll(), as a reconnect changes it; -1 = none (the database is
	 * away). A runtime that waits includes it in its poll() set and calls
	 * control() when it is readable and at least every ADW_STEP_TICK_MS; control() reads the
	 * messages and returns the order: RUN, PAUSE (stop at the next turn boundary, keep the
	 * session, call pause()) or CANCEL (stop now).
	 */
	int (*control_fd)(void *ud);
	enum adw_step_order (*control)(void *ud);
	/*
	 * Takes the next instruction to give to the agent: 0 with *in filled
	 * (in->text now owned by the caller), or -1 when none waits. The runtime
	 * calls delivered(id) once the agent's input has it, and turn_started()
	 * when the agent begins a turn that sees everything delivered so far.
	 */
	int (*next_instruction)(void *ud, struct adw_instruction *in);
	void (*delivered)(void *ud, long long id);
	void (*turn_started)(void *ud);
	/*
	 * Blocks while the ADW is paused (the agent has stopped, its session
	 * kept). Returns RUN when resumed, CANCEL when cancelled meanwhile or
	 * when the pause outlived cfg->pause_timeout_s.
	 */
	enum adw_step_order (*pause)(void *ud);
	/* Asks a person a decision question and blocks until it is settled. */
	adw_ask_fn ask;
	/*
	 * The ask bridge of runtimes whose agent runs in another process: a
	 * listening unix socket (adw_ask.h) the runtime polls and serves with
	 * adw_ask_serve(ask_fd, ask, emit_ud) when readable; its name goes to
	 * the agent's MCP server (adw-mcp) as ADW_ASK_SOCKET. -1 / NULL = none.
	 */
	int ask_fd;
	const char *ask_socket;

	/*
	 * The cost budget (issue 5): what the step may spend, in USD, before
	 * the runner is asked; 0 = no limit. claude passes it to the CLI as
	 * --max-budget-usd, which stops the agent with the result subtype
	 * "error_max_budget_usd" once a turn has crossed it; dry-run counts the
	 * cost of its [dry-run:cost=USD] marker. Then over_budget(emit_ud,
	 * spent_usd) (when not NULL) decides, with the agent stopped and its
	 * session kept: RUN goes on with no limit (claude resumes the session),
	 * CANCEL ends the step failed (res->subtype "error_max_budget_usd").
	 * The time it takes is not counted by the step's timeout.
	 */
	double budget_usd;
	enum adw_step_order (*over_budget)(void *ud, double spent_usd);
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
