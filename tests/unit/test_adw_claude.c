/* SPDX-License-Identifier: MIT */
/* The claude runtime against tests/fake/claude: no real CLI, no network. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adw_build.h"
#include "adw_claude.h"
#include "testlib.h"

#define SID "6f1c0c6e-2b1a-4c44-9f55-0b6a8c1d2e3f"

struct seen {
	enum adw_event_category cat;
	char *type;
	char *content;
	cJSON *payload;
};

struct collector {
	struct seen ev[128];
	size_t n;
};

static int collect(void *ud, struct adw_event *ev)
{
	struct collector *c = ud;
	struct seen *s;

	if (c->n == 128)
		return -1;
	s = &c->ev[c->n++];
	s->cat = ev->category;
	s->type = strdup(ev->type);
	s->content = ev->content ? strdup(ev->content) : NULL;
	s->payload = ev->payload ? cJSON_Duplicate(ev->payload, 1) : NULL;
	return 0;
}

/* One test's world: a temp working dir, a config and a step context. */
static char dir[PATH_MAX];
static char fake[PATH_MAX];
static char artifact[PATH_MAX + 32];
static struct adw_config cfg;
static struct adw_step_ctx ctx;
static struct adw_step_result res;
static struct collector col;

static void setup(void)
{
	const char *root = getenv("ADW_DATA_DIR");
	char tmpl[] = "/tmp/adw-claude-test-XXXXXX";

	snprintf(fake, sizeof(fake), "%s/tests/fake/claude", root ? root : ADW_SOURCE_ROOT);
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	ck_assert_ptr_nonnull(realpath(tmpl, dir));
	memset(&cfg, 0, sizeof(cfg));
	memset(&ctx, 0, sizeof(ctx));
	memset(&res, 0, sizeof(res));
	memset(&col, 0, sizeof(col));
	cfg.claude_bin = fake;
	ctx.cfg = &cfg;
	ctx.adw_id = "00000000-0000-4000-8000-000000000001";
	ctx.adw_name = "greet";
	ctx.step = "build";
	ctx.prompt = "/build add a greet function";
	ctx.working_dir = dir;
	ctx.session_id = SID;
	ctx.emit = collect;
	ctx.emit_ud = &col;
	unsetenv("FAKE_CLAUDE_SCENARIO");
	unsetenv("FAKE_CLAUDE_DELAY_MS");
	unsetenv("FAKE_CLAUDE_ARGS_LOG");
	unsetenv("FAKE_CLAUDE_STDIN_LOG");
	unsetenv("FAKE_CLAUDE_PIDS_FILE");
}

