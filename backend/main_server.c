/* SPDX-License-Identifier: MIT */
/*
 * adw-server: the HTTP API, the static web UI and the supervisor that runs
 * pending ADWs. With DATABASE_URL unset it creates/starts the embedded
 * PostgreSQL under $ADW_HOME/pg and stops it on exit.
 */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "adw_build.h"
#include "adw_cluster.h"
#include "adw_config.h"
#include "adw_db.h"
#include "adw_http.h"
#include "adw_log.h"
#include "adw_migrate.h"
#include "adw_stream.h"
#include "adw_supervisor.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: adw-server [options]\n"
	    "\n"
	    "Serves the adw API and web dashboard, and runs pending AI Developer Workflows.\n"
	    "\n"
	    "  --listen HOST:PORT     address to listen on (ADW_LISTEN; default 127.0.0.1:9403)\n"
	    "  --database-url URL     PostgreSQL (DATABASE_URL; default: the embedded cluster\n"
	    "                         under $ADW_HOME/pg, created and started as needed)\n"
	    "  --home DIR             state directory (ADW_HOME; default ./.adw)\n"
	    "  --max-running N        ADWs run at once (ADW_MAX_RUNNING; default 8)\n"
	    "  --no-migrate           do not apply pending migrations at start\n"
	    "  --no-supervisor        serve only; do not run ADWs\n"
	    "  -h, --help             this help\n"
	    "  --version              the version\n"
	    "\n"
	    "Other environment: ADW_WORKDIR, ADW_RUNTIME (claude|dry-run), ADW_CLAUDE_BIN,\n"
	    "ADW_MODEL, ADW_STREAM_RING (events kept for live clients, default 8192),\n"
	    "ADW_STREAM_PING_MS (keep-alive of idle streams, default 15000),\n"
	    "ADW_PAUSE_TIMEOUT_S (a paused ADW not resumed in time is cancelled, default 1800),\n"
	    "ADW_QUESTION_TIMEOUT_S (an unanswered question takes its default or cancels the ADW,\n"
	    "default 1800), ADW_MAX_RECOVERIES (times a lost ADW is resumed, default 3),\n"
	    "ADW_DB_OUTAGE_S (a running ADW waits this long for the database, default 300),\n"
	    "ADW_WORKTREE_DIR, ADW_BASE_BRANCH, ADW_WORKTREE_KEEP (git worktrees of ADWs).\n"
	    "Exit status: 0 after a clean stop (SIGINT/SIGTERM), 1 when the database or the\n"
	    "listen address is unusable, 2 on a usage or configuration error.\n");
}

