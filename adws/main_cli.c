/* SPDX-License-Identifier: MIT */
/*
 * adw: the command-line tool (INTERFACE.md "Command-line tool"). It talks
 * to PostgreSQL directly (DATABASE_URL, or the embedded cluster, started
 * for the command when no server runs it). Exit status: 0 ok, 1 failed
 * operation (or a followed ADW that did not complete), 2 usage or
 * configuration error. Errors: "adw: <what>: <why>" on stderr.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adw_build.h"
#include "adw_cluster.h"
#include "adw_config.h"
#include "adw_db.h"
#include "adw_log.h"
#include "adw_migrate.h"
#include "adw_proc.h"
#include "adw_store.h"
#include "adw_supervisor.h"
#include "adw_thread.h"
#include "adw_workflow.h"

struct cli {
	struct adw_config cfg;
	char *conninfo;
	PGconn *conn;
	bool cluster_started;
	bool json;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: adw <command> [arguments] [options]\n"
	    "\n"
	    "Commands:\n"
	    "  start WORKFLOW PROMPT [--dir DIR] [--name NAME] [--runtime R] [--model M] "
	    "[--follow]\n"
	    "        [--idempotency-key KEY]  refused (exit 1) while an unfinished ADW has KEY\n"
	    "        [--timeout S] [--step-timeout S] [--max-cost USD]   limits of the run\n"
	    "                         create an ADW; a running adw-server or `adw worker` runs it\n"
	    "  trigger NAME WORKFLOW PROMPT DIR [MODEL]\n"
	    "                         the original's manual trigger (same order), then start\n"
	    "  run WORKFLOW PROMPT [--dir DIR] [--name NAME] [--runtime R] [--model M]\n"
	    "                         run an ADW in the foreground, no server needed\n"
	    "  list [--status S] [--limit N]   ADWs, newest first\n"
	    "  show ID|NAME                    one ADW with its steps\n"
	    "  follow ID|NAME                  print events as they happen until the ADW ends\n"
	    "  workflows                       the workflows and their steps\n"
	    "  migrate                         apply pending database migrations\n"
	    "  worker [--max-running N]        run pending ADWs (a supervisor without HTTP)\n"
	    "  pause|resume|cancel ID|NAME [--reason TEXT]\n"
	    "                         steer an ADW; a running one acts at its next checkpoint\n"
	    "  say ID|NAME TEXT                an instruction for the running agent\n"
	    "  redirect ID|NAME PROMPT         cancel the ADW and start a new one with PROMPT\n"
	    "  answer QUESTION_ID TEXT         answer an agent's question (id or 8+ characters)\n"
	    "  thread ID|NAME                  the ADW's messages and actions\n"
	    "  questions [--all]               the questions waiting for an answer\n"
	    "  retry ID|NAME [--from-step STEP]\n"
	    "                         run a failed or cancelled ADW again from STEP (default:\n"
	    "                         its first unfinished step; finished ones are kept)\n"
	    "\n"
	    "Options:\n"
	    "  --database-url URL  PostgreSQL (DATABASE_URL; default: the embedded cluster)\n"
	    "  --home DIR          state directory (ADW_HOME; default ./.adw)\n"
	    "  --json              print JSON (list, show, start, workflows, steering)\n"
	    "  -h, --help          this help;  --version  the version\n"
	    "\n"
	    "Environment: DATABASE_URL, ADW_HOME, ADW_WORKDIR, ADW_RUNTIME (claude|dry-run),\n"
	    "ADW_CLAUDE_BIN, ADW_MODEL, ADW_MAX_RUNNING, ADW_LISTEN, ADW_PAUSE_TIMEOUT_S,\n"
	    "ADW_QUESTION_TIMEOUT_S, ADW_MAX_RECOVERIES, ADW_DB_OUTAGE_S, ADW_WORKTREE_DIR,\n"
	    "ADW_BASE_BRANCH, ADW_WORKTREE_KEEP.\n"
	    "Exit status: 0 ok, 1 the operation failed (or the ADW did not complete),\n"
	    "2 usage or configuration error.\n");
}

static int die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "adw: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nadw: see 'adw --help'\n");
	return 2;
}

static int fail(const char *what, const struct adw_err *err)
{
	fprintf(stderr, "adw: %s: %s\n", what, err->msg);
	return err->code == ADW_ERR_INVALID || err->code == ADW_ERR_NOT_FOUND ? 1 : 1;
}

static int connect(struct cli *c)
{
	struct adw_err err = {0};

	if (!c->cfg.database_url && adw_cluster_ensure(&c->cfg, &c->cluster_started, &err) < 0)
		return fail("embedded database", &err);
	c->conninfo = adw_db_conninfo(&c->cfg);
	c->conn = adw_db_connect(c->conninfo, &err);
	if (!c->conn)
		return fail("database", &err);
	return 0;
}

/* Applies migrations quietly so that a fresh database works for any command. */
static int ensure_schema(struct cli *c)
{
	struct adw_err err = {0};
	char *dir = adw_config_data_path(&c->cfg, "migrations");
	int rc = adw_migrate_run(c->conn, dir, NULL, &err);

	free(dir);
	return rc < 0 ? fail("migrate", &err) : 0;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void fmt_duration(double ms, char *buf, size_t n)
{
	long s = (long)(ms / 1000);

	if (ms <= 0)
		snprintf(buf, n, "-");
	else if (s < 60)
		snprintf(buf, n, "%.1fs", ms / 1000.0);
	else
		snprintf(buf, n, "%ldm %02lds", s / 60, s % 60);
}

static void print_adw(const cJSON *a)
{
	const cJSON *steps = cJSON_GetObjectItemCaseSensitive(a, "steps");
	const cJSON *arts = cJSON_GetObjectItemCaseSensitive(a, "artifacts");
	const cJSON *s;
	char dur[32];

	fmt_duration(jnum(a, "duration_ms"), dur, sizeof(dur));
	printf("ADW %s  %s\n", jstr(a, "name"), jstr(a, "id"));
	printf("  workflow   %s (%d/%d steps)\n", jstr(a, "workflow"),
	       (int)jnum(a, "completed_steps"), (int)jnum(a, "total_steps"));
	printf("  status     %s%s%s\n", jstr(a, "status"), jstr(a, "current_step") ? ", step " : "",
	       jstr(a, "current_step") ? jstr(a, "current_step") : "");
	printf("  runtime    %s%s%s%s\n", jstr(a, "runtime"),
	       strcmp(jstr(a, "runtime"), "dry-run") == 0 ? " (dry run: no model ran)" : "",
	       jstr(a, "model") ? ", model " : "", jstr(a, "model") ? jstr(a, "model") : "");
	printf("  dir        %s\n", jstr(a, "working_dir"));
	printf("  prompt     %s\n", jstr(a, "prompt"));
	printf("  duration   %s   tokens %.0f in / %.0f out   cost $%.4f\n", dur,
	       jnum(a, "input_tokens"), jnum(a, "output_tokens"), jnum(a, "cost_usd"));
	if (jstr(a, "verdict"))
		printf("  verdict    %s\n", jstr(a, "verdict"));
	if (jstr(a, "error"))
		printf("  error      %s%s%s\n", jstr(a, "error_step") ? jstr(a, "error_step") : "",
		       jstr(a, "error_step") ? ": " : "", jstr(a, "error"));
	if (jstr(a, "log_path"))
		printf("  log        %s\n", jstr(a, "log_path"));
	cJSON_ArrayForEach (s, arts)
		printf("  %-10s %s\n", s->string, cJSON_GetStringValue(s));
	printf("  steps:\n");
	cJSON_ArrayForEach (s, steps) {
		fmt_duration(jnum(s, "duration_ms"), dur, sizeof(dur));
		printf("    %-10s %-10s %8s%s%s%s%s\n", jstr(s, "name"), jstr(s, "status"), dur,
		       jstr(s, "verdict") ? "  verdict " : "",
		       jstr(s, "verdict") ? jstr(s, "verdict") : "", jstr(s, "error") ? "  " : "",
		       jstr(s, "error") ? jstr(s, "error") : "");
	}
}

static bool terminal(const char *status)
{
	return status && (!strcmp(status, "completed") || !strcmp(status, "failed") ||
			  !strcmp(status, "cancelled"));
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void print_event(const cJSON *e)
{
	const char *ts = jstr(e, "created_at");
	const char *step = jstr(e, "step");
	const char *type = jstr(e, "type");

	printf("%.8s  %-8s %-14s %s\n", ts ? ts + 11 : "", step ? step : "workflow", type,
	       jstr(e, "summary"));
	if (!strcmp(type, "StepStart") || !strcmp(type, "StepEnd")) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "payload");

		printf("          ── step %d %s %s%s%s\n", (int)jnum(p, "index") + 1,
		       jstr(p, "step"), !strcmp(type, "StepStart") ? "started" : jstr(p, "status"),
		       jstr(p, "verdict") ? ", verdict " : "",
		       jstr(p, "verdict") ? jstr(p, "verdict") : "");
	}
}

