/* SPDX-License-Identifier: MIT */
/* Tests of backend/adw_workflow: workflow definitions as data files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adw_config.h"
#include "adw_workflow.h"
#include "testlib.h"

/* The test environment's configuration (ADW_DATA_DIR = the source root). */
static void load_cfg(struct adw_config *cfg)
{
	struct adw_err err = {0};

	setenv("ADW_RUNTIME", "dry-run", 1);
	ck_assert_ptr_nonnull(getenv("ADW_DATA_DIR"));
	ck_assert_msg(adw_config_load(cfg, &err) == 0, "config: %s", err.msg);
}

/* A private data dir with adws/workflows/, set in cfg.data_dir. */
static char tmpdir[64];
static struct adw_config tcfg;

static void tmp_setup(void)
{
	char *p;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/adw-wf-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	p = adw_xasprintf("%s/adws", tmpdir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	free(p);
	p = adw_xasprintf("%s/adws/workflows", tmpdir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	free(p);
	load_cfg(&tcfg);
	free(tcfg.data_dir);
	tcfg.data_dir = adw_xstrdup(tmpdir);
}

static void tmp_teardown(void)
{
	adw_config_release(&tcfg);
	testlib_rm_tree(tmpdir);
}

static void write_wf(const char *file, const char *text)
{
	char *p = adw_xasprintf("%s/adws/workflows/%s", tmpdir, file);
	FILE *f = fopen(p, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	free(p);
}

/* Copies the three shipped workflow files into the private data dir. */
static void copy_shipped(void)
{
	static const char *const names[] = {"plan_build", "plan_build_review",
					    "plan_build_review_fix"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *src =
		    adw_xasprintf("%s/adws/workflows/%s.json", getenv("ADW_DATA_DIR"), names[i]);
		char *file = adw_xasprintf("%s.json", names[i]);
		char buf[65536];
		FILE *f = fopen(src, "rb");
		size_t n;

		ck_assert_msg(f != NULL, "cannot read %s", src);
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		write_wf(file, buf);
		free(file);
		free(src);
	}
}

static void assert_steps(const struct adw_workflow *wf, int n, const char *const *names,
			 const bool *on_fail)
{
	ck_assert_int_eq(wf->nsteps, n);
	for (int i = 0; i < n; i++) {
		ck_assert_str_eq(wf->steps[i].name, names[i]);
		ck_assert_msg(wf->steps[i].only_on_fail == on_fail[i], "step %s only_on_fail=%d",
			      names[i], wf->steps[i].only_on_fail);
	}
}

START_TEST(test_load_shipped)
{
	static const char *const names[] = {"plan", "build", "review", "fix"};
	static const bool fail_only[] = {false, false, false, true};
	struct adw_config cfg;
	struct adw_workflow wf;
	struct adw_err err = {0};

	load_cfg(&cfg);
	ck_assert_msg(adw_workflow_load(&cfg, "plan_build", &wf, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(wf.name, "plan_build");
	ck_assert_msg(strlen(wf.description) > 0, "plan_build has no description");
	assert_steps(&wf, 2, names, fail_only);
	adw_workflow_release(&wf);

	ck_assert_msg(adw_workflow_load(&cfg, "plan_build_review", &wf, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(wf.name, "plan_build_review");
	assert_steps(&wf, 3, names, fail_only);
	adw_workflow_release(&wf);

	ck_assert_msg(adw_workflow_load(&cfg, "plan_build_review_fix", &wf, &err) == 0, "%s",
		      err.msg);
	ck_assert_str_eq(wf.name, "plan_build_review_fix");
	assert_steps(&wf, 4, names, fail_only);
	adw_workflow_release(&wf);
	/* Releasing twice (fields cleared) and NULL are safe. */
	adw_workflow_release(&wf);
	adw_workflow_release(NULL);
	adw_config_release(&cfg);
}
END_TEST

START_TEST(test_load_normalises)
{
	struct adw_config cfg;
	struct adw_workflow wf;
	struct adw_err err = {0};

	load_cfg(&cfg);
	ck_assert_msg(adw_workflow_load(&cfg, "Plan-Build", &wf, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(wf.name, "plan_build");
	ck_assert_int_eq(wf.nsteps, 2);
	adw_workflow_release(&wf);
	ck_assert_msg(adw_workflow_load(&cfg, "PLAN-BUILD-REVIEW-FIX", &wf, &err) == 0, "%s",
		      err.msg);
	ck_assert_str_eq(wf.name, "plan_build_review_fix");
	adw_workflow_release(&wf);
	adw_config_release(&cfg);
}
END_TEST

START_TEST(test_normalize)
{
	char a[] = "Plan-Build";
	char b[] = "PLAN_build-Review-FIX";
	char c[] = "";

	adw_workflow_normalize(a);
	ck_assert_str_eq(a, "plan_build");
	adw_workflow_normalize(b);
	ck_assert_str_eq(b, "plan_build_review_fix");
	adw_workflow_normalize(c);
	ck_assert_str_eq(c, "");
	adw_workflow_normalize(NULL);
}
END_TEST

START_TEST(test_unknown_lists_known)
{
	struct adw_config cfg;
	struct adw_workflow wf;
	struct adw_err err = {0};

	load_cfg(&cfg);
	ck_assert_int_eq(adw_workflow_load(&cfg, "nope", &wf, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_msg(strstr(err.msg, "unknown workflow 'nope'") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "(known: plan_build, ") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, " plan_build_review, ") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, " plan_build_review_fix") != NULL, "%s", err.msg);
	ck_assert_ptr_null(wf.name);
	ck_assert_int_eq(wf.nsteps, 0);
	/* Names that are not safe never reach the file system. */
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(adw_workflow_load(&cfg, "../workflows/plan_build", &wf, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_msg(strstr(err.msg, "unknown workflow") != NULL, "%s", err.msg);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(adw_workflow_load(&cfg, "", &wf, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(adw_workflow_load(&cfg, NULL, &wf, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(adw_workflow_load(&cfg, "plan build", &wf, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	adw_config_release(&cfg);
}
END_TEST

START_TEST(test_name_valid)
{
	char n64[65], n65[66];

	memset(n64, 'a', 64);
	n64[64] = '\0';
	memset(n65, 'a', 65);
	n65[65] = '\0';
	ck_assert(adw_workflow_name_valid("plan_build"));
	ck_assert(adw_workflow_name_valid("plan-build"));
	ck_assert(adw_workflow_name_valid("Plan-Build"));
	ck_assert(adw_workflow_name_valid("x"));
	ck_assert(adw_workflow_name_valid("step2"));
	ck_assert(adw_workflow_name_valid(n64));
	ck_assert(!adw_workflow_name_valid(n65));
	ck_assert(!adw_workflow_name_valid(""));
	ck_assert(!adw_workflow_name_valid(NULL));
	ck_assert(!adw_workflow_name_valid("plan build"));
	ck_assert(!adw_workflow_name_valid("plan/build"));
	ck_assert(!adw_workflow_name_valid(".."));
	ck_assert(!adw_workflow_name_valid("plan.build"));
	ck_assert(!adw_workflow_name_valid("plän"));
	ck_assert(!adw_workflow_name_valid("plan\n"));
}
END_TEST

START_TEST(test_list_shipped)
{
	struct adw_config cfg;
	struct adw_workflow *list = NULL;
	struct adw_err err = {0};
	int n = -1;

	load_cfg(&cfg);
	ck_assert_msg(adw_workflow_list(&cfg, &list, &n, &err) == 0, "%s", err.msg);
	ck_assert_int_ge(n, 3);
	for (int i = 1; i < n; i++)
		ck_assert_msg(strcmp(list[i - 1].name, list[i].name) < 0, "not sorted: %s, %s",
			      list[i - 1].name, list[i].name);
	{
		bool a = false, b = false, c = false;

		for (int i = 0; i < n; i++) {
			a = a || strcmp(list[i].name, "plan_build") == 0;
			b = b || strcmp(list[i].name, "plan_build_review") == 0;
			c = c || strcmp(list[i].name, "plan_build_review_fix") == 0;
		}
		ck_assert(a && b && c);
	}
	adw_workflow_list_free(list, n);
	adw_config_release(&cfg);
}
END_TEST

START_TEST(test_user_added_workflow)
{
	static const char *const names[] = {"plan", "build", "test"};
	static const bool fail_only[] = {false, false, false};
	struct adw_workflow wf, *list = NULL;
	struct adw_err err = {0};
	int n = 0;

	copy_shipped();
	/* Not there yet: unknown, and the message lists the three shipped ones. */
	ck_assert_int_eq(adw_workflow_load(&tcfg, "plan_build_test", &wf, &err), -1);
	ck_assert_msg(strstr(err.msg, "(known: plan_build, plan_build_review, "
				      "plan_build_review_fix)") != NULL,
		      "%s", err.msg);
	write_wf("plan_build_test.json",
		 "{\"name\": \"plan_build_test\", \"description\": \"Plan, build, test.\",\n"
		 " \"steps\": [\"plan\", \"build\", {\"name\": \"test\"}]}\n");
	ck_assert_msg(adw_workflow_load(&tcfg, "plan-build-test", &wf, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(wf.name, "plan_build_test");
	ck_assert_str_eq(wf.description, "Plan, build, test.");
	assert_steps(&wf, 3, names, fail_only);
	adw_workflow_release(&wf);
	ck_assert_int_eq(adw_workflow_list(&tcfg, &list, &n, &err), 0);
	ck_assert_int_eq(n, 4);
	ck_assert_str_eq(list[0].name, "plan_build");
	ck_assert_str_eq(list[1].name, "plan_build_review");
	ck_assert_str_eq(list[2].name, "plan_build_review_fix");
	ck_assert_str_eq(list[3].name, "plan_build_test");
	ck_assert_int_eq(list[3].nsteps, 3);
	adw_workflow_list_free(list, n);
	/* Now the unknown-workflow message names it too. */
	ck_assert_int_eq(adw_workflow_load(&tcfg, "nope", &wf, &err), -1);
	ck_assert_msg(strstr(err.msg, "plan_build_test") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(test_fix_defaults_only_on_fail)
{
	static const char *const names[] = {"plan", "fix", "review", "polish", "fix"};
	static const bool fail_only[] = {false, true, false, true, true};
	struct adw_workflow wf;
	struct adw_err err = {0};

	write_wf("custom.json", "{\"steps\": [\"plan\", \"fix\", {\"name\": \"review\"}, "
				"{\"name\": \"polish\", \"when\": \"review_failed\"}, "
				"{\"name\": \"fix\"}]}");
	ck_assert_msg(adw_workflow_load(&tcfg, "custom", &wf, &err) == 0, "%s", err.msg);
	/* The name comes from the file name; the description defaults to "". */
	ck_assert_str_eq(wf.name, "custom");
	ck_assert_str_eq(wf.description, "");
	assert_steps(&wf, 5, names, fail_only);
	adw_workflow_release(&wf);
}
END_TEST

START_TEST(test_bad_files_rejected_and_skipped)
{
	static const struct {
		const char *file, *text, *why;
	} bad[] = {
	    {"notjson.json", "this is not JSON", "JSON"},
	    {"truncated.json", "{\"steps\": [\"plan\"", "JSON"},
	    {"array.json", "[\"plan\", \"build\"]", "JSON object"},
	    {"empty.json", "", "JSON"},
	    {"nosteps.json", "{\"name\": \"nosteps\"}", "steps"},
	    {"emptysteps.json", "{\"steps\": []}", "steps"},
	    {"stepsobj.json", "{\"steps\": {\"plan\": 1}}", "steps"},
	    {"badname.json", "{\"steps\": [\"plan\", \"bad step\"]}", "step 2"},
	    {"dotdot.json", "{\"steps\": [\"../../etc/passwd\"]}", "step 1"},
	    {"nostepname.json", "{\"steps\": [\"plan\", {\"when\": \"review_failed\"}]}", "step 2"},
	    {"numstep.json", "{\"steps\": [42]}", "step 1"},
	    {"badwhen.json", "{\"steps\": [\"plan\", {\"name\": \"fix\", \"when\": \"always\"}]}",
	     "always"},
	};
	struct adw_workflow wf, *list = NULL;
	struct adw_err err;
	int n = -1;

	write_wf("good.json", "{\"description\": \"ok\", \"steps\": [\"plan\"]}");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		write_wf(bad[i].file, bad[i].text);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *name = adw_xstrndup(bad[i].file, strlen(bad[i].file) - 5);

		memset(&err, 0, sizeof(err));
		ck_assert_msg(adw_workflow_load(&tcfg, name, &wf, &err) == -1, "%s loaded",
			      bad[i].file);
		ck_assert_int_ne(err.code, ADW_ERR_NONE);
		/* The message names the bad file and what is wrong with it. */
		ck_assert_msg(strstr(err.msg, bad[i].file) != NULL, "%s: %s", bad[i].file, err.msg);
		ck_assert_msg(strstr(err.msg, bad[i].why) != NULL, "%s: %s", bad[i].file, err.msg);
		ck_assert_ptr_null(wf.name);
		ck_assert_ptr_null(wf.steps);
		ck_assert_int_eq(wf.nsteps, 0);
		free(name);
	}
	/* A file with a bad name and a non-.json file are ignored by list. */
	write_wf("bad name.json", "{\"steps\": [\"plan\"]}");
	write_wf("README.md", "not a workflow");
	write_wf(".json", "{\"steps\": [\"plan\"]}");
	ck_assert_int_eq(adw_workflow_list(&tcfg, &list, &n, &err), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(list[0].name, "good");
	ck_assert_str_eq(list[0].description, "ok");
	adw_workflow_list_free(list, n);
	/* The unknown-workflow message lists only the valid one. */
	ck_assert_int_eq(adw_workflow_load(&tcfg, "nope", &wf, &err), -1);
	ck_assert_msg(strstr(err.msg, "(known: good)") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(test_no_workflows_dir)
{
	struct adw_workflow wf, *list = NULL;
	struct adw_err err = {0};
	char *dir = adw_xasprintf("%s/adws", tmpdir);
	int n = -1;

	testlib_rm_tree(dir);
	ck_assert_int_eq(adw_workflow_list(&tcfg, &list, &n, &err), -1);
	ck_assert_int_ne(err.code, ADW_ERR_NONE);
	ck_assert_int_eq(n, 0);
	ck_assert_ptr_null(list);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(adw_workflow_load(&tcfg, "plan_build", &wf, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_msg(strstr(err.msg, "(known: none)") != NULL, "%s", err.msg);
	/* An empty directory lists nothing, without an error. */
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	free(dir);
	dir = adw_xasprintf("%s/adws/workflows", tmpdir);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	free(dir);
	ck_assert_int_eq(adw_workflow_list(&tcfg, &list, &n, &err), 0);
	ck_assert_int_eq(n, 0);
	adw_workflow_list_free(list, n);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("adw_workflow");
	TCase *tc = tcase_create("shipped");
	TCase *tt = tcase_create("datadir");

	tcase_add_test(tc, test_load_shipped);
	tcase_add_test(tc, test_load_normalises);
	tcase_add_test(tc, test_normalize);
	tcase_add_test(tc, test_unknown_lists_known);
	tcase_add_test(tc, test_name_valid);
	tcase_add_test(tc, test_list_shipped);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tt, tmp_setup, tmp_teardown);
	tcase_add_test(tt, test_user_added_workflow);
	tcase_add_test(tt, test_fix_defaults_only_on_fail);
	tcase_add_test(tt, test_bad_files_rejected_and_skipped);
	tcase_add_test(tt, test_no_workflows_dir);
	suite_add_tcase(s, tt);
	return testlib_run(s);
}