static void teardown(void)
{
	adw_step_result_release(&res);
	for (size_t i = 0; i < col.n; i++) {
		free(col.ev[i].type);
		free(col.ev[i].content);
		cJSON_Delete(col.ev[i].payload);
	}
	testlib_rm_tree(dir);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static const char *last_line(char *text)
{
	size_t n = strlen(text);
	char *nl;

	while (n && text[n - 1] == '\n')
		text[--n] = '\0';
	nl = strrchr(text, '\n');
	return nl ? nl + 1 : text;
}

static int starts_with(const char *s, const char *prefix)
{
	return s && !strncmp(s, prefix, strlen(prefix));
}

static size_t count_type(const char *type)
{
	size_t k = 0;

	for (size_t i = 0; i < col.n; i++)
		k += !strcmp(col.ev[i].type, type);
	return k;
}

static const struct seen *find_type(const char *type)
{
	for (size_t i = 0; i < col.n; i++) {
		if (!strcmp(col.ev[i].type, type))
			return &col.ev[i];
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Alive = exists and is not a zombie. */
static int alive(pid_t pid)
{
	char path[64], state = 0;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	rc = fscanf(f, "%*d (%*[^)]) %c", &state);
	fclose(f);
	return rc == 1 && state != 'Z' && state != 'X';
}

START_TEST(test_success_plan)
{
	static const char *const order[] = {
	    "SystemInfo",      "ThinkingBlock", "TextBlock",	"ToolUseBlock", "PreToolUse",
	    "ToolResultBlock", "PostToolUse",	"ToolUseBlock", "PreToolUse",	"ToolResultBlock",
	    "PostToolUse",     "TextBlock",	"Result",	"Stop",
	};
	char log[PATH_MAX + 16], prompt[PATH_MAX + 128], inlog[PATH_MAX + 16];
	char *args, *plan, *input;
	cJSON *argv, *expect, *msg;
	const struct seen *init;

	snprintf(artifact, sizeof(artifact), "%s/specs/greet.md", dir);
	snprintf(prompt, sizeof(prompt), "/plan add a greet function\n\nOutput file: %s\n",
		 artifact);
	snprintf(log, sizeof(log), "%s/args.log", dir);
	setenv("FAKE_CLAUDE_ARGS_LOG", log, 1);
	snprintf(inlog, sizeof(inlog), "%s/stdin.log", dir);
	setenv("FAKE_CLAUDE_STDIN_LOG", inlog, 1);
	ctx.step = "plan";
	ctx.prompt = prompt;
	ctx.model = "sonnet";
	ctx.artifact = artifact;

	ck_assert_int_eq(adw_claude_run_step(&ctx, &res), 0);
	ck_assert_msg(res.ok, "error: %s", res.error);
	ck_assert_ptr_null(res.error);
	ck_assert_uint_eq(col.n, sizeof(order) / sizeof(order[0]));
	for (size_t i = 0; i < col.n; i++)
		ck_assert_str_eq(col.ev[i].type, order[i]);
	init = &col.ev[0];
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(init->payload, "cwd")), dir);
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(init->payload, "model")),
			 "claude-sonnet-4-5-20250929");
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(col.ev[7].payload, "tool_name")),
			 "Write");
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(col.ev[10].payload, "tool_name")),
			 "Write");
	ck_assert_str_eq(col.ev[13].content, "Agent stopped: completed");

	ck_assert_str_eq(res.session_id, SID);
	ck_assert_str_eq(res.subtype, "success");
	ck_assert_ptr_nonnull(strstr(res.result_text, artifact));
	ck_assert_int_eq(res.input_tokens, 18);
	ck_assert_int_eq(res.output_tokens, 294);
	ck_assert_double_eq_tol(res.cost_usd, 0.0205089, 1e-9);
	ck_assert_int_eq(res.num_turns, 3);
	ck_assert_int_eq(res.duration_ms, 7205);

	plan = slurp(artifact);
	ck_assert_ptr_nonnull(plan);
	ck_assert_int_eq(strncmp(plan, "# Plan: add a greet function", 28), 0);
	free(plan);

	args = slurp(log);
	ck_assert_ptr_nonnull(args);
	argv = cJSON_Parse(args);
	expect = cJSON_CreateArray();
	{
		const char *want[] = {
		    "-p",
		    "--input-format",
		    "stream-json",
		    "--output-format",
		    "stream-json",
		    "--verbose",
		    "--session-id",
		    SID,
		    "--permission-mode",
		    "acceptEdits",
		    "--allowedTools",
		    "Read,Glob,Grep,Bash,Write,Edit,Task,TodoWrite,WebFetch,WebSearch",
		    "--model",
		    "sonnet",
		};

		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			cJSON_AddItemToArray(expect, cJSON_CreateString(want[i]));
	}
	ck_assert_msg(cJSON_Compare(argv, expect, 1), "argv was %s", args);
	cJSON_Delete(argv);
	cJSON_Delete(expect);
	free(args);

	/* The prompt went in as the one stream-json user message (§1.4). */
	input = slurp(inlog);
	ck_assert_ptr_nonnull(input);
	ck_assert_ptr_nonnull(strchr(input, '\n'));
	ck_assert_str_eq(strchr(input, '\n'), "\n"); /* one line: the prompt, nothing else */
	msg = cJSON_Parse(input);
	ck_assert_str_eq(cJSON_GetObjectItem(msg, "type")->valuestring, "user");
	ck_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(msg, "message"), "content")->valuestring,
	    prompt);
	ck_assert_str_eq(cJSON_GetObjectItem(msg, "session_id")->valuestring, SID);
	cJSON_Delete(msg);
	free(input);
	unsetenv("FAKE_CLAUDE_STDIN_LOG");
}
END_TEST

