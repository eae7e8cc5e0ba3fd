/* SPDX-License-Identifier: MIT */
/* The model-free runtime: deterministic step contracts. */
#include "adw_dryrun.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "adw_buf.h"
#include "adw_log.h"

/* Value of "[dry-run:key=value]" in prompt, or NULL. Caller frees. */
static char *marker(const char *prompt, const char *key)
{
	char *pat = adw_xasprintf("[dry-run:%s=", key);
	const char *p = strstr(prompt, pat);
	const char *end;
	char *v = NULL;

	if (p) {
		p += strlen(pat);
		end = strchr(p, ']');
		if (end)
			v = adw_xstrndup(p, (size_t)(end - p));
	}
	free(pat);
	return v;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int mkdirs_for(const char *path)
{
	char *dir = adw_xstrdup(path);
	int rc = 0;

	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			rc = -1;
		*p = '/';
	}
	free(dir);
	return rc;
}

static cJSON *dry_payload(const struct adw_step_ctx *ctx)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddBoolToObject(p, "dry_run", 1);
	cJSON_AddStringToObject(p, "step", ctx->step);
	return p;
}

static void emit(const struct adw_step_ctx *ctx, enum adw_event_category cat, const char *type,
		 const char *content, cJSON *payload)
{
	struct adw_event ev = {
	    .category = cat, .type = type, .content = content, .payload = payload};

	if (ctx->emit(ctx->emit_ud, &ev) < 0)
		adw_log_warn("dry run: event %s not stored", type);
	cJSON_Delete(payload);
}

/* Gives the waiting instructions to the (absent) model: each is seen at once. */
static void take_instructions(const struct adw_step_ctx *ctx)
{
	struct adw_instruction in;

	while (ctx->next_instruction && ctx->next_instruction(ctx->emit_ud, &in) == 0) {
		char *msg = adw_xasprintf("Dry run: instruction received: %s (no model ran; it is "
					  "recorded, not acted on)",
					  in.text ? in.text : "");
		cJSON *p = dry_payload(ctx);

		if (ctx->delivered)
			ctx->delivered(ctx->emit_ud, in.id);
		cJSON_AddNumberToObject(p, "message_id", (double)in.id);
		cJSON_AddStringToObject(p, "text", msg);
		emit(ctx, ADW_CAT_RESPONSE, "TextBlock", msg, p);
		if (ctx->turn_started)
			ctx->turn_started(ctx->emit_ud);
		free(msg);
		free(in.text);
	}
}

/*
 * Waits ms (0: only looks) while obeying the runner: instructions are
 * taken, a pause waits in ctx->pause() (its time does not count, for the
 * wait nor for *deadline, the step's monotonic time limit or 0). Returns 0,
 * -1 when the ADW is cancelled, -2 when the step's time is up.
 */
static int steered_wait(const struct adw_step_ctx *ctx, long ms, long long *deadline)
{
	long long end = now_ms() + ms;

	if (*deadline && end > *deadline)
		end = *deadline;

	for (;;) {
		enum adw_step_order order;
		long long left;
		struct pollfd p = {
		    .fd = ctx->control && ctx->control_fd ? ctx->control_fd(ctx->emit_ud) : -1,
		    .events = POLLIN};

		/* Write what waits and read what came, then obey, then sleep. */
		if (ctx->idle)
			ctx->idle(ctx->emit_ud);
		order = ctx->control ? ctx->control(ctx->emit_ud) : ADW_STEP_RUN;
		take_instructions(ctx);
		if (order == ADW_STEP_CANCEL)
			return -1;
		if (order == ADW_STEP_PAUSE && ctx->pause) {
			long long t0 = now_ms();

			left = end - t0;
			if (ctx->pause(ctx->emit_ud) != ADW_STEP_RUN)
				return -1;
			end = now_ms() + (left > 0 ? left : 0);
			if (*deadline)
				*deadline += now_ms() - t0;
			continue;
		}
		left = end - now_ms();
		if (left <= 0)
			return *deadline && now_ms() >= *deadline ? -2 : 0;
		if (poll(&p, p.fd >= 0 ? 1 : 0,
			 (int)(left < ADW_STEP_TICK_MS ? left : ADW_STEP_TICK_MS)) < 0 &&
		    errno != EINTR)
			return 0;
	}
}