/*
 * Prints the ADW's events in id order until it has ended and every event
 * is printed. Returns 0 when it completed, 1 otherwise.
 */
static int follow(struct cli *c, const char *id)
{
	struct adw_err err = {0};
	long long after = 0;
	char *status = NULL;
	int rc = 1;

	for (;;) {
		char *json = NULL, *adw = NULL;
		cJSON *root, *a;
		const cJSON *e, *events;
		int got = 0;

		if (adw_store_adw_get(c->conn, id, false, &adw, NULL, &err) < 0) {
			if (adw_db_check(c->conn, &err) < 0)
				sleep_ms(500);
			else
				return fail("follow", &err);
			continue;
		}
		a = cJSON_Parse(adw);
		free(status);
		status = adw_xstrdup(jstr(a, "status"));
		cJSON_Delete(a);
		free(adw);
		/* Read events after reading the status, so a terminal status means all are in. */
		if (adw_store_events(c->conn, after, 1000, id, NULL, &json, &err) < 0) {
			sleep_ms(500);
			continue;
		}
		root = cJSON_Parse(json);
		events = cJSON_GetObjectItemCaseSensitive(root, "events");
		cJSON_ArrayForEach (e, events) {
			print_event(e);
			got++;
		}
		after = (long long)jnum(root, "next_after");
		cJSON_Delete(root);
		free(json);
		fflush(stdout);
		if (got == 0 && terminal(status))
			break;
		if (got < 1000)
			sleep_ms(200);
	}
	printf("adw %s: %s\n", id, status);
	rc = strcmp(status, "completed") == 0 ? 0 : 1;
	free(status);
	return rc;
}

