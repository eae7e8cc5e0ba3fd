/* SPDX-License-Identifier: MIT */
/* libpq connection helpers: connect, parameterised queries, error mapping. */
#include "adw_db.h"

#include <stdlib.h>
#include <string.h>

#include "adw_cluster.h"
#include "adw_log.h"

char *adw_db_conninfo(const struct adw_config *cfg)
{
	if (cfg->database_url)
		return adw_xstrdup(cfg->database_url);
	return adw_cluster_conninfo(cfg);
}

/* Server NOTICEs (e.g. "already exists, skipping") are debug output, not noise on stderr. */
static void on_notice(void *arg, const char *message)
{
	adw_log_debug("postgres: %s", message);
}

PGconn *adw_db_connect(const char *conninfo, struct adw_err *err)
{
	/* dbname is expanded as a conninfo/URI; the session runs in UTC without a round trip. */
	static const char *const keys[] = {"dbname", "options", NULL};
	const char *values[] = {conninfo, "-c TimeZone=UTC", NULL};
	PGconn *conn = PQconnectdbParams(keys, values, 1);

	if (PQstatus(conn) != CONNECTION_OK) {
		char *why = adw_xstrdup(PQerrorMessage(conn));
		size_t n = strlen(why);

		while (n && (why[n - 1] == '\n' || why[n - 1] == ' '))
			why[--n] = '\0';
		/* One line: libpq adds "\n\tIs the server running...?" hints. */
		for (char *p = why; *p; p++) {
			if (*p == '\n' || *p == '\t')
				*p = ' ';
		}
		adw_err_set(err, ADW_ERR_UNAVAILABLE, "cannot connect to the database: %s", why);
		free(why);
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, on_notice, NULL);
	return conn;
}

static enum adw_errcode map_sqlstate(const char *state)
{
	if (!state)
		return ADW_ERR_UNAVAILABLE;
	if (strcmp(state, "23505") == 0)
		return ADW_ERR_CONFLICT;
	if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
		return ADW_ERR_INVALID;
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0 ||
	    strncmp(state, "53", 2) == 0)
		return ADW_ERR_UNAVAILABLE;
	return ADW_ERR_INTERNAL;
}

/* Passes a successful result through; otherwise maps it to err and returns NULL. */
static PGresult *checked(PGconn *conn, PGresult *res, struct adw_err *err)
{
	ExecStatusType st = PQresultStatus(res);
	const char *state;
	enum adw_errcode code;

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	code = PQstatus(conn) == CONNECTION_BAD ? ADW_ERR_UNAVAILABLE : map_sqlstate(state);
	/* A unique violation is a conflict the caller answers (409), not a fault. */
	adw_log_write(code == ADW_ERR_CONFLICT ? ADW_LOG_DEBUG : ADW_LOG_WARN,
		      "query failed: sqlstate=%s %s", state ? state : "-",
		      res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	switch (code) {
	case ADW_ERR_UNAVAILABLE: adw_err_set(err, code, "database unavailable"); break;
	case ADW_ERR_CONFLICT: adw_err_set(err, code, "conflicts with an existing row"); break;
	case ADW_ERR_INVALID: {
		const char *constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);

		/* PostgreSQL's own text is logged above, never sent (style rule 5). */
		if (constraint)
			adw_err_set(err, code, "rejected by the database: constraint '%s'",
				    constraint);
		else
			adw_err_set(err, code, "rejected by the database (sqlstate %s)", state);
		break;
	}
	default: adw_err_set(err, code, "database error (sqlstate %s)", state ? state : "-"); break;
	}
	PQclear(res);
	return NULL;
}

PGresult *adw_db_query(PGconn *conn, const char *sql, int n, const char *const *params,
		       struct adw_err *err)
{
	return checked(conn, PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0), err);
}

PGresult *adw_db_query_prepared(PGconn *conn, const char *name, const char *sql, int n,
				const char *const *params, struct adw_err *err)
{
	PGresult *res;
	const char *state;

	/* A failed statement would abort an open transaction: prepare only outside one. */
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		return adw_db_query(conn, sql, n, params, err);
	res = PQexecPrepared(conn, name, n, params, NULL, NULL, 0);
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (PQresultStatus(res) == PGRES_FATAL_ERROR && state && strcmp(state, "26000") == 0) {
		/* Not prepared on this connection yet (or it was reset): prepare once. */
		PQclear(res);
		res = checked(conn, PQprepare(conn, name, sql, n, NULL), err);
		if (!res)
			return NULL;
		PQclear(res);
		res = PQexecPrepared(conn, name, n, params, NULL, NULL, 0);
	}
	return checked(conn, res, err);
}

int adw_db_exec(PGconn *conn, const char *sql, int n, const char *const *params,
		struct adw_err *err)
{
	PGresult *res = adw_db_query(conn, sql, n, params, err);

	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

int adw_db_check(PGconn *conn, struct adw_err *err)
{
	/*
	 * An idle connection whose server closed it (a terminated backend, a
	 * restart) still says OK until it is read: read what waits first (a
	 * non-blocking recv; notifications stay queued for PQnotifies).
	 */
	if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) == PQTRANS_IDLE &&
	    PQconsumeInput(conn))
		PQconsumeInput(conn); /* the server's last message, then its EOF */
	if (PQstatus(conn) == CONNECTION_OK)
		return 0;
	PQreset(conn);
	if (PQstatus(conn) == CONNECTION_OK) {
		adw_log_info("database connection re-established");
		return 0;
	}
	return adw_err_set(err, ADW_ERR_UNAVAILABLE, "database unavailable");
}

char *adw_db_strdup(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return NULL;
	return adw_xstrdup(PQgetvalue(res, row, col));
}

int adw_db_query_text(PGconn *conn, const char *name, const char *sql, int n,
		      const char *const *params, char **out, struct adw_err *err)
{
	PGresult *res = name ? adw_db_query_prepared(conn, name, sql, n, params, err)
			     : adw_db_query(conn, sql, n, params, err);

	if (!res)
		return -1;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		PQclear(res);
		return adw_err_set(err, ADW_ERR_NOT_FOUND, "not found");
	}
	*out = adw_xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}
