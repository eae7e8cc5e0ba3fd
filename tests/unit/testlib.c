/* SPDX-License-Identifier: MIT */
#include "testlib.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "adw_err.h"
#include "adw_mem.h"
#include "adw_migrate.h"

static char *replace_dbname(const char *base, const char *db)
{
	/* ADW_TEST_DATABASE_URL is a key=value conninfo; a later dbname wins. */
	return adw_xasprintf("%s dbname=%s", base, db);
}

char *testlib_db_create(const char *name)
{
	const char *base = getenv("ADW_TEST_DATABASE_URL");
	char *sql;
	PGconn *c;
	PGresult *r;

	if (!base || !*base) {
		fprintf(stderr, "ADW_TEST_DATABASE_URL unset: skipping\n");
		exit(77);
	}
	c = PQconnectdb(base);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "cannot connect: %s", PQerrorMessage(c));
		exit(1);
	}
	sql = adw_xasprintf("DROP DATABASE IF EXISTS adw_test_%s WITH (FORCE)", name);
	PQclear(PQexec(c, sql));
	free(sql);
	sql = adw_xasprintf("CREATE DATABASE adw_test_%s TEMPLATE template0", name);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "create database: %s", PQresultErrorMessage(r));
		exit(1);
	}
	PQclear(r);
	free(sql);
	PQfinish(c);
	sql = adw_xasprintf("adw_test_%s", name);
	{
		char *ci = replace_dbname(base, sql);

		free(sql);
		return ci;
	}
}

char *testlib_db_create_migrated(const char *name)
{
	char *ci = testlib_db_create(name);
	PGconn *c = testlib_connect(ci);
	char *dir = adw_xasprintf("%s/migrations", getenv("ADW_DATA_DIR"));
	struct adw_err err = {0};

	if (adw_migrate_run(c, dir, NULL, &err) < 0) {
		fprintf(stderr, "migrate: %s\n", err.msg);
		exit(1);
	}
	free(dir);
	PQfinish(c);
	return ci;
}

PGconn *testlib_connect(const char *conninfo)
{
	PGconn *c = PQconnectdb(conninfo);

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
	return c;
}

PGresult *testlib_query(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);

	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK,
		      "%s: %s", sql, PQresultErrorMessage(r));
	return r;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void testlib_rm_tree(const char *dir)
{
	ck_assert_msg(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0, "cannot remove %s", dir);
}

void testlib_dryrun_config(char workdir[64], const char *name, struct adw_config *cfg)
{
	struct adw_err err = {0};

	snprintf(workdir, 64, "/tmp/adw-%s-XXXXXX", name);
	ck_assert_ptr_nonnull(mkdtemp(workdir));
	setenv("ADW_RUNTIME", "dry-run", 1);
	setenv("ADW_WORKDIR", workdir, 1);
	setenv("ADW_HOME", workdir, 1);
	unsetenv("ADW_MODEL");
	ck_assert_msg(adw_config_load(cfg, &err) == 0, "config: %s", err.msg);
}

long long testlib_count(PGconn *c, const char *sql)
{
	PGresult *r = testlib_query(c, sql);
	long long n;

	ck_assert_msg(PQntuples(r) == 1 && !PQgetisnull(r, 0, 0), "%s: not one value", sql);
	n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return n;
}

int testlib_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
