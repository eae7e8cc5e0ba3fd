/* SPDX-License-Identifier: MIT */
/*
 * Tests of backend/adw_spill and of keyed event batches (migration 009),
 * against the private PostgreSQL of scripts/test: a batch written twice is
 * stored once, events keep their own time, a writer's own file is written
 * back by it and left alone by others while it lives, orphans are written
 * back once and removed, a line cut by a crash is skipped, and a file the
 * database refuses is set aside as *.bad.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adw_db.h"
#include "adw_event.h"
#include "adw_mem.h"
#include "adw_spill.h"
#include "testlib.h"

#define ADW "11111111-2222-4333-8444-555555555555"

static char *conninfo;
static char home[64];

static void setup(void)
{
	PGconn *c;
	PGresult *r;

	conninfo = testlib_db_create_migrated("spill");
	c = testlib_connect(conninfo);
	r = testlib_query(c, "INSERT INTO ai_developer_workflows (id, adw_name, workflow_type, "
			     "prompt, working_dir, runtime) VALUES ('" ADW "', 'spill-test', "
			     "'plan_build', 'p', '/tmp', 'dry-run')");
	PQclear(r);
	PQfinish(c);
	snprintf(home, sizeof(home), "/tmp/adw-spill-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(home));
}

static void teardown(void)
{
	testlib_rm_tree(home);
	free(conninfo);
}

/* A batch of n events of ADW, contents "<tag> 0".."<tag> n-1". */
static void fill(struct adw_event_batch *b, const char *tag, int n)
{
	adw_event_batch_init(b);
	for (int i = 0; i < n; i++) {
		char content[64];
		struct adw_event ev = {.adw_id = ADW,
				       .step = "plan",
				       .category = ADW_CAT_RESPONSE,
				       .type = "TextBlock",
				       .content = content};

		snprintf(content, sizeof(content), "%s %d", tag, i);
		adw_event_batch_add(b, &ev);
	}
}

/* Files under <home>/spill whose name ends with suffix. */
static int files(const char *suffix)
{
	char *dir = adw_xasprintf("%s/spill", home);
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	free(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name), sl = strlen(suffix);

		n += len > sl && strcmp(de->d_name + len - sl, suffix) == 0;
	}
	closedir(d);
	return n;
}

START_TEST(test_batch_written_once)
{
	PGconn *c = testlib_connect(conninfo);
	struct adw_event_batch b, again;
	struct adw_err err = {0};
	long long last = -1;

	fill(&b, "once", 3);
	ck_assert_uint_eq(strlen(b.key), 36);
	/* The same rows under the same key: as a retry after a lost answer. */
	adw_event_batch_init(&again);
	cJSON_Delete(again.rows);
	again.rows = cJSON_Duplicate(b.rows, 1);
	again.n = b.n;
	memcpy(again.key, b.key, sizeof(b.key));
	ck_assert_int_eq(adw_event_batch_flush(c, &b, &last, &err), 0);
	ck_assert_int_gt(last, 0);
	ck_assert_int_eq(b.n, 0);
	ck_assert_int_eq(adw_event_batch_flush(c, &again, &last, &err), 0);
	ck_assert_int_eq(last, 0);
	ck_assert_int_eq(
	    testlib_count(c, "SELECT count(*) FROM events WHERE content LIKE 'once %'"), 3);
	ck_assert_int_eq(testlib_count(c, "SELECT count(*) FROM event_batches WHERE adw_id = '" ADW
					  "' AND rows = 3"),
			 1);
	/* A new batch gets a new key. */
	adw_event_batch_release(&b);
	fill(&b, "twice", 1);
	ck_assert_str_ne(b.key, again.key);
	ck_assert_int_eq(adw_event_batch_flush(c, &b, &last, &err), 0);
	ck_assert_int_gt(last, 0);
	adw_event_batch_release(&b);
	adw_event_batch_release(&again);
	PQfinish(c);
}
END_TEST

START_TEST(test_batch_in_callers_transaction)
{
	PGconn *c = testlib_connect(conninfo);
	struct adw_event_batch b;
	struct adw_err err = {0};
	char key[37];

	/* Written in a transaction that rolls back: nothing stored, the batch kept. */
	fill(&b, "tx", 2);
	memcpy(key, b.key, sizeof(key));
	PQclear(testlib_query(c, "BEGIN"));
	ck_assert_int_eq(adw_event_batch_write(c, &b, NULL, &err), 0);
	PQclear(testlib_query(c, "ROLLBACK"));
	ck_assert_int_eq(b.n, 2);
	ck_assert_int_eq(testlib_count(c, "SELECT count(*) FROM events"), 0);
	/* Cut back to one row (the rolled-back change's event), the key stays. */
	adw_event_batch_truncate(&b, 1);
	ck_assert_int_eq(b.n, 1);
	adw_event_batch_truncate(&b, 0);
	ck_assert_int_eq(b.n, 0);
	ck_assert_str_eq(b.key, key);
	{
		struct adw_event ev = {.adw_id = ADW,
				       .category = ADW_CAT_SYSTEM,
				       .type = "SystemInfo",
				       .content = "again"};

		adw_event_batch_add(&b, &ev);
	}
	ck_assert_str_eq(b.key, key); /* a retry is the same batch */
	PQclear(testlib_query(c, "BEGIN"));
	ck_assert_int_eq(adw_event_batch_write(c, &b, NULL, &err), 0);
	PQclear(testlib_query(c, "COMMIT"));
	/* Had that COMMIT's answer been lost, the same batch again is nothing new. */
	ck_assert_int_eq(adw_event_batch_write(c, &b, NULL, &err), 0);
	ck_assert_int_eq(testlib_count(c, "SELECT count(*) FROM events"), 1);
	adw_event_batch_clear(&b);
	ck_assert_int_eq(b.n, 0);
	ck_assert_str_eq(b.key, "");
	adw_event_batch_release(&b);
	PQfinish(c);
}
END_TEST

