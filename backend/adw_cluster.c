/* SPDX-License-Identifier: MIT */
/* The embedded PostgreSQL cluster under $ADW_HOME/pg: initdb, start, stop. */
#include "adw_cluster.h"

#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adw_log.h"
#include "adw_proc.h"

#define SOCKET_MAX 100 /* sun_path is 108 bytes; leave room for "/.s.PGSQL.5432" */

static unsigned long fnv1a(const char *s)
{
	unsigned long h = 2166136261UL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619UL;
	return h & 0xffffffffUL;
}

char *adw_cluster_socket_dir(const struct adw_config *cfg)
{
	char *dir = adw_xasprintf("%s/pg/run", cfg->home);

	if (strlen(dir) + strlen("/.s.PGSQL.5432") <= SOCKET_MAX)
		return dir;
	free(dir);
	return adw_xasprintf("/tmp/adw-%u-%08lx", (unsigned)getuid(), fnv1a(cfg->home));
}

char *adw_cluster_conninfo(const struct adw_config *cfg)
{
	char *sock = adw_cluster_socket_dir(cfg);
	char *ci = adw_xasprintf("host=%s port=5432 user=postgres dbname=adw", sock);

	free(sock);
	return ci;
}

/* Newest /usr/lib/postgresql/N/bin, or ADW_PG_BIN, or "" (use PATH). */
static char *pg_bindir(void)
{
	const char *env = getenv("ADW_PG_BIN");
	DIR *d;
	struct dirent *e;
	long best = -1;

	if (env && *env)
		return adw_xstrdup(env);
	d = opendir("/usr/lib/postgresql");
	if (d) {
		while ((e = readdir(d))) {
			char *end;
			long v = strtol(e->d_name, &end, 10);

			if (*end == '\0' && end != e->d_name && v > best)
				best = v;
		}
		closedir(d);
	}
	if (best < 0)
		return adw_xstrdup("");
	return adw_xasprintf("/usr/lib/postgresql/%ld/bin/", best);
}

/* Runs a PostgreSQL tool, as the postgres user when we are root. */
static int run_pg(const char *tool, const char *const *args, const char *log_path,
		  struct adw_err *err)
{
	char *bindir = pg_bindir();
	char *prog = adw_xasprintf("%s%s", bindir, tool);
	char *argv[32];
	struct adw_proc_opts opts = {.cwd = "/", .log_path = log_path, .devnull_stdin = true};
	char why[128];
	int i = 0, status, rc = -1;

	if (geteuid() == 0) {
		argv[i++] = (char *)"runuser";
		argv[i++] = (char *)"-u";
		argv[i++] = (char *)"postgres";
		argv[i++] = (char *)"--";
	}
	argv[i++] = prog;
	for (; *args && i < 31; args++)
		argv[i++] = (char *)*args;
	argv[i] = NULL;
	if (adw_proc_run(argv, &opts, &status, err) < 0)
		goto out;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		adw_err_set(err, ADW_ERR_UNAVAILABLE, "%s %s (see %s)", tool,
			    adw_proc_describe(status, why, sizeof(why)), log_path);
		goto out;
	}
	rc = 0;
out:
	free(prog);
	free(bindir);
	return rc;
}

static int make_dir(const char *path, struct adw_err *err)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return adw_err_set(err, ADW_ERR_UNAVAILABLE, "cannot create '%s': %s", path,
				   strerror(errno));
	return 0;
}

static int give_to_postgres(const char *path, struct adw_err *err)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	pw = getpwnam("postgres");
	if (!pw)
		return adw_err_set(err, ADW_ERR_UNAVAILABLE,
				   "running as root needs the 'postgres' system user for the "
				   "embedded database (or set DATABASE_URL)");
	if (chown(path, pw->pw_uid, pw->pw_gid) < 0)
		return adw_err_set(err, ADW_ERR_UNAVAILABLE, "cannot chown '%s': %s", path,
				   strerror(errno));
	return 0;
}