/*
 * The "[dry-run:ask=Question?|option|option]" marker: asks in the plan
 * step (or "[dry-run:ask_step=STEP]"), with "[dry-run:ask_default=TEXT]"
 * as the default. Returns 0 with *answer (caller frees; NULL when nothing
 * was asked), or -1 with res->error set.
 */
static int ask_marker(const struct adw_step_ctx *ctx, struct adw_step_result *res, char **answer)
{
	char *spec = marker(ctx->user_prompt, "ask");
	char *step = marker(ctx->user_prompt, "ask_step");
	char *def = marker(ctx->user_prompt, "ask_default");
	const char *opts[ADW_QUESTION_OPTIONS_MAX];
	struct adw_question_req q = {.default_answer = def};
	char *why = NULL, *p, *save = NULL;
	cJSON *payload;
	int rc = 0;

	*answer = NULL;
	if (!spec || strcmp(ctx->step, step ? step : "plan") != 0 || !ctx->ask)
		goto out;
	q.question = strtok_r(spec, "|", &save);
	while ((p = strtok_r(NULL, "|", &save)) && q.noptions < ADW_QUESTION_OPTIONS_MAX)
		opts[q.noptions++] = p;
	q.options = q.noptions ? opts : NULL;
	q.context =
	    "Asked by the dry-run runtime because the prompt has a [dry-run:ask=...] marker.";
	payload = dry_payload(ctx);
	cJSON_AddStringToObject(payload, "tool_name", "ask_user");
	cJSON_AddStringToObject(payload, "question", q.question ? q.question : "");
	emit(ctx, ADW_CAT_RESPONSE, "ToolUseBlock", "[Tool] ask_user", payload);
	if (!q.question) {
		res->error = adw_xstrdup("dry run: the ask marker has no question");
		rc = -1;
	} else if (ctx->ask(ctx->emit_ud, &q, answer, &why) < 0) {
		res->error = adw_xasprintf("dry run: the question was not answered: %s",
					   why ? why : "unknown reason");
		rc = -1;
	} else {
		char *msg = adw_xasprintf("Dry run: the user answered: %s", *answer);

		payload = dry_payload(ctx);
		cJSON_AddStringToObject(payload, "text", msg);
		cJSON_AddStringToObject(payload, "answer", *answer);
		emit(ctx, ADW_CAT_RESPONSE, "TextBlock", msg, payload);
		free(msg);
	}
out:
	free(why);
	free(spec);
	free(step);
	free(def);
	return rc;
}

static char *first_line(const char *s, size_t max)
{
	size_t n = strcspn(s, "\n");

	if (n > max)
		n = max;
	return adw_xstrndup(s, n);
}

static char *plan_text(const struct adw_step_ctx *ctx, const char *answer)
{
	char *title = first_line(ctx->user_prompt, 80);
	char *s = adw_xasprintf(
	    "# Plan: %s\n\n"
	    "> Written by the adw dry-run runtime: no model ran. This is a skeleton built\n"
	    "> from the task text so that the workflow can run end to end.\n\n"
	    "## Task Description\n%s\n\n"
	    "## Objective\nComplete the task above in `%s`.\n\n"
	    "## Relevant Files\nTo be found by a real agent.\n\n### New Files\nNone known.\n\n"
	    "## Step by Step Tasks\n\n### 1. Understand the task\nRead the task description.\n\n"
	    "### 2. Implement\nMake the change.\n\n### 3. Validate\nRun the validation "
	    "commands.\n\n"
	    "## Acceptance Criteria\n- The task description is satisfied.\n\n"
	    "## Validation Commands\n- (none: dry run)\n\n"
	    "## Notes\nADW %s (%s).\n%s%s%s",
	    title, ctx->user_prompt, ctx->working_dir, ctx->adw_name, ctx->adw_id,
	    answer ? "\n## Decisions\n- The user answered: " : "", answer ? answer : "",
	    answer ? "\n" : "");

	free(title);
	return s;
}