struct start_opts {
	const char *dir, *name, *runtime, *model, *key;
	int timeout_s, step_timeout_s;
	double max_cost_usd;
	bool follow;
};

static int parse_start_opts(int argc, char **argv, struct start_opts *o, struct cli *c)
{
	enum {
		O_DIR = 300,
		O_NAME,
		O_RUNTIME,
		O_MODEL,
		O_FOLLOW,
		O_JSON,
		O_KEY,
		O_TIMEOUT,
		O_STEP_TIMEOUT,
		O_MAX_COST
	};
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, O_DIR},
	    {"name", required_argument, NULL, O_NAME},
	    {"runtime", required_argument, NULL, O_RUNTIME},
	    {"model", required_argument, NULL, O_MODEL},
	    {"follow", no_argument, NULL, O_FOLLOW},
	    {"json", no_argument, NULL, O_JSON},
	    {"idempotency-key", required_argument, NULL, O_KEY},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"step-timeout", required_argument, NULL, O_STEP_TIMEOUT},
	    {"max-cost", required_argument, NULL, O_MAX_COST},
	    {NULL, 0, NULL, 0},
	};
	char *end;
	long n;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case O_KEY: o->key = optarg; break;
		case O_TIMEOUT:
		case O_STEP_TIMEOUT:
			n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > ADW_STORE_TIMEOUT_MAX) {
				die_usage("bad value '%s' for the timeout: expected 1..604800 s",
					  optarg);
				return -1;
			}
			*(ch == O_TIMEOUT ? &o->timeout_s : &o->step_timeout_s) = (int)n;
			break;
		case O_MAX_COST:
			o->max_cost_usd = strtod(optarg, &end);
			if (*end || !(o->max_cost_usd > 0) ||
			    o->max_cost_usd > ADW_STORE_BUDGET_MAX) {
				die_usage("bad value '%s' for '--max-cost': expected USD above 0",
					  optarg);
				return -1;
			}
			break;
		case O_DIR: o->dir = optarg; break;
		case O_NAME: o->name = optarg; break;
		case O_RUNTIME: o->runtime = optarg; break;
		case O_MODEL: o->model = optarg; break;
		case O_FOLLOW: o->follow = true; break;
		case O_JSON: c->json = true; break;
		default: return -1;
		}
	}
	return optind;
}

