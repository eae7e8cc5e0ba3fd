/* SPDX-License-Identifier: MIT */
/*
 * adw-run: runs one ADW (adw-run --adw-id UUID). Spawned by a supervisor
 * (adw-server, adw worker) or by `adw run` in the foreground. Exit codes:
 * 0 completed, 1 failed, 2 usage or configuration error.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adw_build.h"
#include "adw_config.h"
#include "adw_db.h"
#include "adw_log.h"
#include "adw_runner.h"
#include "adw_store.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: adw-run --adw-id UUID\n"
		"\n"
		"Runs the steps of one AI Developer Workflow to its end, writing every event to\n"
		"PostgreSQL. Normally started by adw-server or `adw run`.\n"
		"\n"
		"  --adw-id UUID   the ADW to run (pending, or claimed by a supervisor)\n"
		"  -h, --help      this help\n"
		"  --version       the version\n"
		"\n"
		"Environment: DATABASE_URL, ADW_HOME, ADW_CLAUDE_BIN, ADW_MODEL (see adw --help).\n"
		"Exit status: 0 completed, 1 failed, 2 usage or configuration error.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"adw-id", required_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct adw_config cfg;
	struct adw_err err = {0};
	const char *id = NULL;
	char *conninfo;
	int c, rc;

	adw_log_init("adw-run");
	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': id = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("adw-run %s\n", ADW_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!id || optind != argc) {
		fprintf(stderr, "adw: usage: adw-run --adw-id UUID\n");
		return 2;
	}
	if (!adw_store_is_uuid(id)) {
		fprintf(stderr, "adw: bad value '%s' for '--adw-id': not a uuid\n", id);
		return 2;
	}
	if (adw_config_load(&cfg, &err) < 0) {
		fprintf(stderr, "adw: configuration: %s\n", err.msg);
		adw_config_release(&cfg);
		return 2;
	}
	conninfo = adw_db_conninfo(&cfg);
	rc = adw_runner_run(&cfg, conninfo, id);
	free(conninfo);
	adw_config_release(&cfg);
	return rc;
}
