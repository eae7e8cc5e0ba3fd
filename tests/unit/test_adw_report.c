/* SPDX-License-Identifier: MIT */
/* Tests of adws/adw_report: review verdict lines and report reading. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adw_report.h"
#include "testlib.h"

static char tmpdir[64];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/adw-report-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	testlib_rm_tree(tmpdir);
}

static char *write_tmp(const char *name, const char *data, size_t len)
{
	char *p = adw_xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(p, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	return p;
}

START_TEST(test_plain_verdicts)
{
	ck_assert_int_eq(adw_report_verdict("VERDICT: PASS"), ADW_VERDICT_PASS);
	ck_assert_int_eq(adw_report_verdict("VERDICT: FAIL"), ADW_VERDICT_FAIL);
	ck_assert_int_eq(adw_report_verdict("# Review\n\nAll good.\n\nVERDICT: PASS\n"),
			 ADW_VERDICT_PASS);
	ck_assert_int_eq(adw_report_verdict("# Review\r\nVERDICT: FAIL\r\n"), ADW_VERDICT_FAIL);
	/* Surrounding whitespace and markdown decoration are stripped. */
	ck_assert_int_eq(adw_report_verdict("  \tVERDICT: PASS  \n"), ADW_VERDICT_PASS);
	ck_assert_int_eq(adw_report_verdict("**VERDICT: FAIL**"), ADW_VERDICT_FAIL);
	ck_assert_int_eq(adw_report_verdict("## VERDICT: PASS"), ADW_VERDICT_PASS);
	ck_assert_int_eq(adw_report_verdict("`VERDICT: FAIL`"), ADW_VERDICT_FAIL);
	ck_assert_int_eq(adw_report_verdict("__VERDICT: PASS__\n"), ADW_VERDICT_PASS);
}
END_TEST

START_TEST(test_last_verdict_wins)
{
	ck_assert_int_eq(adw_report_verdict("VERDICT: PASS\nmore text\nVERDICT: FAIL\n"),
			 ADW_VERDICT_FAIL);
	ck_assert_int_eq(adw_report_verdict("VERDICT: FAIL\n\nOn second thought:\nVERDICT: PASS"),
			 ADW_VERDICT_PASS);
	/* A later non-verdict line does not reset an earlier verdict. */
	ck_assert_int_eq(adw_report_verdict("VERDICT: FAIL\nno FAIL conditions after all\n"),
			 ADW_VERDICT_FAIL);
	ck_assert_int_eq(adw_report_verdict("**VERDICT: PASS**\nx\n**VERDICT: FAIL**\ny\n"),
			 ADW_VERDICT_FAIL);
}
END_TEST

START_TEST(test_not_verdicts)
{
	/* Free text mentioning FAIL or PASS is never a verdict (the original's bug). */
	ck_assert_int_eq(adw_report_verdict("There are no FAIL conditions in this change."),
			 ADW_VERDICT_NONE);
	ck_assert_int_eq(adw_report_verdict("VERDICT: PASSED"), ADW_VERDICT_NONE);
	ck_assert_int_eq(adw_report_verdict("Verdict: pass"), ADW_VERDICT_NONE);
	ck_assert_int_eq(adw_report_verdict("verdict: FAIL"), ADW_VERDICT_NONE);
	ck_assert_int_eq(adw_report_verdict("VERDICT: FAILURE"), ADW_VERDICT_NONE);
	ck_assert_int_eq(adw_report_verdict("The VERDICT: FAIL line is required"),
			 ADW_VERDICT_NONE);
	ck_assert_int_eq(adw_report_verdict("VERDICT:PASS"), ADW_VERDICT_NONE);
	ck_assert_int_eq(adw_report_verdict("VERDICT: PASS or FAIL"), ADW_VERDICT_NONE);
	ck_assert_int_eq(adw_report_verdict(""), ADW_VERDICT_NONE);
	ck_assert_int_eq(adw_report_verdict("\n\n\n"), ADW_VERDICT_NONE);
	ck_assert_int_eq(adw_report_verdict(NULL), ADW_VERDICT_NONE);
	ck_assert_int_eq(adw_report_verdict("# Review\n\nLooks fine.\n"), ADW_VERDICT_NONE);
}
END_TEST

START_TEST(test_verdict_names)
{
	ck_assert_str_eq(adw_report_verdict_name(ADW_VERDICT_PASS), "PASS");
	ck_assert_str_eq(adw_report_verdict_name(ADW_VERDICT_FAIL), "FAIL");
	ck_assert_ptr_null(adw_report_verdict_name(ADW_VERDICT_NONE));
}
END_TEST

START_TEST(test_read_ok)
{
	const char text[] = "# Review\n\nVERDICT: PASS\n";
	char *path = write_tmp("ok.md", text, strlen(text));
	struct adw_err err = {0};
	char *out = NULL;

	ck_assert_int_eq(adw_report_read(path, 1024, &out, &err), 0);
	ck_assert_str_eq(out, text);
	ck_assert_int_eq(adw_report_verdict(out), ADW_VERDICT_PASS);
	free(out);
	out = NULL;
	/* Exactly max bytes is allowed. */
	ck_assert_int_eq(adw_report_read(path, strlen(text), &out, &err), 0);
	ck_assert_str_eq(out, text);
	free(out);
	free(path);
}
END_TEST

START_TEST(test_read_large_ok)
{
	size_t len = 100000;
	char *big = adw_xmalloc(len);
	char *path, *out = NULL;
	struct adw_err err = {0};

	/* Larger than the reader's chunk, so the reading loop is exercised. */
	for (size_t i = 0; i < len; i++)
		big[i] = (char)('a' + i % 26);
	big[len - 1] = '\n';
	path = write_tmp("big.md", big, len);
	ck_assert_int_eq(adw_report_read(path, len, &out, &err), 0);
	ck_assert_uint_eq(strlen(out), len);
	ck_assert_int_eq(memcmp(out, big, len), 0);
	free(out);
	free(path);
	free(big);
}
END_TEST

START_TEST(test_read_errors)
{
	struct adw_err err = {0};
	char *out = NULL;
	char *missing = adw_xasprintf("%s/missing.md", tmpdir);
	char *empty = write_tmp("empty.md", "", 0);
	char *big = write_tmp("big.md", "0123456789abcdef", 16);

	ck_assert_int_eq(adw_report_read(missing, 1024, &out, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_NOT_FOUND);
	ck_assert_msg(strstr(err.msg, missing) != NULL, "%s", err.msg);
	ck_assert_ptr_null(out);

	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(adw_report_read(empty, 1024, &out, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_msg(strstr(err.msg, "empty") != NULL, "%s", err.msg);
	ck_assert_ptr_null(out);

	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(adw_report_read(big, 15, &out, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_msg(strstr(err.msg, "larger than 15 bytes") != NULL, "%s", err.msg);
	ck_assert_ptr_null(out);
	free(missing);
	free(empty);
	free(big);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("adw_report");
	TCase *tc = tcase_create("verdict");
	TCase *rd = tcase_create("read");

	tcase_add_test(tc, test_plain_verdicts);
	tcase_add_test(tc, test_last_verdict_wins);
	tcase_add_test(tc, test_not_verdicts);
	tcase_add_test(tc, test_verdict_names);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(rd, setup, teardown);
	tcase_add_test(rd, test_read_ok);
	tcase_add_test(rd, test_read_large_ok);
	tcase_add_test(rd, test_read_errors);
	suite_add_tcase(s, rd);
	return testlib_run(s);
}