static int create(struct cli *c, const char *workflow, const char *prompt,
		  const struct start_opts *o, const char *source, const char *status, char **id)
{
	struct adw_new in = {.workflow = workflow,
			     .prompt = prompt,
			     .name = o->name,
			     .working_dir = o->dir,
			     .runtime = o->runtime,
			     .model = o->model,
			     .source = source,
			     .status = status,
			     .idempotency_key = o->key,
			     .timeout_s = o->timeout_s,
			     .step_timeout_s = o->step_timeout_s,
			     .max_cost_usd = o->max_cost_usd};
	struct adw_err err = {0};
	char *json = NULL;

	if (connect(c) || ensure_schema(c))
		return 1;
	if (adw_store_adw_create(c->conn, &c->cfg, &in, &json, id, &err) < 0) {
		free(json); /* the unfinished ADW holding the idempotency key, named in err */
		return fail("start", &err);
	}
	if (c->json) {
		printf("{\"adw\":%s}\n", json);
	} else {
		cJSON *a = cJSON_Parse(json);

		printf("started adw %s  %s (%s, %d steps, runtime %s)\n", jstr(a, "name"), *id,
		       jstr(a, "workflow"), (int)jnum(a, "total_steps"), jstr(a, "runtime"));
		cJSON_Delete(a);
	}
	free(json);
	fflush(stdout);
	return 0;
}

static int cmd_start(struct cli *c, int argc, char **argv)
{
	struct start_opts o = {0};
	char *id = NULL;
	int i = parse_start_opts(argc, argv, &o, c), rc;

	if (i < 0 || argc - i != 2)
		return die_usage("usage: adw start WORKFLOW PROMPT [--dir DIR] [--name NAME] "
				 "[--runtime R] [--model M] [--follow]%s",
				 "");
	rc = create(c, argv[i], argv[i + 1], &o, "cli", NULL, &id);
	if (rc == 0 && o.follow)
		rc = follow(c, id);
	free(id);
	return rc;
}

static int cmd_trigger(struct cli *c, int argc, char **argv)
{
	struct start_opts o = {0};
	char *id = NULL;
	int rc;

	if (argc != 5 && argc != 6)
		return die_usage("usage: adw trigger NAME WORKFLOW PROMPT DIR [MODEL]%s", "");
	o.name = argv[1];
	o.dir = argv[4];
	o.model = argc == 6 ? argv[5] : NULL;
	rc = create(c, argv[2], argv[3], &o, "trigger", NULL, &id);
	free(id);
	return rc;
}

static volatile sig_atomic_t child_pid;

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

static int cmd_run(struct cli *c, int argc, char **argv)
{
	struct start_opts o = {0};
	struct adw_err err = {0};
	char *id = NULL;
	int i = parse_start_opts(argc, argv, &o, c), rc, status;
	pid_t pid;

	if (i < 0 || argc - i != 2)
		return die_usage("usage: adw run WORKFLOW PROMPT [--dir DIR] [--name NAME] "
				 "[--runtime R] [--model M]%s",
				 "");
	/* Created in_progress: no supervisor may claim it; adw-run takes it over. */
	rc = create(c, argv[i], argv[i + 1], &o, "cli-run", "in_progress", &id);
	if (rc)
		return rc;
	{
		char *argv2[] = {c->cfg.run_bin, (char *)"--adw-id", id, NULL};
		char *logs = adw_xasprintf("%s/logs", c->cfg.home);
		char *log_path = adw_xasprintf("%s/%s.log", logs, id);
		struct adw_proc_opts po = {.devnull_stdin = true, .log_path = log_path};

		/* The runner's own log goes to the ADW's log file, as under a supervisor. */
		if (mkdir(c->cfg.home, 0755) < 0 && errno != EEXIST)
			po.log_path = NULL;
		if (mkdir(logs, 0755) < 0 && errno != EEXIST)
			po.log_path = NULL;
		if (po.log_path && adw_store_adw_set_worker(c->conn, id, 0, log_path, &err) < 0)
			fprintf(stderr, "adw: run: %s\n", err.msg);
		free(logs);

		if (setenv("ADW_HOME", c->cfg.home, 1) < 0 ||
		    (c->cfg.database_url && setenv("DATABASE_URL", c->cfg.database_url, 1) < 0))
			return 1;
		pid = adw_proc_spawn(argv2, &po, &err);
		free(log_path);
		if (pid < 0) {
			bool changed;

			if (adw_store_adw_fail(c->conn, id, err.msg, &changed, &err) < 0)
				fprintf(stderr, "adw: %s\n", err.msg);
			free(id);
			return fail("run", &err);
		}
	}
	child_pid = pid;
	signal(SIGINT, forward_signal);
	signal(SIGTERM, forward_signal);
	rc = follow(c, id);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) {
		char how[128];
		char *why =
		    adw_xasprintf("adw-run %s", adw_proc_describe(status, how, sizeof(how)));
		bool changed = false;

		if (adw_store_adw_fail(c->conn, id, why, &changed, &err) == 0 && changed)
			fprintf(stderr, "adw: run: %s\n", why);
		free(why);
		rc = 1;
	}
	free(id);
	return rc;
}