static char *review_text(const struct adw_step_ctx *ctx, bool fail)
{
	return adw_xasprintf(
	    "# Review: %s\n\n"
	    "- Generated: by the adw dry-run runtime (no model ran)\n"
	    "- Reviewed Work: ADW %s (%s)\n"
	    "- Plan Reference: %s\n\n"
	    "## Executive Summary\nA dry run does not inspect code; this report exists so that "
	    "the\n"
	    "workflow's review contract can be exercised.%s\n\n"
	    "## Final Verdict\n%s\n\nVERDICT: %s\n",
	    ctx->adw_name, ctx->adw_name, ctx->adw_id, ctx->plan_path ? ctx->plan_path : "(none)",
	    fail ? " The prompt asked for a failing review ([dry-run:review=fail])." : "",
	    fail ? "FAIL: one simulated BLOCKER." : "PASS: nothing to review in a dry run.",
	    fail ? "FAIL" : "PASS");
}

static char *fix_text(const struct adw_step_ctx *ctx)
{
	return adw_xasprintf("# Fix report: %s\n\n"
			     "Status: ALL FIXED (dry run: no model ran, no code changed)\n\n"
			     "- Review report: %s\n- Plan: %s\n",
			     ctx->adw_name, ctx->review_path ? ctx->review_path : "(none)",
			     ctx->plan_path ? ctx->plan_path : "(none)");
}

static int write_artifact(const struct adw_step_ctx *ctx, const char *text,
			  struct adw_step_result *res)
{
	FILE *f;
	cJSON *input, *p;

	p = dry_payload(ctx);
	cJSON_AddStringToObject(p, "tool_name", "Write");
	input = cJSON_AddObjectToObject(p, "tool_input");
	cJSON_AddStringToObject(input, "file_path", ctx->artifact);
	cJSON_AddNumberToObject(input, "bytes", (double)strlen(text));
	emit(ctx, ADW_CAT_RESPONSE, "ToolUseBlock", "[Tool] Write", cJSON_Duplicate(p, 1));
	emit(ctx, ADW_CAT_HOOK, "PreToolUse", "Using tool: Write", cJSON_Duplicate(p, 1));
	if (mkdirs_for(ctx->artifact) < 0 || !(f = fopen(ctx->artifact, "w"))) {
		res->error = adw_xasprintf("cannot write '%s': %s", ctx->artifact, strerror(errno));
		cJSON_AddBoolToObject(p, "is_error", 1);
		emit(ctx, ADW_CAT_HOOK, "PostToolUse", "PostToolUse: Write", p);
		return -1;
	}
	fputs(text, f);
	if (fclose(f) != 0) {
		res->error = adw_xasprintf("cannot write '%s'", ctx->artifact);
		cJSON_Delete(p);
		return -1;
	}
	cJSON_AddBoolToObject(p, "is_error", 0);
	emit(ctx, ADW_CAT_HOOK, "PostToolUse", "PostToolUse: Write", p);
	return 0;
}

/*
 * The step's delay, spending the [dry-run:cost=USD] marker's cost in four
 * equal parts, one after each quarter of it, and stopping at the budget
 * (ctx->budget_usd) as the CLI does: then ctx->over_budget() decides.
 * Returns as steered_wait(), or -3 when the step must stop at the budget.
 */
static int spend(const struct adw_step_ctx *ctx, long ms, double cost, long long *deadline,
		 struct adw_step_result *res)
{
	bool limited = ctx->budget_usd > 0;
	int rc = 0;

	if (cost <= 0)
		return steered_wait(ctx, ms, deadline);
	for (int part = 0; part < 4 && rc == 0; part++) {
		rc = steered_wait(ctx, ms / 4 + (part == 3 ? ms % 4 : 0), deadline);
		if (rc < 0)
			continue;
		res->cost_usd += cost / 4;
		if (limited && res->cost_usd >= ctx->budget_usd) {
			long long t0 = now_ms();
			enum adw_step_order order =
			    ctx->over_budget ? ctx->over_budget(ctx->emit_ud, res->cost_usd)
					     : ADW_STEP_CANCEL;

			if (*deadline)
				*deadline += now_ms() - t0;
			if (order != ADW_STEP_RUN)
				rc = -3;
			limited = false;
		}
	}
	return rc;
}

