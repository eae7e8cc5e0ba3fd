/* SPDX-License-Identifier: MIT */
/*
 * The "claude" agent runtime: runs one step as one Claude Code CLI process
 * (`claude -p <prompt> --output-format stream-json --verbose ...`), turns
 * its stdout into events with adw_streamjson, and kills it on timeout. For
 * adw-run's single thread only: it forks, and the cancel flag is global.
 */
#ifndef ADW_CLAUDE_H
#define ADW_CLAUDE_H

#include "adw_runtime.h"

/** Seconds between SIGTERM and SIGKILL when a step is stopped. */
#define ADW_CLAUDE_KILL_GRACE_S 5

/**
 * Runs ctx->prompt with ctx->cfg->claude_bin (looked up on PATH when it has
 * no '/'; "claude" when NULL) in ctx->working_dir, in its own process group,
 * stdin from /dev/null, dying with the caller (PR_SET_PDEATHSIG). Every
 * stdout line becomes events through ctx->emit as it arrives; stderr is
 * copied to our stderr and its tail kept for error messages.
 *
 * res is overwritten (start it zeroed; release it with
 * adw_step_result_release() whatever the return). Returns 0 when the step
 * ran to a verdict: res->ok tells success (claude's is_error == false), else
 * res->error says why ("claude reported an error (api_error_status 529):
 * ...", "claude: error_max_turns: ...", "step timed out after N s",
 * "step cancelled", "claude exited with status N without a result: <stderr>").
 * Returns -1 with res->error set when the CLI could not be started
 * (binary not found, bad working dir, fork/exec failure).
 *
 * With ctx->timeout_s > 0 the process group gets SIGTERM when it passes,
 * then SIGKILL ADW_CLAUDE_KILL_GRACE_S seconds later.
 */
int adw_claude_run_step(const struct adw_step_ctx *ctx, struct adw_step_result *res) ADW_MUST_CHECK;

/**
 * Asks the running (or next) step to stop: its process group is stopped as
 * on a timeout and the step ends with "step cancelled". Sticky: later steps
 * fail at once. Async-signal-safe (sets a flag), meant for a SIGTERM handler.
 */
void adw_claude_cancel(void);

/**
 * The --allowedTools list for a step: "review" and "fix" get their own
 * lists, "plan", "build" and custom steps the full one. Static string.
 */
const char *adw_claude_allowed_tools(const char *step);

#endif