static int one_id_cmd(struct cli *c, int argc, char **argv, const char *name)
{
	if (argc != 2) {
		fprintf(stderr, "adw: usage: adw %s ID|NAME\n", name);
		return 2;
	}
	return connect(c) || ensure_schema(c);
}

static int cmd_show(struct cli *c, int argc, char **argv)
{
	struct adw_err err = {0};
	char *json = NULL;
	cJSON *a;
	int rc = one_id_cmd(c, argc, argv, "show");

	if (rc)
		return rc;
	if (adw_store_adw_get(c->conn, argv[1], false, &json, NULL, &err) < 0)
		return fail("show", &err);
	if (c->json) {
		printf("{\"adw\":%s}\n", json);
	} else {
		a = cJSON_Parse(json);
		print_adw(a);
		cJSON_Delete(a);
	}
	free(json);
	return 0;
}

static int cmd_follow(struct cli *c, int argc, char **argv)
{
	struct adw_err err = {0};
	char *id = NULL;
	int rc = one_id_cmd(c, argc, argv, "follow");

	if (rc)
		return rc;
	if (adw_store_adw_get(c->conn, argv[1], false, NULL, &id, &err) < 0)
		return fail("follow", &err);
	rc = follow(c, id);
	free(id);
	return rc;
}

static int cmd_list(struct cli *c, int argc, char **argv)
{
	enum { O_STATUS = 400, O_LIMIT, O_JSON };
	static const struct option opts[] = {
	    {"status", required_argument, NULL, O_STATUS},
	    {"limit", required_argument, NULL, O_LIMIT},
	    {"json", no_argument, NULL, O_JSON},
	    {NULL, 0, NULL, 0},
	};
	struct adw_err err = {0};
	const char *status = NULL;
	long limit = 20;
	char *json = NULL, *end;
	cJSON *root;
	const cJSON *a;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case O_STATUS: status = optarg; break;
		case O_LIMIT:
			limit = strtol(optarg, &end, 10);
			if (*end || limit < 1 || limit > ADW_STORE_LIST_MAX)
				return die_usage("bad value '%s' for '--limit': expected 1..1000",
						 optarg);
			break;
		case O_JSON: c->json = true; break;
		default: return 2;
		}
	}
	if (optind != argc)
		return die_usage("unexpected argument '%s'", argv[optind]);
	if (connect(c) || ensure_schema(c))
		return 1;
	if (adw_store_adw_list(c->conn, status, (int)limit, &json, &err) < 0)
		return fail("list", &err);
	if (c->json) {
		printf("%s\n", json);
		free(json);
		return 0;
	}
	root = cJSON_Parse(json);
	printf("%-8s  %-28s %-22s %-14s %5s %9s  %s\n", "ID", "NAME", "WORKFLOW", "STATUS", "STEPS",
	       "COST", "CREATED");
	cJSON_ArrayForEach (a, cJSON_GetObjectItemCaseSensitive(root, "adws")) {
		char steps[16];

		snprintf(steps, sizeof(steps), "%d/%d", (int)jnum(a, "completed_steps"),
			 (int)jnum(a, "total_steps"));
		printf("%.8s  %-28.28s %-22.22s %-14s %5s %9.4f  %.19s\n", jstr(a, "id"),
		       jstr(a, "name"), jstr(a, "workflow"), jstr(a, "status"), steps,
		       jnum(a, "cost_usd"), jstr(a, "created_at"));
	}
	cJSON_Delete(root);
	free(json);
	return 0;
}

