/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adw_migrate.h"
#include "adw_mem.h"
#include "testlib.h"

static char *migrations_dir(void)
{
	return adw_xasprintf("%s/migrations", getenv("ADW_DATA_DIR"));
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char *p = adw_xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

START_TEST(test_apply_idempotent)
{
	char *ci = testlib_db_create("migrate_a");
	PGconn *c = testlib_connect(ci);
	char *dir = migrations_dir();
	struct adw_err err = {0};
	int applied = -1;
	PGresult *r;

	ck_assert_int_eq(adw_migrate_run(c, dir, &applied, &err), 0);
	ck_assert_int_ge(applied, 1);
	ck_assert_int_eq(adw_migrate_run(c, dir, &applied, &err), 0);
	ck_assert_int_eq(applied, 0);
	/* The generic trigger function the original lacked exists and works. */
	r = testlib_query(
	    c, "SELECT count(*) FROM pg_proc WHERE proname = 'update_updated_at_column'");
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "1");
	PQclear(r);
	r = testlib_query(c, "SELECT count(*) FROM orchestrator_agents");
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "1");
	PQclear(r);
	/* Event ids are bigint. */
	r = testlib_query(c, "SELECT data_type FROM information_schema.columns "
			     "WHERE table_name = 'events' AND column_name = 'id'");
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "bigint");
	PQclear(r);
	PQfinish(c);
	free(dir);
	free(ci);
}
END_TEST

START_TEST(test_changed_file_refused_and_failure_rolls_back)
{
	char *ci = testlib_db_create("migrate_b");
	PGconn *c = testlib_connect(ci);
	char tmpl[] = "/tmp/adw-mig-XXXXXX";
	char *dir = mkdtemp(tmpl);
	struct adw_err err = {0};
	int applied = 0;
	PGresult *r;

	ck_assert_ptr_nonnull(dir);
	write_file(dir, "001_a.sql", "CREATE TABLE a (x int);");
	write_file(dir, "002_b.sql", "CREATE TABLE b (x int); SELECT no_such_function();");
	write_file(dir, "003_c.sql", "CREATE TABLE c (x int);");
	ck_assert_int_eq(adw_migrate_run(c, dir, &applied, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "002_b.sql"));
	/* 001 applied, 002 rolled back whole, 003 not tried. */
	r = testlib_query(c, "SELECT to_regclass('a') IS NOT NULL, to_regclass('b') IS NULL, "
			     "to_regclass('c') IS NULL, (SELECT count(*) FROM schema_migrations)");
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "t");
	ck_assert_str_eq(PQgetvalue(r, 0, 1), "t");
	ck_assert_str_eq(PQgetvalue(r, 0, 2), "t");
	ck_assert_str_eq(PQgetvalue(r, 0, 3), "1");
	PQclear(r);
	write_file(dir, "002_b.sql", "CREATE TABLE b (x int);");
	ck_assert_int_eq(adw_migrate_run(c, dir, &applied, &err), 0);
	ck_assert_int_eq(applied, 2);
	/* Editing an applied file is refused with a clear message. */
	write_file(dir, "001_a.sql", "CREATE TABLE a (x bigint);");
	ck_assert_int_eq(adw_migrate_run(c, dir, &applied, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err.msg, "'001_a.sql' was changed"));
	/* A bad name is refused. */
	write_file(dir, "001_a.sql", "CREATE TABLE a (x int);");
	write_file(dir, "x_bad.sql", "SELECT 1;");
	ck_assert_int_eq(adw_migrate_run(c, dir, &applied, &err), -1);
	ck_assert_msg(strstr(err.msg, "x_bad.sql") != NULL, "%s", err.msg);
	PQfinish(c);
	free(ci);
}
END_TEST

START_TEST(test_checksum)
{
	char out[65];

	adw_migrate_checksum("abc", 3, out);
	ck_assert_str_eq(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

int main(void)
{
	Suite *s;

	if (!getenv("ADW_TEST_DATABASE_URL") || !*getenv("ADW_TEST_DATABASE_URL"))
		return 77; /* meson: skipped */
	s = suite_create("adw_migrate");
	TCase *tc = tcase_create("pg");

	tcase_add_test(tc, test_checksum);
	tcase_add_test(tc, test_apply_idempotent);
	tcase_add_test(tc, test_changed_file_refused_and_failure_rolls_back);
	suite_add_tcase(s, tc);
	return testlib_run(s);
}
