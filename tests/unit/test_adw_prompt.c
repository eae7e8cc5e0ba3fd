/* SPDX-License-Identifier: MIT */
/* Tests of adws/adw_prompt: rendering {{placeholders}} and the shipped templates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adw_config.h"
#include "adw_prompt.h"
#include "testlib.h"

#define NVARS(v) ((int)(sizeof(v) / sizeof((v)[0])))

/* Renders tmpl that must succeed; returns the text (caller frees). */
static char *render_ok(const char *tmpl, const struct adw_prompt_var *vars, int n)
{
	struct adw_err err = {0};
	char *out = NULL;

	ck_assert_msg(adw_prompt_render(tmpl, vars, n, &out, &err) == 0, "render '%s': %s", tmpl,
		      err.msg);
	ck_assert_ptr_nonnull(out);
	return out;
}

START_TEST(test_render_basic)
{
	const struct adw_prompt_var vars[] = {
	    {"prompt", "Add a flag"},
	    {"adw_name", "add-a-flag"},
	    {"step", "plan"},
	};
	char *out;

	out = render_ok("Task: {{prompt}} ({{adw_name}}, step {{step}})", vars, NVARS(vars));
	ck_assert_str_eq(out, "Task: Add a flag (add-a-flag, step plan)");
	free(out);
	/* The same placeholder may appear several times; text without any is copied. */
	out = render_ok("{{step}}{{step}}-{{ step }}", vars, NVARS(vars));
	ck_assert_str_eq(out, "planplan-plan");
	free(out);
	out = render_ok("no placeholders here", vars, NVARS(vars));
	ck_assert_str_eq(out, "no placeholders here");
	free(out);
	out = render_ok("", vars, NVARS(vars));
	ck_assert_str_eq(out, "");
	free(out);
	out = render_ok("{{prompt}}", vars, NVARS(vars));
	ck_assert_str_eq(out, "Add a flag");
	free(out);
}
END_TEST

START_TEST(test_render_spaces_in_braces)
{
	const struct adw_prompt_var vars[] = {{"prompt", "P"}, {"step", "S"}};
	char *out = render_ok("[{{ prompt }}] [{{   step}}] [{{prompt   }}]", vars, NVARS(vars));

	ck_assert_str_eq(out, "[P] [S] [P]");
	free(out);
}
END_TEST

START_TEST(test_render_null_value)
{
	const struct adw_prompt_var vars[] = {{"plan_path", NULL}, {"step", "build"}};
	char *out = render_ok("Plan file: {{plan_path}}; step {{step}}", vars, NVARS(vars));

	ck_assert_str_eq(out, "Plan file: (none); step build");
	free(out);
}
END_TEST

START_TEST(test_render_values_not_reexpanded)
{
	/* A value holding "{{...}}" (a user's prompt) is inserted as is, never expanded. */
	const struct adw_prompt_var vars[] = {{"prompt", "use {{step}} and {{nope}} and {{"},
					      {"step", "S"}};
	char *out = render_ok("<{{prompt}}> {{step}}", vars, NVARS(vars));

	ck_assert_str_eq(out, "<use {{step}} and {{nope}} and {{> S");
	free(out);
}
END_TEST

START_TEST(test_render_single_braces_kept)
{
	const struct adw_prompt_var vars[] = {{"x", "X"}};
	char *out =
	    render_ok("json {\"a\": {\"b\": 1}} and {x} and }} and {{x}}", vars, NVARS(vars));

	ck_assert_str_eq(out, "json {\"a\": {\"b\": 1}} and {x} and }} and X");
	free(out);
}
END_TEST

