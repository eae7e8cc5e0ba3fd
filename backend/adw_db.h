/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL connections and parameterised queries (libpq). Every SQL text
 * in adw is sent with parameters, never spliced. A PGconn belongs to one
 * thread at a time; these functions hold no global state.
 */
#ifndef ADW_DB_H
#define ADW_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "adw_config.h"
#include "adw_err.h"

/**
 * The connection string for cfg: DATABASE_URL, or the embedded cluster's
 * socket (see adw_cluster.h). Caller frees.
 */
char *adw_db_conninfo(const struct adw_config *cfg);
/**
 * Connects and sets the session to UTC. Returns the connection, or NULL
 * with err (UNAVAILABLE, libpq's reason in the message). Caller closes with
 * PQfinish().
 */
PGconn *adw_db_connect(const char *conninfo, struct adw_err *err);
/**
 * Runs sql with n text parameters (NULL entries are SQL NULL). Returns the
 * result (PGRES_TUPLES_OK or PGRES_COMMAND_OK; caller PQclear()s it), or
 * NULL with err: UNAVAILABLE when the connection is lost, CONFLICT for a
 * unique violation, INVALID for another constraint violation, INTERNAL
 * otherwise. libpq's text is logged, not put in err.
 */
PGresult *adw_db_query(PGconn *conn, const char *sql, int n, const char *const *params,
		       struct adw_err *err);
/**
 * As adw_db_query, through a statement prepared once per connection under
 * name (prepared on first use and again after a reconnect). Outside a
 * transaction only; inside one it runs unprepared. The caller keeps one
 * sql text per name.
 */
PGresult *adw_db_query_prepared(PGconn *conn, const char *name, const char *sql, int n,
				const char *const *params, struct adw_err *err);
/** As adw_db_query, discarding the result. Returns 0 or -1. */
int adw_db_exec(PGconn *conn, const char *sql, int n, const char *const *params,
		struct adw_err *err) ADW_MUST_CHECK;
/**
 * Makes sure conn is usable, resetting it once when it is broken — also
 * when an idle connection was closed by the server (terminated backend,
 * restart), which a non-blocking read finds. Returns 0, or -1 with err
 * (UNAVAILABLE).
 */
int adw_db_check(PGconn *conn, struct adw_err *err) ADW_MUST_CHECK;
/**
 * Runs a query answering one row of one non-NULL text column (a JSON
 * document), prepared under name when name is not NULL (see
 * adw_db_query_prepared). *out gets the text (caller frees). Errors as
 * adw_db_query, and NOT_FOUND "not found" when there is no row or it is NULL.
 */
int adw_db_query_text(PGconn *conn, const char *name, const char *sql, int n,
		      const char *const *params, char **out, struct adw_err *err) ADW_MUST_CHECK;
/** The value at (row, col) as a new string, or NULL for SQL NULL. Caller frees. */
char *adw_db_strdup(const PGresult *res, int row, int col);

#endif
