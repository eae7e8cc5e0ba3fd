/* SPDX-License-Identifier: MIT */
/* Helpers shared by the Check tests: private databases and suite running. */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <check.h>
#include <libpq-fe.h>

#include "adw_config.h"

/**
 * Creates a fresh, empty database named adw_test_<name> on the cluster of
 * ADW_TEST_DATABASE_URL (dropping an old one) and returns its conninfo
 * (caller frees). Exits 77 (meson "skip") when the variable is unset.
 */
char *testlib_db_create(const char *name);
/** As testlib_db_create, then applies the project's migrations. */
char *testlib_db_create_migrated(const char *name);
/** Connects or fails the test. */
PGconn *testlib_connect(const char *conninfo);
/** Runs a query that must succeed; returns its result (caller PQclear()s). */
PGresult *testlib_query(PGconn *c, const char *sql);
/** Removes dir and everything under it (never follows symlinks), or fails the test. */
void testlib_rm_tree(const char *dir);
/**
 * Creates the temporary dir /tmp/adw-<name>-XXXXXX into workdir (64 bytes)
 * and loads cfg from the environment with the dry-run runtime, ADW_WORKDIR
 * and ADW_HOME there, and no ADW_MODEL. Release cfg with
 * adw_config_release() and the dir with testlib_rm_tree().
 */
void testlib_dryrun_config(char workdir[64], const char *name, struct adw_config *cfg);
/** Runs sql, which must return one row whose first value is a number; returns it. */
long long testlib_count(PGconn *c, const char *sql);
/** Runs the suite and returns the process exit code (0 when all passed). */
int testlib_run(Suite *s);

#endif