START_TEST(test_render_unknown_placeholder)
{
	const struct adw_prompt_var vars[] = {{"prompt", "P"}};
	struct adw_err err = {0};
	char *out = NULL;

	ck_assert_int_eq(adw_prompt_render("A {{prompt}} then {{ artifact_pth }} end", vars,
					   NVARS(vars), &out, &err),
			 -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_msg(strstr(err.msg, "artifact_pth") != NULL, "%s", err.msg);
	ck_assert_ptr_null(out);
	/* A prefix of a known name is not that name. */
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(adw_prompt_render("{{prompt_x}}", vars, NVARS(vars), &out, &err), -1);
	ck_assert_msg(strstr(err.msg, "prompt_x") != NULL, "%s", err.msg);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(adw_prompt_render("{{promp}}", vars, NVARS(vars), &out, &err), -1);
	ck_assert_msg(strstr(err.msg, "promp") != NULL, "%s", err.msg);
	/* Names are case-sensitive. */
	ck_assert_int_eq(adw_prompt_render("{{PROMPT}}", vars, NVARS(vars), &out, &err), -1);
	ck_assert_msg(strstr(err.msg, "PROMPT") != NULL, "%s", err.msg);
	/* No variables at all. */
	ck_assert_int_eq(adw_prompt_render("{{prompt}}", NULL, 0, &out, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_ptr_null(out);
}
END_TEST

START_TEST(test_render_unterminated)
{
	const struct adw_prompt_var vars[] = {{"prompt", "P"}};
	struct adw_err err = {0};
	char *out = NULL;

	ck_assert_int_eq(
	    adw_prompt_render("before {{prompt}} after {{prompt", vars, NVARS(vars), &out, &err),
	    -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_msg(strstr(err.msg, "unterminated") != NULL, "%s", err.msg);
	ck_assert_ptr_null(out);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(adw_prompt_render("{{", vars, NVARS(vars), &out, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_ptr_null(out);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(adw_prompt_render("{{prompt}", vars, NVARS(vars), &out, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_ptr_null(out);
}
END_TEST

START_TEST(test_render_large_value)
{
	/* A prompt of 256 KiB (the store's limit) renders whole. */
	size_t len = 256 * 1024;
	char *big = adw_xmalloc(len + 1);
	const struct adw_prompt_var vars[] = {{"prompt", big}};
	char *out;

	memset(big, 'p', len);
	big[len] = '\0';
	out = render_ok("<task>\n{{prompt}}\n</task>\n", vars, NVARS(vars));
	ck_assert_uint_eq(strlen(out), len + strlen("<task>\n\n</task>\n"));
	ck_assert_int_eq(strncmp(out, "<task>\np", 8), 0);
	free(out);
	free(big);
}
END_TEST

/* The configuration of the test environment (ADW_DATA_DIR = the source root). */
static void load_cfg(struct adw_config *cfg)
{
	struct adw_err err = {0};

	setenv("ADW_RUNTIME", "dry-run", 1);
	ck_assert_ptr_nonnull(getenv("ADW_DATA_DIR"));
	ck_assert_msg(adw_config_load(cfg, &err) == 0, "config: %s", err.msg);
}

static const char *const steps[] = {"plan", "build", "review", "fix", "test"};

/* The runner's variables for step (adws/adw_runner.c), with distinctive values. */
static char *render_step(const struct adw_config *cfg, const char *step, const char *artifact)
{
	const struct adw_prompt_var vars[] = {
	    {"prompt", "PROMPT-TEXT Add a --version flag"},
	    {"adw_name", "ADW-NAME-add-a-version"},
	    {"adw_id", "0b7e5a2c-1111-2222-3333-444455556666"},
	    {"working_dir", "/WORK/DIR"},
	    {"step", step},
	    {"artifact_path", artifact},
	    {"plan_path", "/WORK/DIR/specs/PLAN-PATH.md"},
	    {"review_path", "/WORK/DIR/app_review/REVIEW-PATH.md"},
	    {"workflow", "plan_build_review_fix"},
	};
	struct adw_err err = {0};
	char *tmpl = NULL, *out = NULL;

	ck_assert_msg(adw_prompt_load(cfg, step, &tmpl, &err) == 0, "load %s: %s", step, err.msg);
	ck_assert_msg(strlen(tmpl) > 0, "prompts/%s.md is empty", step);
	ck_assert_msg(adw_prompt_render(tmpl, vars, NVARS(vars), &out, &err) == 0,
		      "render prompts/%s.md: %s", step, err.msg);
	free(tmpl);
	return out;
}

START_TEST(test_shipped_templates_render)
{
	struct adw_config cfg;

	load_cfg(&cfg);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		char *artifact = adw_xasprintf("/WORK/DIR/out/ARTIFACT-%s.md", steps[i]);
		char *out = render_step(&cfg, steps[i], artifact);

		/* Fully rendered: no placeholder is left for the agent. */
		ck_assert_msg(strstr(out, "{{") == NULL && strstr(out, "}}") == NULL,
			      "prompts/%s.md left a placeholder: %s", steps[i], out);
		/* Every template carries the task and names the ADW. */
		ck_assert_msg(strstr(out, "PROMPT-TEXT Add a --version flag") != NULL,
			      "prompts/%s.md lacks the prompt", steps[i]);
		ck_assert_msg(strstr(out, "ADW-NAME-add-a-version") != NULL,
			      "prompts/%s.md lacks the ADW name", steps[i]);
		ck_assert_msg(strstr(out, "/WORK/DIR") != NULL,
			      "prompts/%s.md lacks the working dir", steps[i]);
		free(out);
		free(artifact);
	}
	adw_config_release(&cfg);
}
END_TEST

START_TEST(test_artifact_templates_name_output_file)
{
	static const char *const with_artifact[] = {"plan", "review", "fix"};
	struct adw_config cfg;

	load_cfg(&cfg);
	for (size_t i = 0; i < sizeof(with_artifact) / sizeof(with_artifact[0]); i++) {
		char *artifact = adw_xasprintf("/WORK/DIR/out/ARTIFACT-%s.md", with_artifact[i]);
		char *line = adw_xasprintf("\nOutput file: %s\n", artifact);
		char *out = render_step(&cfg, with_artifact[i], artifact);

		ck_assert_msg(strstr(out, line) != NULL, "prompts/%s.md has no '%s' line: %s",
			      with_artifact[i], line + 1, out);
		free(out);
		free(line);
		free(artifact);
	}
	adw_config_release(&cfg);
}
END_TEST

START_TEST(test_steps_after_plan_name_the_plan)
{
	static const char *const after_plan[] = {"build", "review", "fix", "test"};
	struct adw_config cfg;

	load_cfg(&cfg);
	for (size_t i = 0; i < sizeof(after_plan) / sizeof(after_plan[0]); i++) {
		char *out = render_step(&cfg, after_plan[i], NULL);

		ck_assert_msg(strstr(out, "/WORK/DIR/specs/PLAN-PATH.md") != NULL,
			      "prompts/%s.md does not name the plan file", after_plan[i]);
		free(out);
	}
	/* The fix step reads the review report. */
	{
		char *out = render_step(&cfg, "fix", "/WORK/DIR/fix.md");

		ck_assert_ptr_nonnull(strstr(out, "/WORK/DIR/app_review/REVIEW-PATH.md"));
		free(out);
	}
	adw_config_release(&cfg);
}
END_TEST

START_TEST(test_review_template_asks_for_verdict)
{
	struct adw_config cfg;
	char *out;

	load_cfg(&cfg);
	out = render_step(&cfg, "review", "/WORK/DIR/review.md");
	ck_assert_msg(strstr(out, "\nVERDICT: PASS\n") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "\nVERDICT: FAIL") != NULL, "%s", out);
	/* It must ask for the verdict as the last line. */
	ck_assert_msg(strstr(out, "LAST line") != NULL || strstr(out, "last line") != NULL, "%s",
		      out);
	free(out);
	adw_config_release(&cfg);
}
END_TEST

START_TEST(test_load_missing_step)
{
	struct adw_config cfg;
	struct adw_err err = {0};
	char *text = NULL;

	load_cfg(&cfg);
	ck_assert_int_eq(adw_prompt_load(&cfg, "no_such_step", &text, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_msg(strstr(err.msg, "'prompts/no_such_step.md'") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "step 'no_such_step'") != NULL, "%s", err.msg);
	ck_assert_ptr_null(text);
	adw_config_release(&cfg);
}
END_TEST

START_TEST(test_load_from_other_data_dir)
{
	char tmpl[] = "/tmp/adw-prompt-XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct adw_config cfg;
	struct adw_err err = {0};
	char *p, *text = NULL;
	FILE *f;

	ck_assert_ptr_nonnull(dir);
	load_cfg(&cfg);
	free(cfg.data_dir);
	cfg.data_dir = adw_xstrdup(dir);
	p = adw_xasprintf("%s/prompts", dir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	free(p);
	p = adw_xasprintf("%s/prompts/custom.md", dir);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs("custom {{step}}\n", f);
	fclose(f);
	free(p);
	ck_assert_msg(adw_prompt_load(&cfg, "custom", &text, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(text, "custom {{step}}\n");
	free(text);
	text = NULL;
	/* The shipped ones are not there. */
	ck_assert_int_eq(adw_prompt_load(&cfg, "plan", &text, &err), -1);
	ck_assert_ptr_null(text);
	adw_config_release(&cfg);
	testlib_rm_tree(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("adw_prompt");
	TCase *tc = tcase_create("render");
	TCase *tl = tcase_create("templates");

	tcase_add_test(tc, test_render_basic);
	tcase_add_test(tc, test_render_spaces_in_braces);
	tcase_add_test(tc, test_render_null_value);
	tcase_add_test(tc, test_render_values_not_reexpanded);
	tcase_add_test(tc, test_render_single_braces_kept);
	tcase_add_test(tc, test_render_unknown_placeholder);
	tcase_add_test(tc, test_render_unterminated);
	tcase_add_test(tc, test_render_large_value);
	suite_add_tcase(s, tc);
	tcase_add_test(tl, test_shipped_templates_render);
	tcase_add_test(tl, test_artifact_templates_name_output_file);
	tcase_add_test(tl, test_steps_after_plan_name_the_plan);
	tcase_add_test(tl, test_review_template_asks_for_verdict);
	tcase_add_test(tl, test_load_missing_step);
	tcase_add_test(tl, test_load_from_other_data_dir);
	suite_add_tcase(s, tl);
	return testlib_run(s);
}
