/* SPDX-License-Identifier: MIT */
/* Applies numbered SQL migrations with checksums and an advisory lock. */
#include "adw_migrate.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adw_buf.h"
#include "adw_db.h"
#include "adw_log.h"

#define MIGRATION_MAX (16 * 1024 * 1024)
#define LOCK_KEY "7340210953" /* pg_advisory_lock key owned by adw migrations */

struct migration {
	long version;
	char *name;
};

void adw_migrate_checksum(const void *p, size_t n, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
	for (unsigned i = 0; i < len && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

static int cmp_migration(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;

	return (x->version > y->version) - (x->version < y->version);
}

static int read_file(const char *path, struct adw_buf *b, struct adw_err *err)
{
	FILE *f = fopen(path, "rb");
	char chunk[8192];
	size_t n;

	if (!f)
		return adw_err_set(err, ADW_ERR_INVALID, "cannot read '%s': %s", path,
				   strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (adw_buf_add(b, chunk, n) < 0) {
			fclose(f);
			return adw_err_set(err, ADW_ERR_INVALID, "'%s' is over 16 MiB", path);
		}
	}
	fclose(f);
	return 0;
}

static int list_dir(const char *dir, struct migration **out, size_t *count, struct adw_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct migration *list = NULL;
	size_t n = 0;

	if (!d)
		return adw_err_set(err, ADW_ERR_INVALID,
				   "cannot open migrations directory '%s': %s", dir,
				   strerror(errno));
	while ((e = readdir(d))) {
		const char *nm = e->d_name;
		size_t len = strlen(nm);
		char *end;
		long v;

		if (len < 5 || strcmp(nm + len - 4, ".sql") != 0)
			continue;
		v = strtol(nm, &end, 10);
		if (end == nm || *end != '_' || v <= 0) {
			adw_err_set(err, ADW_ERR_INVALID,
				    "bad migration file name '%s': expected NNN_name.sql", nm);
			closedir(d);
			for (size_t i = 0; i < n; i++)
				free(list[i].name);
			free(list);
			return -1;
		}
		list = adw_xrealloc(list, (n + 1) * sizeof(*list));
		list[n].version = v;
		list[n].name = adw_xstrdup(nm);
		n++;
	}
	closedir(d);
	if (n)
		qsort(list, n, sizeof(*list), cmp_migration);
	for (size_t i = 1; i < n; i++) {
		if (list[i].version == list[i - 1].version) {
			adw_err_set(err, ADW_ERR_INVALID,
				    "migrations '%s' and '%s' share number %ld", list[i - 1].name,
				    list[i].name, list[i].version);
			for (size_t j = 0; j < n; j++)
				free(list[j].name);
			free(list);
			return -1;
		}
	}
	*out = list;
	*count = n;
	return 0;
}

/* Runs one migration file in its own transaction. */
static int apply_one(PGconn *conn, const struct migration *m, const char *sql, const char *sum,
		     struct adw_err *err)
{
	char version[32];
	const char *params[3] = {version, m->name, sum};
	PGresult *res;

	snprintf(version, sizeof(version), "%ld", m->version);
	if (adw_db_exec(conn, "BEGIN", 0, NULL, err) < 0)
		return -1;
	/* PQexec (no parameters) runs a multi-statement file in this transaction. */
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		char *msg = adw_xstrdup(PQresultErrorMessage(res));
		size_t len = strlen(msg);

		while (len && msg[len - 1] == '\n')
			msg[--len] = '\0';
		PQclear(res);
		PQclear(PQexec(conn, "ROLLBACK"));
		adw_err_set(
		    err, PQstatus(conn) == CONNECTION_BAD ? ADW_ERR_UNAVAILABLE : ADW_ERR_INTERNAL,
		    "migration '%s' failed: %s", m->name, msg);
		free(msg);
		return -1;
	}
	PQclear(res);
	if (adw_db_exec(
		conn, "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
		3, params, err) < 0 ||
	    adw_db_exec(conn, "COMMIT", 0, NULL, err) < 0) {
		PQclear(PQexec(conn, "ROLLBACK"));
		return -1;
	}
	adw_log_info("applied migration %s", m->name);
	return 0;
}

int adw_migrate_run(PGconn *conn, const char *dir, int *applied, struct adw_err *err)
{
	struct migration *list = NULL;
	size_t count = 0;
	PGresult *done = NULL;
	struct adw_buf sql;
	int rc = -1, n_applied = 0;
	bool locked = false;

	adw_buf_init(&sql, MIGRATION_MAX);
	if (applied)
		*applied = 0;
	if (list_dir(dir, &list, &count, err) < 0)
		goto out;
	if (adw_db_exec(conn, "SELECT pg_advisory_lock(" LOCK_KEY ")", 0, NULL, err) < 0)
		goto out;
	locked = true;
	if (adw_db_exec(conn,
			"CREATE TABLE IF NOT EXISTS schema_migrations ("
			" version integer PRIMARY KEY, name text NOT NULL,"
			" checksum text NOT NULL,"
			" applied_at timestamptz NOT NULL DEFAULT now())",
			0, NULL, err) < 0)
		goto out;
	done = adw_db_query(conn, "SELECT version, name, checksum FROM schema_migrations", 0, NULL,
			    err);
	if (!done)
		goto out;
	for (size_t i = 0; i < count; i++) {
		const char *known = NULL;
		char *path = adw_xasprintf("%s/%s", dir, list[i].name);
		char sum[65];

		adw_buf_reset(&sql);
		if (read_file(path, &sql, err) < 0) {
			free(path);
			goto out;
		}
		free(path);
		adw_migrate_checksum(sql.data ? sql.data : "", sql.len, sum);
		for (int r = 0; r < PQntuples(done); r++) {
			if (strtol(PQgetvalue(done, r, 0), NULL, 10) == list[i].version)
				known = PQgetvalue(done, r, 2);
		}
		if (known) {
			if (strcmp(known, sum) != 0) {
				adw_err_set(err, ADW_ERR_INVALID,
					    "migration '%s' was changed after it was applied "
					    "(applied sha256 %.12s, file sha256 %.12s): add a new "
					    "migration instead of editing an applied one",
					    list[i].name, known, sum);
				goto out;
			}
			continue;
		}
		if (apply_one(conn, &list[i], adw_buf_str(&sql), sum, err) < 0)
			goto out;
		n_applied++;
	}
	if (applied)
		*applied = n_applied;
	rc = 0;
out:
	if (locked)
		PQclear(PQexec(conn, "SELECT pg_advisory_unlock(" LOCK_KEY ")"));
	PQclear(done);
	adw_buf_release(&sql);
	for (size_t i = 0; i < count; i++)
		free(list[i].name);
	free(list);
	return rc;
}