/* Every stream client holds a socket: allow as many as the hard limit does. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			adw_log_warn("cannot raise the open files limit");
	}
}

static int export_config(const struct adw_config *cfg)
{
	/* adw-run children compute the same configuration from the environment. */
	if (setenv("ADW_HOME", cfg->home, 1) < 0 || setenv("ADW_WORKDIR", cfg->workdir, 1) < 0 ||
	    setenv("ADW_RUNTIME", cfg->runtime, 1) < 0 ||
	    setenv("ADW_DATA_DIR", cfg->data_dir, 1) < 0)
		return -1;
	if (cfg->database_url && setenv("DATABASE_URL", cfg->database_url, 1) < 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	enum {
		OPT_LISTEN = 256,
		OPT_DB,
		OPT_HOME,
		OPT_MAX,
		OPT_NO_MIGRATE,
		OPT_NO_SUP,
		OPT_VERSION
	};
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, OPT_LISTEN},
	    {"database-url", required_argument, NULL, OPT_DB},
	    {"home", required_argument, NULL, OPT_HOME},
	    {"max-running", required_argument, NULL, OPT_MAX},
	    {"no-migrate", no_argument, NULL, OPT_NO_MIGRATE},
	    {"no-supervisor", no_argument, NULL, OPT_NO_SUP},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {NULL, 0, NULL, 0},
	};
	struct adw_config cfg;
	struct adw_err err = {0};
	struct adw_http *http = NULL;
	struct adw_supervisor *sup = NULL;
	struct adw_stream *stream = NULL;
	bool migrate = true, supervise = true, cluster_started = false;
	char *conninfo = NULL;
	PGconn *conn = NULL;
	sigset_t sigs;
	int c, sig, rc = 1;

	adw_log_init("adw-server");
	if (adw_config_load(&cfg, &err) < 0) {
		fprintf(stderr, "adw: configuration: %s\n", err.msg);
		adw_config_release(&cfg);
		return 2;
	}
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN:
			if (adw_config_set_listen(&cfg, optarg, &err) < 0) {
				fprintf(stderr, "adw: --listen: %s\n", err.msg);
				rc = 2;
				goto out;
			}
			break;
		case OPT_DB:
			free(cfg.database_url);
			cfg.database_url = adw_xstrdup(optarg);
			break;
		case OPT_HOME:
			free(cfg.home);
			cfg.home = adw_config_abspath(optarg);
			break;
		case OPT_MAX: {
			char *end;
			long n = strtol(optarg, &end, 10);

			if (*end || n < 1 || n > 1024) {
				fprintf(
				    stderr,
				    "adw: bad value '%s' for '--max-running': expected 1..1024\n",
				    optarg);
				rc = 2;
				goto out;
			}
			cfg.max_running = (int)n;
			break;
		}
		case OPT_NO_MIGRATE: migrate = false; break;
		case OPT_NO_SUP: supervise = false; break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		case OPT_VERSION:
			printf("adw-server %s\n", ADW_VERSION);
			rc = 0;
			goto out;
		default:
			usage(stderr);
			rc = 2;
			goto out;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "adw: unexpected argument '%s'\n", argv[optind]);
		rc = 2;
		goto out;
	}
	if (export_config(&cfg) < 0) {
		fprintf(stderr, "adw: cannot set the environment for adw-run\n");
		goto out;
	}
	raise_fd_limit();
	/* Block shutdown signals before any thread starts: main sigwait()s for them. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if (!cfg.database_url && adw_cluster_ensure(&cfg, &cluster_started, &err) < 0) {
		fprintf(stderr, "adw: embedded database: %s\n", err.msg);
		goto out;
	}
	conninfo = adw_db_conninfo(&cfg);
	conn = adw_db_connect(conninfo, &err);
	if (!conn) {
		fprintf(stderr, "adw: database: %s\n", err.msg);
		goto out;
	}
	if (migrate) {
		char *dir = adw_config_data_path(&cfg, "migrations");
		int applied = 0;
		int mrc = adw_migrate_run(conn, dir, &applied, &err);

		free(dir);
		if (mrc < 0) {
			fprintf(stderr, "adw: migrate: %s\n", err.msg);
			goto out;
		}
	}
	PQfinish(conn);
	conn = NULL;
	if (supervise) {
		sup = adw_supervisor_start(&cfg, conninfo, &err);
		if (!sup) {
			fprintf(stderr, "adw: supervisor: %s\n", err.msg);
			goto out;
		}
	}
	stream = adw_stream_start(&cfg, conninfo, &err);
	if (!stream) {
		fprintf(stderr, "adw: stream: %s\n", err.msg);
		goto out;
	}
	http = adw_http_start(&cfg, conninfo, stream, &err);
	if (!http) {
		fprintf(stderr, "adw: listen: %s\n", err.msg);
		goto out;
	}
	printf("adw-server %s listening on http://%s:%u/\n", ADW_VERSION, cfg.listen_host,
	       adw_http_port(http));
	fflush(stdout);
	adw_log_info("listening on http://%s:%u/ (runtime %s, data %s)", cfg.listen_host,
		     adw_http_port(http), cfg.runtime, cfg.data_dir);
	while (sigwait(&sigs, &sig) != 0)
		;
	adw_log_info("stopping on %s", sig == SIGINT ? "SIGINT" : "SIGTERM");
	rc = 0;
out:
	adw_http_stop(http);
	adw_stream_stop(stream);
	/* With the embedded cluster going down, running ADWs cannot go on. */
	adw_supervisor_stop(sup, cluster_started);
	PQfinish(conn);
	if (cluster_started && adw_cluster_stop(&cfg, &err) < 0)
		fprintf(stderr, "adw: embedded database: %s\n", err.msg);
	free(conninfo);
	adw_config_release(&cfg);
	return rc;
}