static int cmd_workflows(struct cli *c, int argc, char **argv)
{
	struct adw_workflow *list = NULL;
	struct adw_err err = {0};
	int n = 0;

	if (argc > 1 && strcmp(argv[1], "--json") == 0)
		c->json = true;
	if (c->json) {
		char *json = NULL;

		if (adw_store_workflows(&c->cfg, &json, &err) < 0)
			return fail("workflows", &err);
		printf("%s\n", json);
		free(json);
		return 0;
	}
	if (adw_workflow_list(&c->cfg, &list, &n, &err) < 0)
		return fail("workflows", &err);
	for (int i = 0; i < n; i++) {
		printf("%-24s ", list[i].name);
		for (int s = 0; s < list[i].nsteps; s++)
			printf("%s%s%s", s ? " → " : "", list[i].steps[s].name,
			       list[i].steps[s].only_on_fail ? " (on FAIL)" : "");
		printf("\n  %s\n", list[i].description);
	}
	adw_workflow_list_free(list, n);
	return 0;
}

static int cmd_migrate(struct cli *c, int argc, char **argv)
{
	struct adw_err err = {0};
	char *dir;
	int applied = 0, rc;

	if (argc != 1)
		return die_usage("usage: adw migrate%s", "");
	if (connect(c))
		return 1;
	dir = adw_config_data_path(&c->cfg, "migrations");
	rc = adw_migrate_run(c->conn, dir, &applied, &err);
	free(dir);
	if (rc < 0)
		return fail("migrate", &err);
	printf("%d migration%s applied; the schema is up to date\n", applied,
	       applied == 1 ? "" : "s");
	return 0;
}

static int cmd_worker(struct cli *c, int argc, char **argv)
{
	struct adw_err err = {0};
	struct adw_supervisor *sup;
	sigset_t sigs;
	int sig;

	if (argc == 3 && strcmp(argv[1], "--max-running") == 0) {
		char *end;
		long n = strtol(argv[2], &end, 10);

		if (*end || n < 1 || n > 1024)
			return die_usage("bad value '%s' for '--max-running': expected 1..1024",
					 argv[2]);
		c->cfg.max_running = (int)n;
	} else if (argc != 1) {
		return die_usage("usage: adw worker [--max-running N]%s", "");
	}
	if (connect(c) || ensure_schema(c))
		return 1;
	if (setenv("ADW_HOME", c->cfg.home, 1) < 0 ||
	    (c->cfg.database_url && setenv("DATABASE_URL", c->cfg.database_url, 1) < 0))
		return 1;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sup = adw_supervisor_start(&c->cfg, c->conninfo, &err);
	if (!sup)
		return fail("worker", &err);
	printf("adw worker running up to %d ADWs at once; Ctrl-C stops it\n", c->cfg.max_running);
	fflush(stdout);
	while (sigwait(&sigs, &sig) != 0)
		;
	adw_supervisor_stop(sup, c->cluster_started);
	return 0;
}

/* Prints the outcome of a steering action like the chat does. */
static void print_steer(const char *action, const struct adw_thread_result *out)
{
	cJSON *m = cJSON_Parse(out->message), *a = cJSON_Parse(out->adw);
	const char *st = jstr(m, "action_status");

	if (!strcmp(action, "redirect"))
		printf("redirected: started adw %s  %s\n", jstr(a, "name"), jstr(a, "id"));
	else if (st && !strcmp(st, "ignored"))
		printf("adw %s: nothing to do: %s\n", jstr(a, "name"), jstr(m, "status_reason"));
	else if (st && !strcmp(st, "processed"))
		printf("adw %s: %s\n", jstr(a, "name"), jstr(a, "status"));
	else
		printf("adw %s: %s sent (message %.0f); it acts at its next checkpoint\n",
		       jstr(a, "name"), action, jnum(m, "id"));
	cJSON_Delete(m);
	cJSON_Delete(a);
}

static int steer(struct cli *c, const char *adw, const char *action, const char *content)
{
	struct adw_thread_request rq = {
	    .adw = adw, .action = action, .content = content, .source = "cli"};
	struct adw_thread_result out = {0};
	struct adw_err err = {0};

	if (connect(c) || ensure_schema(c))
		return 1;
	if (adw_thread_post(c->conn, &c->cfg, &rq, &out, &err) < 0)
		return fail(!strcmp(action, "instruction") ? "say" : action, &err);
	if (c->json)
		printf("{\"message\":%s,\"adw\":%s}\n", out.message, out.adw);
	else
		print_steer(action, &out);
	adw_thread_result_release(&out);
	return 0;
}