static void run_review(const char *marker, const char *verdict)
{
	char log[PATH_MAX + 16], prompt[PATH_MAX + 256];
	char *report, *args;

	snprintf(artifact, sizeof(artifact), "%s/app_review/review_1.md", dir);
	snprintf(prompt, sizeof(prompt),
		 "Review the change against the plan. %s\nEnd the report with a line "
		 "'VERDICT: PASS' or 'VERDICT: FAIL'.\nOutput file: %s\n",
		 marker, artifact);
	snprintf(log, sizeof(log), "%s/args.log", dir);
	setenv("FAKE_CLAUDE_ARGS_LOG", log, 1);
	ctx.step = "review";
	ctx.prompt = prompt;
	ck_assert_int_eq(adw_claude_run_step(&ctx, &res), 0);
	ck_assert_msg(res.ok, "error: %s", res.error);
	report = slurp(artifact);
	ck_assert_ptr_nonnull(report);
	ck_assert_str_eq(last_line(report), verdict);
	free(report);
	ck_assert_ptr_nonnull(strstr(res.result_text, verdict));
	args = slurp(log);
	ck_assert_ptr_nonnull(strstr(args, "\"--allowedTools\",\"Read,Glob,Grep,Bash,Write\"]"));
	free(args);
}

START_TEST(test_review_pass)
{
	run_review("", "VERDICT: PASS");
}
END_TEST

START_TEST(test_review_fail)
{
	run_review("[fake:review_fail]", "VERDICT: FAIL");
}
END_TEST

START_TEST(test_fix_and_build)
{
	char prompt[PATH_MAX + 128];
	char *report;

	snprintf(artifact, sizeof(artifact), "%s/app_fix_reports/fix_1.md", dir);
	snprintf(prompt, sizeof(prompt), "/fix the review's issues\nOutput file: %s\n", artifact);
	ctx.step = "fix";
	ctx.prompt = prompt;
	ck_assert_int_eq(adw_claude_run_step(&ctx, &res), 0);
	ck_assert(res.ok);
	report = slurp(artifact);
	ck_assert_ptr_nonnull(report);
	ck_assert_int_eq(strncmp(report, "# Fix report", 12), 0);
	free(report);
	adw_step_result_release(&res);

	/* No output file: the agent only answers. */
	ctx.step = "build";
	ctx.prompt = "/build specs/greet.md";
	ck_assert_int_eq(adw_claude_run_step(&ctx, &res), 0);
	ck_assert(res.ok);
	ck_assert_int_eq(res.num_turns, 2);
	ck_assert_int_eq(res.input_tokens, 14);
}
END_TEST

START_TEST(test_api_error)
{
	ctx.prompt = "/build it [fake:api_error]";
	ck_assert_int_eq(adw_claude_run_step(&ctx, &res), 0);
	ck_assert(!res.ok);
	ck_assert_msg(starts_with(res.error, "claude reported an error (api_error_status 529): "
					     "API Error: 529 "),
		      "error: %s", res.error);
	ck_assert_str_eq(res.subtype, "success");
	ck_assert_ptr_nonnull(find_type("Result"));
}
END_TEST

START_TEST(test_max_turns)
{
	setenv("FAKE_CLAUDE_SCENARIO", "max_turns", 1);
	ck_assert_int_eq(adw_claude_run_step(&ctx, &res), 0);
	ck_assert(!res.ok);
	ck_assert_str_eq(res.error, "claude: error_max_turns: Reached maximum number of turns (1)");
	ck_assert_int_eq(res.num_turns, 2);
	ck_assert_uint_eq(count_type("PostToolUse"), 1);
}
END_TEST

/* ctx->over_budget of the budget tests: counts calls, answers with *order. */
static int budget_calls;
static double budget_spent;
static enum adw_step_order budget_order;

static enum adw_step_order over_budget(void *ud, double spent)
{
	(void)ud;
	budget_calls++;
	budget_spent = spent;
	return budget_order;
}

/* Runs the build step with a budget of one turn; returns the fake's argv lines. */
static char *run_with_budget(enum adw_step_order order)
{
	char log[PATH_MAX + 16];

	snprintf(log, sizeof(log), "%s/args.log", dir);
	setenv("FAKE_CLAUDE_ARGS_LOG", log, 1);
	budget_calls = 0;
	budget_order = order;
	ctx.prompt = "/build add a greet function [fake:turn_cost=0.002]";
	ctx.budget_usd = 0.0015;
	ctx.over_budget = over_budget;
	ck_assert_int_eq(adw_claude_run_step(&ctx, &res), 0);
	ck_assert_int_eq(budget_calls, 1);
	ck_assert_double_eq_tol(budget_spent, 0.002, 1e-9);
	return slurp(log);
}

