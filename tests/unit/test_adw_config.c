/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "adw_config.h"
#include "adw_cluster.h"
#include "testlib.h"

START_TEST(test_defaults)
{
	struct adw_config cfg;
	struct adw_err err = {0};

	unsetenv("ADW_LISTEN");
	unsetenv("ADW_MAX_RUNNING");
	unsetenv("DATABASE_URL");
	setenv("ADW_RUNTIME", "dry-run", 1);
	setenv("ADW_HOME", "/tmp/x/../adwhome", 1);
	ck_assert_int_eq(adw_config_load(&cfg, &err), 0);
	ck_assert_str_eq(cfg.listen_host, "127.0.0.1");
	ck_assert_uint_eq(cfg.listen_port, 9403);
	ck_assert_int_eq(cfg.max_running, 8);
	ck_assert_str_eq(cfg.home, "/tmp/adwhome");
	ck_assert_ptr_null(cfg.database_url);
	ck_assert_str_eq(cfg.runtime, "dry-run");
	adw_config_release(&cfg);
}
END_TEST

START_TEST(test_bad_values)
{
	struct adw_config cfg;
	struct adw_err err = {0};

	setenv("ADW_MAX_RUNNING", "0", 1);
	ck_assert_int_eq(adw_config_load(&cfg, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "ADW_MAX_RUNNING"));
	adw_config_release(&cfg);
	unsetenv("ADW_MAX_RUNNING");
	setenv("ADW_RUNTIME", "gpt", 1);
	ck_assert_int_eq(adw_config_load(&cfg, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "'gpt'"));
	adw_config_release(&cfg);
	setenv("ADW_RUNTIME", "dry-run", 1);
	setenv("ADW_LISTEN", "127.0.0.1:99999", 1);
	ck_assert_int_eq(adw_config_load(&cfg, &err), -1);
	adw_config_release(&cfg);
	setenv("ADW_LISTEN", "127.0.0.1:0", 1);
	ck_assert_int_eq(adw_config_load(&cfg, &err), 0);
	ck_assert_uint_eq(cfg.listen_port, 0);
	adw_config_release(&cfg);
	unsetenv("ADW_LISTEN");
}
END_TEST

START_TEST(test_abspath_and_which)
{
	char *p = adw_config_abspath("/a/./b//c/../d");
	char *w = adw_config_which("sh");

	ck_assert_str_eq(p, "/a/b/d");
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(w[0], '/');
	ck_assert_ptr_null(adw_config_which("no-such-program-adw-xyz"));
	free(p);
	free(w);
}
END_TEST

START_TEST(test_socket_dir_fits)
{
	struct adw_config cfg;
	struct adw_err err = {0};
	char *long_home = malloc(300);
	char *dir;

	setenv("ADW_RUNTIME", "dry-run", 1);
	memset(long_home, 'h', 299);
	long_home[0] = '/';
	long_home[299] = '\0';
	setenv("ADW_HOME", long_home, 1);
	ck_assert_int_eq(adw_config_load(&cfg, &err), 0);
	dir = adw_cluster_socket_dir(&cfg);
	ck_assert_int_le(strlen(dir) + strlen("/.s.PGSQL.5432"), 107);
	ck_assert_ptr_nonnull(strstr(dir, "/tmp/adw-"));
	free(dir);
	adw_config_release(&cfg);
	setenv("ADW_HOME", "/srv/a", 1);
	ck_assert_int_eq(adw_config_load(&cfg, &err), 0);
	dir = adw_cluster_socket_dir(&cfg);
	ck_assert_str_eq(dir, "/srv/a/pg/run");
	free(dir);
	adw_config_release(&cfg);
	free(long_home);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("adw_config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_abspath_and_which);
	tcase_add_test(tc, test_socket_dir_fits);
	suite_add_tcase(s, tc);
	return testlib_run(s);
}
