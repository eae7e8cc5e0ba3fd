/* SPDX-License-Identifier: MIT */
/*
 * Schema migrations: numbered SQL files "NNN_name.sql" in a directory,
 * applied in number order, each in its own transaction, recorded in
 * schema_migrations with its SHA-256. A file changed after it was applied
 * is refused. Several processes may migrate at once: a session advisory
 * lock serialises them. Call from one thread per connection.
 */
#ifndef ADW_MIGRATE_H
#define ADW_MIGRATE_H

#include <libpq-fe.h>

#include "adw_err.h"

/**
 * Applies every pending migration of dir on conn. *applied (may be NULL)
 * gets the number applied now. Returns 0, or -1 with err: INVALID for a
 * bad file name, a duplicate number or a changed applied file; INTERNAL
 * with the file name and PostgreSQL's message when a migration fails (that
 * migration is rolled back, later ones are not tried); UNAVAILABLE when the
 * database is gone.
 */
int adw_migrate_run(PGconn *conn, const char *dir, int *applied,
		    struct adw_err *err) ADW_MUST_CHECK;
/**
 * Hex SHA-256 of n bytes at p into out (65 bytes, NUL-terminated).
 */
void adw_migrate_checksum(const void *p, size_t n, char out[65]);

#endif