START_TEST(test_budget_stop)
{
	char *args = run_with_budget(ADW_STEP_CANCEL);

	/* The CLI got the budget and stopped after the turn that crossed it. */
	ck_assert_ptr_nonnull(strstr(args, "\"--max-budget-usd\",\"0.001500\""));
	ck_assert_ptr_null(strchr(strchr(args, '\n') + 1, '\n')); /* one process */
	ck_assert(!res.ok);
	ck_assert_str_eq(res.subtype, "error_max_budget_usd");
	ck_assert_str_eq(res.error,
			 "claude: error_max_budget_usd: Reached maximum budget ($0.0015)");
	ck_assert_double_eq_tol(res.cost_usd, 0.002, 1e-9);
	ck_assert_uint_eq(count_type("Result"), 1);
	free(args);
}
END_TEST

START_TEST(test_budget_continue)
{
	char *args = run_with_budget(ADW_STEP_RUN), *second;

	/* Told to go on: the same session resumed, with no budget. */
	ck_assert_msg(res.ok, "error: %s", res.error);
	second = strchr(args, '\n') + 1;
	ck_assert_ptr_nonnull(strstr(second, "\"--resume\",\"" SID "\""));
	ck_assert_ptr_null(strstr(second, "--max-budget-usd"));
	ck_assert_uint_eq(count_type("Result"), 2);
	ck_assert_double_gt(res.cost_usd, 0.002);
	free(args);
}
END_TEST

START_TEST(test_crash)
{
	ctx.prompt = "[fake:crash] /build it";
	ck_assert_int_eq(adw_claude_run_step(&ctx, &res), 0);
	ck_assert(!res.ok);
	ck_assert_msg(starts_with(res.error, "claude exited with status 3 without a result: "),
		      "error: %s", res.error);
	ck_assert_ptr_nonnull(strstr(res.error, "fake claude crashed after init"));
	ck_assert_uint_eq(count_type("SystemInfo"), 1);
	ck_assert_ptr_null(find_type("Result"));
}
END_TEST

START_TEST(test_cli_rejects)
{
	setenv("FAKE_CLAUDE_SCENARIO", "no_such_scenario", 1);
	ck_assert_int_eq(adw_claude_run_step(&ctx, &res), 0);
	ck_assert(!res.ok);
	ck_assert_str_eq(res.error, "claude exited with status 2 without a result: "
				    "fake claude: unknown scenario 'no_such_scenario'");
	ck_assert_uint_eq(col.n, 0);
}
END_TEST

START_TEST(test_timeout_kills_group)
{
	char pids_path[PATH_MAX + 16];
	char *pids;
	int leader = 0, child = 0;
	double t0, took;

	snprintf(pids_path, sizeof(pids_path), "%s/pids", dir);
	setenv("FAKE_CLAUDE_PIDS_FILE", pids_path, 1);
	ctx.prompt = "/build it [fake:slow]";
	ctx.timeout_s = 1;
	t0 = now_s();
	ck_assert_int_eq(adw_claude_run_step(&ctx, &res), 0);
	took = now_s() - t0;
	ck_assert(!res.ok);
	ck_assert_str_eq(res.error, "step timed out after 1 s");
	ck_assert_msg(took < 4.0, "took %.1f s", took);
	ck_assert_ptr_nonnull(find_type("SystemWarning"));
	pids = slurp(pids_path);
	ck_assert_ptr_nonnull(pids);
	ck_assert_int_eq(sscanf(pids, "%d %d", &leader, &child), 2);
	free(pids);
	ck_assert(!alive(leader));
	/* The tool's process in the same group goes too (init reaps it). */
	for (int i = 0; i < 40 && alive(child); i++)
		usleep(50 * 1000);
	ck_assert_msg(!alive(child), "child %d survived", child);
}
END_TEST

static void on_alarm(int sig)
{
	(void)sig;
	adw_claude_cancel();
}

