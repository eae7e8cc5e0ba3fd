/* SPDX-License-Identifier: MIT */
/*
 * The "dry-run" runtime: performs each step's deterministic contract with
 * no model, for machines without one and for tests. plan writes a spec
 * skeleton from the prompt, build records what it was asked and changes
 * nothing, review writes a report ending in a VERDICT line, fix writes a
 * fix report. Every event says "dry run" and carries "dry_run": true.
 *
 * Markers in the ADW's prompt steer it (for tests and demos):
 *   [dry-run:delay=MS]      each step takes MS milliseconds (0..600000)
 *   [dry-run:review=fail]   the review verdict is FAIL
 *   [dry-run:fail=STEP]     step STEP fails
 *   [dry-run:ask=Q|A|B]     the plan step asks question Q with options A, B
 *                           (none: free text) through ctx->ask and waits;
 *                           the answer goes into the plan
 *   [dry-run:ask_step=S]    ask in step S instead of plan
 *   [dry-run:ask_default=X] the question's default, taken on timeout
 *   [dry-run:cost=USD]      each step spends USD (0..1000), a quarter after each
 *                           quarter of its delay; ctx->budget_usd stops it
 *                           there as the CLI's --max-budget-usd would
 *
 * Steering: while a step waits (its delay) it obeys ctx->control() — a
 * pause waits in ctx->pause(), a cancel ends the step "step cancelled" —
 * and takes each instruction at once (delivered, then its turn started),
 * recording it as a TextBlock; it is not acted on, as no model runs.
 * Called from adw-run's single thread.
 */
#ifndef ADW_DRYRUN_H
#define ADW_DRYRUN_H

#include "adw_runtime.h"

/**
 * Runs ctx->step without a model. Returns 0 with res filled (res->ok false
 * when a marker asked the step to fail or a file could not be written),
 * never -1.
 */
int adw_dryrun_run_step(const struct adw_step_ctx *ctx, struct adw_step_result *res);

#endif