/* As root the cluster runs as postgres: can that user write dir? */
static bool postgres_can_write(const char *dir)
{
	char *argv[] = {(char *)"runuser", (char *)"-u", (char *)"postgres", (char *)"--",
			(char *)"test",	   (char *)"-w", (char *)dir,	     NULL};
	struct adw_proc_opts opts = {.cwd = "/", .devnull_stdin = true};
	struct adw_err err = {0};
	int status;

	if (adw_proc_run(argv, &opts, &status, &err) < 0)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static bool server_up(const char *sockdir)
{
	char *ci = adw_xasprintf("host=%s port=5432 user=postgres dbname=postgres "
				 "connect_timeout=2",
				 sockdir);
	bool up = PQping(ci) == PQPING_OK;

	free(ci);
	return up;
}

static int write_conf(const char *datadir, const char *sockdir, struct adw_err *err)
{
	char *path = adw_xasprintf("%s/postgresql.conf", datadir);
	FILE *f = fopen(path, "a");
	int rc = -1;

	if (!f) {
		adw_err_set(err, ADW_ERR_UNAVAILABLE, "cannot write '%s': %s", path,
			    strerror(errno));
		goto out;
	}
	fprintf(f,
		"\n# adw embedded cluster: unix socket only\n"
		"listen_addresses = ''\n"
		"unix_socket_directories = '%s'\n"
		"unix_socket_permissions = 0700\n"
		"port = 5432\n"
		"max_connections = 200\n",
		sockdir);
	if (fclose(f) != 0) {
		adw_err_set(err, ADW_ERR_UNAVAILABLE, "cannot write '%s'", path);
		goto out;
	}
	rc = 0;
out:
	free(path);
	return rc;
}

static int create_database(const char *sockdir, struct adw_err *err)
{
	char *ci = adw_xasprintf("host=%s port=5432 user=postgres dbname=postgres", sockdir);
	PGconn *c = PQconnectdb(ci);
	PGresult *r = NULL;
	int rc = -1;

	if (PQstatus(c) != CONNECTION_OK) {
		adw_err_set(err, ADW_ERR_UNAVAILABLE, "cannot connect to the embedded database");
		goto out;
	}
	r = PQexec(c, "SELECT 1 FROM pg_database WHERE datname = 'adw'");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 0) {
		PQclear(r);
		r = PQexec(c, "CREATE DATABASE adw");
		if (PQresultStatus(r) != PGRES_COMMAND_OK &&
		    strcmp(PQresultErrorField(r, PG_DIAG_SQLSTATE) ?: "", "42P04") != 0) {
			adw_err_set(err, ADW_ERR_UNAVAILABLE, "cannot create database 'adw': %s",
				    PQresultErrorMessage(r));
			goto out;
		}
	}
	rc = 0;
out:
	PQclear(r);
	PQfinish(c);
	free(ci);
	return rc;
}

int adw_cluster_ensure(const struct adw_config *cfg, bool *started, struct adw_err *err)
{
	char *pgdir = adw_xasprintf("%s/pg", cfg->home);
	char *datadir = adw_xasprintf("%s/data", pgdir);
	char *sockdir = adw_cluster_socket_dir(cfg);
	char *initlog = adw_xasprintf("%s/initdb.log", pgdir);
	char *serverlog = adw_xasprintf("%s/server.log", pgdir);
	char *version = adw_xasprintf("%s/PG_VERSION", datadir);
	struct stat st;
	int rc = -1;

	*started = false;
	if (mkdir(cfg->home, 0755) < 0 && errno != EEXIST) {
		adw_err_set(err, ADW_ERR_UNAVAILABLE, "cannot create ADW_HOME '%s': %s", cfg->home,
			    strerror(errno));
		goto out;
	}
	if (make_dir(pgdir, err) < 0 || give_to_postgres(pgdir, err) < 0)
		goto out;
	if (geteuid() == 0 && !postgres_can_write(pgdir)) {
		adw_err_set(
		    err, ADW_ERR_UNAVAILABLE,
		    "the 'postgres' user cannot reach '%s' (a parent directory is private); "
		    "set ADW_HOME to a reachable directory (e.g. /var/lib/adw) or set "
		    "DATABASE_URL",
		    pgdir);
		goto out;
	}
	if (make_dir(sockdir, err) < 0 || give_to_postgres(sockdir, err) < 0)
		goto out;
	if (stat(version, &st) != 0) {
		const char *args[] = {"-D",    datadir, "-U",	"postgres",	    "-A",
				      "trust", "-E",	"UTF8", "--locale=C.UTF-8", NULL};

		adw_log_info("creating the embedded database in %s", datadir);
		if (run_pg("initdb", args, initlog, err) < 0)
			goto out;
		if (write_conf(datadir, sockdir, err) < 0)
			goto out;
	}
	if (!server_up(sockdir)) {
		const char *args[] = {"-D", datadir, "-l", serverlog, "-w",
				      "-t", "60",    "-s", "start",   NULL};

		adw_log_info("starting the embedded database (socket in %s)", sockdir);
		if (run_pg("pg_ctl", args, initlog, err) < 0)
			goto out;
		*started = true;
	}
	if (create_database(sockdir, err) < 0)
		goto out;
	rc = 0;
out:
	free(version);
	free(serverlog);
	free(initlog);
	free(sockdir);
	free(datadir);
	free(pgdir);
	return rc;
}

int adw_cluster_stop(const struct adw_config *cfg, struct adw_err *err)
{
	char *datadir = adw_xasprintf("%s/pg/data", cfg->home);
	char *log = adw_xasprintf("%s/pg/initdb.log", cfg->home);
	const char *args[] = {"-D", datadir, "-m", "fast", "-w", "-s", "stop", NULL};
	int rc = run_pg("pg_ctl", args, log, err);

	free(log);
	free(datadir);
	return rc;
}