START_TEST(test_events_keep_their_time)
{
	PGconn *c = testlib_connect(conninfo);
	struct adw_err err = {0};
	const char *rows =
	    "[{\"adw_id\":\"" ADW "\",\"category\":\"system\",\"type\":\"SystemInfo\","
	    "\"content\":\"late\",\"ts\":\"2026-01-02T03:04:05.678901Z\"}]";
	struct adw_event_batch b;
	PGresult *r;

	ck_assert_int_eq(
	    adw_event_append_json(c, rows, "dddddddd-2222-4333-8444-555555555555", NULL, &err), 0);
	r = testlib_query(c, "SELECT created_at AT TIME ZONE 'UTC' FROM events WHERE content = "
			     "'late'");
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "2026-01-02 03:04:05.678901");
	PQclear(r);
	/* Rows a batch builds carry the time they were added, and keep it. */
	fill(&b, "now", 1);
	{
		const char *ts =
		    cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(b.rows, 0), "ts"));
		char *sql;

		ck_assert_ptr_nonnull(ts);
		sql = adw_xasprintf("SELECT count(*) FROM events WHERE content = 'now 0' AND "
				    "created_at = '%s'::timestamptz AND created_at > now() - "
				    "interval '1 minute'",
				    ts);
		usleep(2000); /* written later than it happened */
		ck_assert_int_eq(adw_event_batch_flush(c, &b, NULL, &err), 0);
		ck_assert_int_eq(testlib_count(c, sql), 1);
		free(sql);
	}
	adw_event_batch_release(&b);
	PQfinish(c);
}
END_TEST