/* adw pause|resume|cancel ID|NAME [--reason TEXT] */
static int cmd_control(struct cli *c, int argc, char **argv)
{
	enum { O_REASON = 500, O_JSON };
	static const struct option opts[] = {
	    {"reason", required_argument, NULL, O_REASON},
	    {"json", no_argument, NULL, O_JSON},
	    {NULL, 0, NULL, 0},
	};
	const char *reason = NULL;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case O_REASON: reason = optarg; break;
		case O_JSON: c->json = true; break;
		default: return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "adw: usage: adw %s ID|NAME [--reason TEXT]\n", argv[0]);
		return 2;
	}
	return steer(c, argv[optind], argv[0], reason);
}

/*
 * The arguments of "adw say ID|NAME TEXT", "adw redirect ID|NAME PROMPT" and
 * "adw answer QUESTION_ID TEXT" (after an optional --json): the index of the
 * first, or -1 after printing the usage.
 */
static int cmd_two_args(struct cli *c, int argc, char **argv, const char *what)
{
	int i = 1;

	if (i < argc && !strcmp(argv[i], "--json")) {
		c->json = true;
		i++;
	}
	if (argc - i != 2) {
		fprintf(stderr, "adw: usage: adw %s %s\n", argv[0], what);
		return -1;
	}
	return i;
}

static int cmd_say(struct cli *c, int argc, char **argv)
{
	int i = cmd_two_args(c, argc, argv, "ID|NAME TEXT");

	return i < 0 ? 2 : steer(c, argv[i], "instruction", argv[i + 1]);
}

static int cmd_redirect(struct cli *c, int argc, char **argv)
{
	int i = cmd_two_args(c, argc, argv, "ID|NAME PROMPT");

	return i < 0 ? 2 : steer(c, argv[i], "redirect", argv[i + 1]);
}

static int cmd_answer(struct cli *c, int argc, char **argv)
{
	struct adw_err err = {0};
	char *json = NULL;
	int i = cmd_two_args(c, argc, argv, "QUESTION_ID TEXT");

	if (i < 0)
		return 2;
	if (connect(c) || ensure_schema(c))
		return 1;
	if (adw_thread_answer(c->conn, argv[i], argv[i + 1], "cli", &json, &err) < 0)
		return fail("answer", &err);
	if (c->json) {
		printf("%s\n", json);
	} else {
		cJSON *root = cJSON_Parse(json);
		const cJSON *q = cJSON_GetObjectItemCaseSensitive(root, "question");

		printf("answered question %s of adw %s: %s\n", jstr(q, "id"), jstr(q, "adw_name"),
		       jstr(q, "answer"));
		cJSON_Delete(root);
	}
	free(json);
	return 0;
}

/* adw retry ID|NAME [--from-step STEP] */
static int cmd_retry(struct cli *c, int argc, char **argv)
{
	enum { O_FROM = 600, O_JSON };
	static const struct option opts[] = {
	    {"from-step", required_argument, NULL, O_FROM},
	    {"json", no_argument, NULL, O_JSON},
	    {NULL, 0, NULL, 0},
	};
	struct adw_err err = {0};
	const char *from = NULL;
	char *json = NULL;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case O_FROM: from = optarg; break;
		case O_JSON: c->json = true; break;
		default: return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "adw: usage: adw retry ID|NAME [--from-step STEP]\n");
		return 2;
	}
	if (connect(c) || ensure_schema(c))
		return 1;
	if (adw_store_adw_retry(c->conn, argv[optind], from, "cli", &json, &err) < 0)
		return fail("retry", &err);
	if (c->json) {
		printf("{\"adw\":%s}\n", json);
	} else {
		cJSON *a = cJSON_Parse(json);

		printf("adw %s: pending again (%d of %d steps kept); a running adw-server or `adw "
		       "worker` runs it\n",
		       jstr(a, "name"), (int)jnum(a, "completed_steps"),
		       (int)jnum(a, "total_steps"));
		cJSON_Delete(a);
	}
	free(json);
	return 0;
}