int adw_dryrun_run_step(const struct adw_step_ctx *ctx, struct adw_step_result *res)
{
	char *delay = marker(ctx->user_prompt, "delay");
	char *review = marker(ctx->user_prompt, "review");
	char *failstep = marker(ctx->user_prompt, "fail");
	char *cost = marker(ctx->user_prompt, "cost");
	char *text = NULL, *msg = NULL, *answer = NULL;
	cJSON *p;
	long ms = delay ? strtol(delay, NULL, 10) : 0;
	double usd = cost ? strtod(cost, NULL) : 0; /* 0 < usd <= 1000, else no cost (NaN too) */
	long long deadline = ctx->timeout_ms > 0  ? now_ms() + ctx->timeout_ms
			     : ctx->timeout_s > 0 ? now_ms() + ctx->timeout_s * 1000LL
						  : 0;
	int waited;

	memset(res, 0, sizeof(*res));
	res->session_id = adw_xstrdup(ctx->session_id);
	msg = adw_xasprintf("dry run: no model ran; performing the %s step's contract", ctx->step);
	emit(ctx, ADW_CAT_SYSTEM, "SystemInfo", msg, dry_payload(ctx));
	free(msg);
	msg = NULL;
	if ((waited = spend(ctx, ms > 0 && ms <= 600000 ? ms : 0, usd > 0 && usd <= 1000 ? usd : 0,
			    &deadline, res)) < 0) {
		res->error = waited == -3 ? adw_xasprintf("dry run: the cost budget of $%g is "
							  "spent ($%.4f)",
							  ctx->budget_usd, res->cost_usd)
			     : waited == -2
				 ? adw_xasprintf("step timed out after %d s", ctx->timeout_s)
				 : adw_xstrdup("step cancelled");
		if (waited == -3)
			res->subtype = adw_xstrdup("error_max_budget_usd");
	} else if (ask_marker(ctx, res, &answer) < 0) {
		/* res->error says why */
	} else if (steered_wait(ctx, 0, &deadline) == -1) {
		res->error = adw_xstrdup("step cancelled");
	} else if (failstep && strcmp(failstep, ctx->step) == 0) {
		res->error =
		    adw_xasprintf("dry run: step '%s' failed as the prompt asked", ctx->step);
	} else if (strcmp(ctx->step, "plan") == 0 && ctx->artifact) {
		text = plan_text(ctx, answer);
		if (write_artifact(ctx, text, res) == 0)
			msg = adw_xasprintf("Dry run: wrote a plan skeleton to %s.", ctx->artifact);
	} else if (strcmp(ctx->step, "review") == 0 && ctx->artifact) {
		bool fail = review && strcmp(review, "fail") == 0;

		text = review_text(ctx, fail);
		if (write_artifact(ctx, text, res) == 0)
			msg = adw_xasprintf(
			    "Dry run: wrote the review report to %s with VERDICT: %s.",
			    ctx->artifact, fail ? "FAIL" : "PASS");
	} else if (strcmp(ctx->step, "fix") == 0 && ctx->artifact) {
		text = fix_text(ctx);
		if (write_artifact(ctx, text, res) == 0)
			msg = adw_xasprintf("Dry run: wrote the fix report to %s; no code changed.",
					    ctx->artifact);
	} else {
		msg =
		    adw_xasprintf("Dry run: the %s step was asked to work on plan %s; no model ran "
				  "and no files were changed.",
				  ctx->step, ctx->plan_path ? ctx->plan_path : "(none)");
	}
	if (msg) {
		p = dry_payload(ctx);
		cJSON_AddStringToObject(p, "text", msg);
		emit(ctx, ADW_CAT_RESPONSE, "TextBlock", msg, p);
		res->ok = true;
		res->result_text = msg;
		msg = NULL;
	}
	if (!res->subtype)
		res->subtype = adw_xstrdup(res->ok ? "success" : "error_during_execution");
	p = dry_payload(ctx);
	cJSON_AddStringToObject(p, "subtype", res->subtype);
	cJSON_AddBoolToObject(p, "is_error", !res->ok);
	cJSON_AddNumberToObject(p, "total_cost_usd", res->cost_usd);
	{
		cJSON *usage = cJSON_AddObjectToObject(p, "usage");

		cJSON_AddNumberToObject(usage, "input_tokens", 0);
		cJSON_AddNumberToObject(usage, "output_tokens", 0);
	}
	if (res->error)
		cJSON_AddStringToObject(p, "error", res->error);
	emit(ctx, ADW_CAT_RESPONSE, "Result", res->ok ? "dry run step done" : res->error, p);
	free(text);
	free(msg);
	free(answer);
	free(delay);
	free(review);
	free(failstep);
	free(cost);
	return 0;
}