START_TEST(test_own_file_written_back_by_its_writer)
{
	PGconn *c = testlib_connect(conninfo);
	struct adw_spill sp;
	struct adw_event_batch b;
	struct adw_err err = {0};
	int n = -1;

	adw_spill_init(&sp);
	fill(&b, "a", 2);
	ck_assert_int_eq(adw_spill_append(&sp, home, ADW, &b, &err), 0);
	adw_event_batch_release(&b);
	fill(&b, "b", 3);
	ck_assert_int_eq(adw_spill_append(&sp, home, ADW, &b, &err), 0);
	adw_event_batch_release(&b);
	ck_assert_int_eq(sp.events, 5);
	ck_assert_int_eq(files(".jsonl"), 1);
	/* Its writer lives (holds the lock): not an orphan. */
	ck_assert_int_eq(adw_spill_replay_orphans(c, home, NULL, &n, &err), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(testlib_count(c, "SELECT count(*) FROM events"), 0);
	ck_assert_int_eq(adw_spill_replay(&sp, c, &n, &err), 0);
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(sp.events, 0);
	ck_assert_int_eq(testlib_count(c, "SELECT count(*) FROM events WHERE adw_id = '" ADW "'"),
			 5);
	/* In order: a 0, a 1, b 0, b 1, b 2. */
	ck_assert_int_eq(
	    testlib_count(c, "SELECT count(*) FROM (SELECT content, lag(content) OVER (ORDER "
			     "BY id) AS prev FROM events) x WHERE prev > content"),
	    0);
	/* The file goes on after a write-back, and goes away when closed empty. */
	fill(&b, "c", 1);
	ck_assert_int_eq(adw_spill_append(&sp, home, ADW, &b, &err), 0);
	adw_event_batch_release(&b);
	ck_assert_int_eq(adw_spill_replay(&sp, c, &n, &err), 0);
	ck_assert_int_eq(n, 1);
	adw_spill_close(&sp);
	ck_assert_int_eq(files(".jsonl"), 0);
	ck_assert_int_eq(testlib_count(c, "SELECT count(*) FROM events"), 6);
	PQfinish(c);
}
END_TEST

/* Spills one batch of n events in a child process that then exits: an orphan. */
static void spill_in_child(const char *tag, int n)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct adw_spill sp;
		struct adw_event_batch b;
		struct adw_err err = {0};

		adw_spill_init(&sp);
		fill(&b, tag, n);
		_exit(adw_spill_append(&sp, home, ADW, &b, &err) == 0 ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

START_TEST(test_orphans_written_back_once)
{
	PGconn *c = testlib_connect(conninfo);
	struct adw_err err = {0};
	char *path, *copy, *cmd;
	int n = -1;

	spill_in_child("orphan", 4);
	ck_assert_int_eq(files(".jsonl"), 1);
	/* Keep a copy to replay again: as a crash between COMMIT and unlink. */
	cmd = adw_xasprintf("cp %s/spill/*.jsonl %s/copy", home, home);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	ck_assert_int_eq(
	    adw_spill_replay_orphans(c, home, "99999999-2222-4333-8444-555555555555", &n, &err), 0);
	ck_assert_int_eq(n, 0); /* another ADW's: untouched */
	ck_assert_int_eq(adw_spill_replay_orphans(c, home, ADW, &n, &err), 0);
	ck_assert_int_eq(n, 4);
	ck_assert_int_eq(files(".jsonl"), 0);
	ck_assert_int_eq(
	    testlib_count(c, "SELECT count(*) FROM events WHERE content LIKE 'orphan %'"), 4);
	path = adw_xasprintf("%s/spill/" ADW ".1.jsonl", home);
	copy = adw_xasprintf("%s/copy", home);
	ck_assert_int_eq(rename(copy, path), 0);
	ck_assert_int_eq(adw_spill_replay_orphans(c, home, NULL, &n, &err), 0);
	ck_assert_int_eq(
	    testlib_count(c, "SELECT count(*) FROM events WHERE content LIKE 'orphan %'"), 4);
	ck_assert_int_eq(files(".jsonl"), 0);
	free(path);
	free(copy);
	PQfinish(c);
}
END_TEST

static void write_file(const char *name, const char *text)
{
	char *dir = adw_xasprintf("%s/spill", home), *path = adw_xasprintf("%s/%s", dir, name);
	FILE *f;

	mkdir(dir, 0700);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	free(dir);
	free(path);
}

START_TEST(test_cut_line_and_refused_file)
{
	PGconn *c = testlib_connect(conninfo);
	struct adw_err err = {0};
	int n = -1;

	/* A whole batch, then one cut by a crash mid-write (no newline). */
	write_file(ADW ".7.jsonl",
		   "aaaaaaaa-2222-4333-8444-555555555555\t[{\"adw_id\":\"" ADW
		   "\",\"category\":\"system\",\"type\":\"SystemInfo\",\"content\":\"whole\"}]\n"
		   "bbbbbbbb-2222-4333-8444-555555555555\t[{\"adw_id\":\"" ADW
		   "\",\"category\":\"system\",\"type\":\"SystemInfo\",\"content\":\"cu");
	ck_assert_int_eq(adw_spill_replay_orphans(c, home, ADW, &n, &err), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(testlib_count(c, "SELECT count(*) FROM events"), 1);
	/* An ADW that does not exist: refused as data, set aside, not retried. */
	write_file("99999999-2222-4333-8444-555555555555.8.jsonl",
		   "cccccccc-2222-4333-8444-555555555555\t[{\"adw_id\":\"99999999-2222-4333-8444-"
		   "555555555555\",\"category\":\"system\",\"type\":\"SystemInfo\"}]\n");
	ck_assert_int_eq(adw_spill_replay_orphans(c, home, NULL, &n, &err), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(files(".jsonl"), 0);
	ck_assert_int_eq(files(".jsonl.bad"), 1);
	ck_assert_int_eq(testlib_count(c, "SELECT count(*) FROM events"), 1);
	/* Nothing half-written by the refused transaction. */
	ck_assert_int_eq(testlib_count(c, "SELECT count(*) FROM event_batches WHERE key = "
					  "'cccccccc-2222-4333-8444-555555555555'"),
			 0);
	PQfinish(c);
}
END_TEST

START_TEST(test_database_away_keeps_files)
{
	PGconn *c = testlib_connect(conninfo);
	struct adw_err err = {0};
	int n = -1;

	spill_in_child("kept", 2);
	PQfinish(c);
	/* A connection the server closed: unavailable, the file stays. */
	c = testlib_connect(conninfo);
	{
		PGconn *admin = testlib_connect(conninfo);
		char *sql = adw_xasprintf("SELECT pg_terminate_backend(%d)", PQbackendPID(c));

		PQclear(testlib_query(admin, sql));
		free(sql);
		PQfinish(admin);
	}
	ck_assert_int_eq(adw_spill_replay_orphans(c, home, ADW, &n, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_UNAVAILABLE);
	ck_assert_int_eq(files(".jsonl"), 1);
	PQfinish(c);
	c = testlib_connect(conninfo);
	ck_assert_int_eq(adw_spill_replay_orphans(c, home, ADW, &n, &err), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(files(".jsonl"), 0);
	PQfinish(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("adw_spill");
	TCase *tc = tcase_create("pg");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_batch_written_once);
	tcase_add_test(tc, test_batch_in_callers_transaction);
	tcase_add_test(tc, test_events_keep_their_time);
	tcase_add_test(tc, test_own_file_written_back_by_its_writer);
	tcase_add_test(tc, test_orphans_written_back_once);
	tcase_add_test(tc, test_cut_line_and_refused_file);
	tcase_add_test(tc, test_database_away_keeps_files);
	suite_add_tcase(s, tc);
	return testlib_run(s);
}