/* adw thread ID|NAME: the messages, oldest first. */
static int cmd_thread(struct cli *c, int argc, char **argv)
{
	struct adw_err err = {0};
	char *json = NULL;
	const cJSON *m;
	cJSON *root;
	int rc = one_id_cmd(c, argc, argv, "thread");

	if (rc)
		return rc;
	if (adw_thread_list(c->conn, argv[1], 0, ADW_THREAD_LIST_MAX, &json, &err) < 0)
		return fail("thread", &err);
	if (c->json) {
		printf("%s\n", json);
		free(json);
		return 0;
	}
	root = cJSON_Parse(json);
	cJSON_ArrayForEach (m, cJSON_GetObjectItemCaseSensitive(root, "messages")) {
		const char *reason = jstr(m, "status_reason");

		printf("%.19s  %-6s %-11s %-12s %s%s%s%s\n", jstr(m, "created_at"),
		       jstr(m, "sender"), jstr(m, "action_type"), jstr(m, "action_status"),
		       jstr(m, "content"), reason ? "  (" : "", reason ? reason : "",
		       reason ? ")" : "");
	}
	cJSON_Delete(root);
	free(json);
	return 0;
}

/* adw questions [--all]: pending questions (all of them with --all). */
static int cmd_questions(struct cli *c, int argc, char **argv)
{
	struct adw_err err = {0};
	bool all = false;
	char *json = NULL;
	const cJSON *q;
	cJSON *root;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--all"))
			all = true;
		else if (!strcmp(argv[i], "--json"))
			c->json = true;
		else
			return die_usage("unexpected argument '%s'", argv[i]);
	}
	if (connect(c) || ensure_schema(c))
		return 1;
	if (adw_thread_questions(c->conn, all ? NULL : "pending", NULL, 100, &json, &err) < 0)
		return fail("questions", &err);
	if (c->json) {
		printf("%s\n", json);
		free(json);
		return 0;
	}
	root = cJSON_Parse(json);
	cJSON_ArrayForEach (q, cJSON_GetObjectItemCaseSensitive(root, "questions")) {
		const cJSON *o;
		bool first = true;

		printf("%s  adw %s (%s step)  %s\n  %s\n", jstr(q, "id"), jstr(q, "adw_name"),
		       jstr(q, "step") ? jstr(q, "step") : "-", jstr(q, "status"),
		       jstr(q, "question"));
		cJSON_ArrayForEach (o, cJSON_GetObjectItemCaseSensitive(q, "options")) {
			printf("%s%s", first ? "  options: " : " | ", o->valuestring);
			first = false;
		}
		if (!first)
			printf("\n");
		if (jstr(q, "answer"))
			printf("  answer: %s (%s)\n", jstr(q, "answer"), jstr(q, "answered_by"));
	}
	cJSON_Delete(root);
	free(json);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct cli *, int, char **);
	} cmds[] = {
	    {"start", cmd_start},
	    {"trigger", cmd_trigger},
	    {"run", cmd_run},
	    {"list", cmd_list},
	    {"show", cmd_show},
	    {"follow", cmd_follow},
	    {"workflows", cmd_workflows},
	    {"migrate", cmd_migrate},
	    {"worker", cmd_worker},
	    {"pause", cmd_control},
	    {"resume", cmd_control},
	    {"cancel", cmd_control},
	    {"say", cmd_say},
	    {"redirect", cmd_redirect},
	    {"answer", cmd_answer},
	    {"thread", cmd_thread},
	    {"questions", cmd_questions},
	    {"retry", cmd_retry},
	};
	struct cli c = {0};
	struct adw_err err = {0};
	int i = 1, rc = 2;

	adw_log_init("adw");
	signal(SIGPIPE, SIG_IGN);
	/* Global options before the command. */
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			printf("adw %s\n", ADW_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "--database-url") && i + 1 < argc) {
			setenv("DATABASE_URL", argv[++i], 1);
		} else if (!strcmp(argv[i], "--home") && i + 1 < argc) {
			setenv("ADW_HOME", argv[++i], 1);
		} else if (!strcmp(argv[i], "--json")) {
			c.json = true;
		} else {
			return die_usage("unknown option '%s'", argv[i]);
		}
		i++;
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (adw_config_load(&c.cfg, &err) < 0) {
		fprintf(stderr, "adw: configuration: %s\n", err.msg);
		adw_config_release(&c.cfg);
		return 2;
	}
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		if (!strcmp(argv[i], cmds[k].name)) {
			rc = cmds[k].fn(&c, argc - i, argv + i);
			goto out;
		}
	}
	rc = die_usage("unknown command '%s'", argv[i]);
out:
	PQfinish(c.conn);
	if (c.cluster_started && adw_cluster_stop(&c.cfg, &err) < 0)
		fprintf(stderr, "adw: embedded database: %s\n", err.msg);
	free(c.conninfo);
	adw_config_release(&c.cfg);
	return rc;
}