START_TEST(test_cancel)
{
	double t0 = now_s();

	signal(SIGALRM, on_alarm);
	alarm(1);
	ctx.prompt = "/build it [fake:slow]";
	ck_assert_int_eq(adw_claude_run_step(&ctx, &res), 0);
	ck_assert(!res.ok);
	ck_assert_str_eq(res.error, "step cancelled");
	ck_assert(now_s() - t0 < 4.0);
	adw_step_result_release(&res);
	/* Sticky: the next step does not start. */
	ck_assert_int_eq(adw_claude_run_step(&ctx, &res), 0);
	ck_assert(!res.ok);
	ck_assert_str_eq(res.error, "step cancelled");
}
END_TEST

START_TEST(test_garbage_and_big)
{
	const struct seen *r;

	ctx.prompt = "/build it [fake:garbage]";
	ck_assert_int_eq(adw_claude_run_step(&ctx, &res), 0);
	ck_assert_msg(res.ok, "error: %s", res.error);
	ck_assert_uint_eq(count_type("SystemWarning"), 1);
	ck_assert_uint_eq(count_type("SystemInfo"), 5);
	adw_step_result_release(&res);

	/* A ~20 MB stdout line through the pipe. */
	ctx.prompt = "/build it [fake:big]";
	ck_assert_int_eq(adw_claude_run_step(&ctx, &res), 0);
	ck_assert_msg(res.ok, "error: %s", res.error);
	r = find_type("ToolResultBlock");
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(strlen(r->content), 4003);
}
END_TEST

START_TEST(test_dash_prompt)
{
	ctx.prompt = "-- a prompt that starts like a flag";
	ck_assert_int_eq(adw_claude_run_step(&ctx, &res), 0);
	ck_assert_msg(res.ok, "error: %s", res.error);
}
END_TEST

START_TEST(test_cannot_start)
{
	static char missing[] = "/nonexistent/claude", unknown[] = "adw-no-such-claude";

	cfg.claude_bin = missing;
	ck_assert_int_eq(adw_claude_run_step(&ctx, &res), -1);
	ck_assert(!res.ok);
	ck_assert_str_eq(res.error,
			 "cannot start claude: '/nonexistent/claude' is not an executable");
	adw_step_result_release(&res);

	cfg.claude_bin = unknown;
	ck_assert_int_eq(adw_claude_run_step(&ctx, &res), -1);
	ck_assert_str_eq(res.error, "cannot start claude: 'adw-no-such-claude' not found on PATH");
	adw_step_result_release(&res);

	cfg.claude_bin = fake;
	ctx.working_dir = "/nonexistent/dir";
	ck_assert_int_eq(adw_claude_run_step(&ctx, &res), -1);
	ck_assert_ptr_nonnull(strstr(res.error, "working dir '/nonexistent/dir'"));
	ck_assert_uint_eq(col.n, 0);
}
END_TEST

START_TEST(test_allowed_tools)
{
	ck_assert_str_eq(adw_claude_allowed_tools("plan"),
			 "Read,Glob,Grep,Bash,Write,Edit,Task,TodoWrite,WebFetch,WebSearch");
	ck_assert_str_eq(adw_claude_allowed_tools("build"), adw_claude_allowed_tools("plan"));
	ck_assert_str_eq(adw_claude_allowed_tools("docs"), adw_claude_allowed_tools("plan"));
	ck_assert_str_eq(adw_claude_allowed_tools("review"), "Read,Glob,Grep,Bash,Write");
	ck_assert_str_eq(adw_claude_allowed_tools("fix"),
			 "Read,Glob,Grep,Bash,Write,Edit,Task,TodoWrite");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("adw_claude");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_success_plan);
	tcase_add_test(tc, test_review_pass);
	tcase_add_test(tc, test_review_fail);
	tcase_add_test(tc, test_fix_and_build);
	tcase_add_test(tc, test_api_error);
	tcase_add_test(tc, test_max_turns);
	tcase_add_test(tc, test_crash);
	tcase_add_test(tc, test_cli_rejects);
	tcase_add_test(tc, test_timeout_kills_group);
	tcase_add_test(tc, test_garbage_and_big);
	tcase_add_test(tc, test_dash_prompt);
	tcase_add_test(tc, test_cannot_start);
	tcase_add_test(tc, test_allowed_tools);
	tcase_add_test(tc, test_budget_stop);
	tcase_add_test(tc, test_budget_continue);
	/* Last: the cancel flag is sticky within a process (CK_FORK=no). */
	tcase_add_test(tc, test_cancel);
	suite_add_tcase(s, tc);
	return testlib_run(s);
}
