/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "adw_db.h"
#include "testlib.h"

static char *dbinfo;

START_TEST(test_prepared_reprepares_after_reset)
{
	struct adw_err err = {0};
	PGconn *c = adw_db_connect(dbinfo, &err);
	const char *params[1] = {"41"};
	PGresult *r;

	ck_assert_ptr_nonnull(c);
	for (int i = 0; i < 3; i++) {
		r = adw_db_query_prepared(c, "plus_one", "SELECT $1::int + 1", 1, params, &err);
		ck_assert_ptr_nonnull(r);
		ck_assert_str_eq(PQgetvalue(r, 0, 0), "42");
		PQclear(r);
	}
	/* A new session has no prepared statements: it is prepared again. */
	PQreset(c);
	r = adw_db_query_prepared(c, "plus_one", "SELECT $1::int + 1", 1, params, &err);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "42");
	PQclear(r);
	/* Inside a transaction it runs unprepared and never aborts the transaction. */
	PQclear(PQexec(c, "BEGIN"));
	r = adw_db_query_prepared(c, "not_yet", "SELECT $1::int * 2", 1, params, &err);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "82");
	PQclear(r);
	ck_assert_int_eq(PQtransactionStatus(c), PQTRANS_INTRANS);
	PQclear(PQexec(c, "COMMIT"));
	/* Errors map as for adw_db_query. */
	r = adw_db_query_prepared(c, "bad", "SELECT 1/$1::int", 1, (const char *[]){"0"}, &err);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_ptr_null(strstr(err.msg, "division"));
	PQfinish(c);
}
END_TEST

START_TEST(test_connect_is_utc_and_errors_are_one_line)
{
	struct adw_err err = {0};
	PGconn *c = adw_db_connect(dbinfo, &err);
	PGresult *r;

	ck_assert_ptr_nonnull(c);
	r = adw_db_query(c, "SHOW TimeZone", 0, NULL, &err);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "UTC");
	PQclear(r);
	PQfinish(c);
	ck_assert_ptr_null(adw_db_connect("host=/nonexistent port=1 dbname=x", &err));
	ck_assert_int_eq(err.code, ADW_ERR_UNAVAILABLE);
	ck_assert_ptr_null(strchr(err.msg, '\n'));
}
END_TEST

int main(void)
{
	Suite *s;
	TCase *tc;

	if (!getenv("ADW_TEST_DATABASE_URL") || !*getenv("ADW_TEST_DATABASE_URL"))
		return 77;
	dbinfo = testlib_db_create("db");
	s = suite_create("adw_db");
	tc = tcase_create("pg");
	tcase_add_test(tc, test_prepared_reprepares_after_reset);
	tcase_add_test(tc, test_connect_is_utc_and_errors_are_one_line);
	suite_add_tcase(s, tc);
	return testlib_run(s);
}
