/* SPDX-License-Identifier: MIT */
/*
 * Tests of backend/adw_store: slugs and uuids, and (with
 * ADW_TEST_DATABASE_URL) creating, finding, listing, claiming and failing
 * ADWs and paging events against a real database.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adw_config.h"
#include "adw_db.h"
#include "adw_event.h"
#include "adw_store.h"
#include "testlib.h"

/* ---- adw_store_slug, adw_store_is_uuid (no database) ---- */

static void check_slug(const char *prompt, const char *want)
{
	char *s = adw_store_slug(prompt);

	ck_assert_msg(strcmp(s, want) == 0, "slug('%s') = '%s', want '%s'", prompt, s, want);
	free(s);
}

/* The ASCII alphanumeric words of s, lowercased, as a NULL-terminated array. */
static char **words_of(const char *s, int *n)
{
	char **w = adw_xcalloc(strlen(s) + 1, sizeof(*w));

	*n = 0;
	while (*s) {
		const char *b;

		while (*s && !(isalnum((unsigned char)*s) && (unsigned char)*s < 0x80))
			s++;
		b = s;
		while (*s && isalnum((unsigned char)*s) && (unsigned char)*s < 0x80)
			s++;
		if (s > b) {
			char *x = adw_xstrndup(b, (size_t)(s - b));

			for (char *p = x; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			w[(*n)++] = x;
		}
	}
	return w;
}

START_TEST(test_slug_examples)
{
	check_slug("Add a --version flag to the CLI", "add-a-version-flag-to-the");
	check_slug("Fix bug", "fix-bug");
	check_slug("  Hello,   World!  ", "hello-world");
	check_slug("Refactor adw_store.c: split queries", "refactor-adw-store-c-split-queries");
	check_slug("UPPER case", "upper-case");
	check_slug("version 2 of 3", "version-2-of-3");
	/* Never cut inside a word: a word that does not fit ends the slug. */
	check_slug("Implement authentication middleware refactoring everywhere",
		   "implement-authentication-middleware");
	/* Nothing usable: "adw". */
	check_slug("日本語のテキスト", "adw");
	check_slug("!!! ??? ...", "adw");
	check_slug("", "adw");
	check_slug("   ", "adw");
}
END_TEST

START_TEST(test_slug_properties)
{
	static const char *const prompts[] = {
	    "Add a --version flag to the CLI",
	    "Implement authentication middleware refactoring everywhere now please",
	    "a b c d e f g h i j k l m n o p",
	    "supercalifragilisticexpialidocious is a very long word indeed",
	    "one-two_three.four/five\\six seven",
	    "Café au lait, naïve façade, über cool",
	    "aaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbbbb c",
	    "x aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "Plan: migrate the database\nthen deploy\tit",
	    "0123456789 0123456789 0123456789 0123456789 0123456789",
	};

	for (size_t i = 0; i < sizeof(prompts) / sizeof(prompts[0]); i++) {
		char *s = adw_store_slug(prompts[i]);
		int n = 0;
		char **w = words_of(prompts[i], &n);
		char *copy = adw_xstrdup(s);
		int k = 0;

		ck_assert_msg(strlen(s) >= 1 && strlen(s) <= 40, "'%s' -> '%s' (%zu bytes)",
			      prompts[i], s, strlen(s));
		ck_assert_msg(s[0] != '-' && s[strlen(s) - 1] != '-' && !strstr(s, "--"),
			      "'%s' -> '%s'", prompts[i], s);
		for (const char *p = s; *p; p++)
			ck_assert_msg(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
					  *p == '-',
				      "'%s' -> '%s'", prompts[i], s);
		/* The slug is the prompt's first words, each whole (none over 40 here). */
		char *save = NULL;

		for (char *tok = strtok_r(copy, "-", &save); tok;
		     tok = strtok_r(NULL, "-", &save), k++) {
			ck_assert_msg(k < n, "'%s' -> '%s': extra word", prompts[i], s);
			ck_assert_msg(strcmp(tok, w[k]) == 0,
				      "'%s' -> '%s': word %d '%s' is not '%s'", prompts[i], s, k,
				      tok, w[k]);
		}
		ck_assert_msg(k >= 1, "'%s' -> '%s'", prompts[i], s);
		free(copy);
		for (int j = 0; j < n; j++)
			free(w[j]);
		free(w);
		free(s);
	}
}
END_TEST

START_TEST(test_slug_long_word)
{
	char word[100];
	char *s;

	memset(word, 'q', 99);
	word[99] = '\0';
	s = adw_store_slug(word);
	ck_assert_uint_le(strlen(s), 40);
	ck_assert_uint_ge(strlen(s), 1);
	ck_assert_int_eq(s[0], 'q');
	free(s);
}
END_TEST

START_TEST(test_is_uuid)
{
	ck_assert(adw_store_is_uuid("0b7e5a2c-1111-2222-3333-444455556666"));
	ck_assert(adw_store_is_uuid("00000000-0000-0000-0000-000000000000"));
	ck_assert(adw_store_is_uuid("ABCDEF01-abcd-ABCD-abcd-0123456789ab"));
	ck_assert(!adw_store_is_uuid(NULL));
	ck_assert(!adw_store_is_uuid(""));
	ck_assert(!adw_store_is_uuid("add-a-version-flag"));
	ck_assert(!adw_store_is_uuid("0b7e5a2c-1111-2222-3333-44445555666"));	/* 35 */
	ck_assert(!adw_store_is_uuid("0b7e5a2c-1111-2222-3333-4444555566667")); /* 37 */
	ck_assert(!adw_store_is_uuid("0b7e5a2c11111-2222-3333-444455556666"));	/* no dash */
	ck_assert(!adw_store_is_uuid("0b7e5a2c-1111-2222-3333_444455556666"));
	ck_assert(!adw_store_is_uuid("0b7e5a2g-1111-2222-3333-444455556666")); /* 'g' */
	ck_assert(!adw_store_is_uuid("0b7e5a2-c1111-2222-3333-444455556666")); /* dash moved */
	ck_assert(!adw_store_is_uuid("{b7e5a2c-1111-2222-3333-444455556666}"));
	ck_assert(!adw_store_is_uuid("0b7e5a2c-1111-2222-3333-44445555666 "));
}
END_TEST

START_TEST(test_strv_free_null)
{
	char **v = adw_xcalloc(3, sizeof(*v));

	v[0] = adw_xstrdup("a");
	v[1] = adw_xstrdup("b");
	adw_store_strv_free(v, 2);
	adw_store_strv_free(NULL, 0);
	adw_store_strv_free(NULL, 5);
}
END_TEST

START_TEST(test_workflows_json)
{
	struct adw_config cfg;
	struct adw_err err = {0};
	char *json = NULL;
	cJSON *root, *arr, *it;
	bool found = false;

	setenv("ADW_RUNTIME", "dry-run", 1);
	ck_assert_int_eq(adw_config_load(&cfg, &err), 0);
	ck_assert_msg(adw_store_workflows(&cfg, &json, &err) == 0, "%s", err.msg);
	root = cJSON_Parse(json);
	arr = cJSON_GetObjectItem(root, "workflows");
	ck_assert(cJSON_IsArray(arr));
	ck_assert_int_ge(cJSON_GetArraySize(arr), 3);
	cJSON_ArrayForEach (it, arr) {
		const cJSON *steps = cJSON_GetObjectItem(it, "steps");

		ck_assert(cJSON_IsString(cJSON_GetObjectItem(it, "name")));
		ck_assert(cJSON_IsString(cJSON_GetObjectItem(it, "description")));
		ck_assert(cJSON_IsArray(steps));
		if (strcmp(cJSON_GetObjectItem(it, "name")->valuestring, "plan_build_review_fix") ==
		    0) {
			found = true;
			ck_assert_int_eq(cJSON_GetArraySize(steps), 4);
			ck_assert_str_eq(cJSON_GetArrayItem(steps, 3)->valuestring, "fix");
		}
	}
	ck_assert(found);
	cJSON_Delete(root);
	free(json);
	adw_config_release(&cfg);
}
END_TEST

/* ---- PostgreSQL ---- */

static char workdir[64];
static struct adw_config cfg;
static PGconn *conn;
static char *dbinfo;

static void pg_setup(void)
{
	testlib_dryrun_config(workdir, "store", &cfg);
}

static void pg_teardown(void)
{
	PQfinish(conn);
	conn = NULL;
	free(dbinfo);
	dbinfo = NULL;
	adw_config_release(&cfg);
	testlib_rm_tree(workdir);
}

/* A fresh database for one test (each test runs in its own process). */
static void use_db(const char *name)
{
	dbinfo = testlib_db_create_migrated(name);
	conn = testlib_connect(dbinfo);
}

static long long count(const char *sql)
{
	return testlib_count(conn, sql);
}

/* Runs sql with one parameter; returns the first value (caller frees) or NULL. */
static char *query1(const char *sql, const char *param)
{
	struct adw_err err = {0};
	const char *params[1] = {param};
	PGresult *r = adw_db_query(conn, sql, 1, params, &err);
	char *v;

	ck_assert_msg(r != NULL, "%s: %s", sql, err.msg);
	ck_assert_msg(PQntuples(r) == 1, "%s: %d rows", sql, PQntuples(r));
	v = adw_db_strdup(r, 0, 0);
	PQclear(r);
	return v;
}

static void exec1(const char *sql, const char *param)
{
	struct adw_err err = {0};
	const char *params[1] = {param};

	ck_assert_msg(adw_db_exec(conn, sql, 1, params, &err) == 0, "%s: %s", sql, err.msg);
}

static const char *str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	ck_assert_msg(cJSON_IsString(v), "'%s' is not a string", key);
	return v->valuestring;
}

/* Creates an ADW that must succeed; returns its id (caller frees). */
static char *create(const char *workflow, const char *prompt, const char *name)
{
	struct adw_new in = {.workflow = workflow, .prompt = prompt, .name = name};
	struct adw_err err = {0};
	char *id = NULL;

	ck_assert_msg(adw_store_adw_create(conn, &cfg, &in, NULL, &id, &err) == 0, "create: %s",
		      err.msg);
	ck_assert(adw_store_is_uuid(id));
	return id;
}

/* Makes the ADW's created_at minutes_ago minutes in the past. */
static void set_age(const char *id, int minutes_ago)
{
	char *sql = adw_xasprintf("UPDATE ai_developer_workflows SET created_at = "
				  "now() - interval '%d minutes' WHERE id = $1",
				  minutes_ago);

	exec1(sql, id);
	free(sql);
}

static long long total_rows(void)
{
	return count("SELECT (SELECT count(*) FROM ai_developer_workflows) + "
		     "(SELECT count(*) FROM adw_steps) + (SELECT count(*) FROM events)");
}

START_TEST(test_create_ok)
{
	struct adw_new in = {.workflow = "Plan-Build-Review-Fix",
			     .prompt = "Add a --version flag to the CLI"};
	struct adw_err err = {0};
	char *json = NULL, *id = NULL, *v;
	cJSON *a, *steps, *ev;
	PGresult *r;
	static const char *const names[] = {"plan", "build", "review", "fix"};

	use_db("store_create");
	ck_assert_msg(adw_store_adw_create(conn, &cfg, &in, &json, &id, &err) == 0, "%s", err.msg);
	a = cJSON_Parse(json);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(str(a, "id"), id);
	ck_assert_str_eq(str(a, "name"), "add-a-version-flag-to-the");
	ck_assert_str_eq(str(a, "workflow"), "plan_build_review_fix");
	ck_assert_str_eq(str(a, "status"), "pending");
	ck_assert_str_eq(str(a, "prompt"), "Add a --version flag to the CLI");
	ck_assert_str_eq(str(a, "working_dir"), workdir);
	ck_assert_str_eq(str(a, "runtime"), "dry-run");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(a, "model")));
	ck_assert_int_eq(cJSON_GetObjectItem(a, "total_steps")->valueint, 4);
	ck_assert_int_eq(cJSON_GetObjectItem(a, "completed_steps")->valueint, 0);
	steps = cJSON_GetObjectItem(a, "steps");
	ck_assert_int_eq(cJSON_GetArraySize(steps), 4);
	for (int i = 0; i < 4; i++) {
		ck_assert_str_eq(str(cJSON_GetArrayItem(steps, i), "name"), names[i]);
		ck_assert_str_eq(str(cJSON_GetArrayItem(steps, i), "status"), "pending");
	}
	cJSON_Delete(a);
	/* The step rows, with positions 0..3 in workflow order. */
	r = testlib_query(conn, "SELECT position, name, status FROM adw_steps ORDER BY position");
	ck_assert_int_eq(PQntuples(r), 4);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(strtol(PQgetvalue(r, i, 0), NULL, 10), i);
		ck_assert_str_eq(PQgetvalue(r, i, 1), names[i]);
		ck_assert_str_eq(PQgetvalue(r, i, 2), "pending");
	}
	PQclear(r);
	/* The row: total_steps from the definition, source "api" by default. */
	v = query1("SELECT total_steps::text || ' ' || (metadata->>'source') || ' ' || "
		   "(input_data->>'prompt') FROM ai_developer_workflows WHERE id = $1",
		   id);
	ck_assert_str_eq(v, "4 api Add a --version flag to the CLI");
	free(v);
	/* One AdwCreated event carrying the ADW. */
	r = testlib_query(conn, "SELECT adw_id, category, type, payload::text FROM events");
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), id);
	ck_assert_str_eq(PQgetvalue(r, 0, 1), "system");
	ck_assert_str_eq(PQgetvalue(r, 0, 2), "AdwCreated");
	ev = cJSON_Parse(PQgetvalue(r, 0, 3));
	ck_assert_str_eq(str(cJSON_GetObjectItem(ev, "adw"), "id"), id);
	cJSON_Delete(ev);
	PQclear(r);
	free(json);
	free(id);
}
END_TEST

START_TEST(test_create_all_fields)
{
	char other[80], *json = NULL, *id = NULL, *v, name100[101];
	struct adw_new in = {.workflow = "plan_build",
			     .prompt = "Do it",
			     .name = "my.adw_1-x",
			     .working_dir = other,
			     .runtime = "claude",
			     .model = "sonnet",
			     .source = "cli",
			     .status = "in_progress"};
	struct adw_err err = {0};
	cJSON *a;

	use_db("store_fields");
	snprintf(other, sizeof(other), "%s/sub", workdir);
	ck_assert_int_eq(mkdir(other, 0755), 0);
	ck_assert_msg(adw_store_adw_create(conn, &cfg, &in, &json, &id, &err) == 0, "%s", err.msg);
	a = cJSON_Parse(json);
	ck_assert_str_eq(str(a, "name"), "my.adw_1-x");
	ck_assert_str_eq(str(a, "working_dir"), other);
	ck_assert_str_eq(str(a, "runtime"), "claude");
	ck_assert_str_eq(str(a, "model"), "sonnet");
	ck_assert_str_eq(str(a, "status"), "in_progress");
	ck_assert_int_eq(cJSON_GetObjectItem(a, "total_steps")->valueint, 2);
	cJSON_Delete(a);
	v = query1("SELECT metadata->>'source' FROM ai_developer_workflows WHERE id = $1", id);
	ck_assert_str_eq(v, "cli");
	free(v);
	free(json);
	free(id);
	/* A relative working dir is made absolute; a name of 100 bytes is fine. */
	memset(name100, 'n', 100);
	name100[100] = '\0';
	ck_assert_int_eq(chdir(workdir), 0);
	in.working_dir = "sub/../sub";
	in.name = name100;
	in.status = NULL;
	json = NULL;
	ck_assert_msg(adw_store_adw_create(conn, &cfg, &in, &json, NULL, &err) == 0, "%s", err.msg);
	a = cJSON_Parse(json);
	ck_assert_str_eq(str(a, "working_dir"), other);
	ck_assert_str_eq(str(a, "name"), name100);
	ck_assert_str_eq(str(a, "status"), "pending");
	cJSON_Delete(a);
	free(json);
	/* A non-ASCII prompt gets the name "adw"; both out-params may be NULL. */
	in.name = NULL;
	in.prompt = "日本語のテキスト";
	ck_assert_msg(adw_store_adw_create(conn, &cfg, &in, NULL, NULL, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(
	    count("SELECT count(*) FROM ai_developer_workflows WHERE adw_name = 'adw'"), 1);
}
END_TEST

START_TEST(test_create_prompt_limit)
{
	char *big = adw_xmalloc(ADW_STORE_PROMPT_MAX + 2);
	struct adw_new in = {.workflow = "plan_build", .prompt = big};
	struct adw_err err = {0};

	use_db("store_plimit");
	memset(big, 'p', ADW_STORE_PROMPT_MAX);
	big[ADW_STORE_PROMPT_MAX] = '\0';
	ck_assert_msg(adw_store_adw_create(conn, &cfg, &in, NULL, NULL, &err) == 0, "%s", err.msg);
	big[ADW_STORE_PROMPT_MAX] = 'p';
	big[ADW_STORE_PROMPT_MAX + 1] = '\0';
	ck_assert_int_eq(adw_store_adw_create(conn, &cfg, &in, NULL, NULL, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_int_eq(count("SELECT count(*) FROM ai_developer_workflows"), 1);
	free(big);
}
END_TEST

START_TEST(test_create_invalid_writes_nothing)
{
	char file[96], missing[96], name101[102], *big;
	struct {
		struct adw_new in;
		const char *msg;
	} bad[] = {
	    {{.workflow = NULL, .prompt = "p"}, "workflow"},
	    {{.workflow = "", .prompt = "p"}, "workflow"},
	    {{.workflow = "nope", .prompt = "p"}, "unknown workflow 'nope'"},
	    {{.workflow = "../adws/workflows/plan_build", .prompt = "p"}, "unknown workflow"},
	    {{.workflow = "plan_build", .prompt = NULL}, "prompt"},
	    {{.workflow = "plan_build", .prompt = ""}, "prompt"},
	    {{.workflow = "plan_build", .prompt = " \n\t "}, "prompt"},
	    {{.workflow = "plan_build", .prompt = NULL}, "prompt is over"}, /* big, below */
	    {{.workflow = "plan_build", .prompt = "p", .runtime = "gpt"}, "unknown runtime 'gpt'"},
	    {{.workflow = "plan_build", .prompt = "p", .runtime = ""}, "runtime"},
	    {{.workflow = "plan_build", .prompt = "p", .working_dir = missing}, "does not exist"},
	    {{.workflow = "plan_build", .prompt = "p", .working_dir = file}, "not a directory"},
	    {{.workflow = "plan_build", .prompt = "p", .working_dir = ""}, "working_dir"},
	    {{.workflow = "plan_build", .prompt = "p", .name = "has space"}, "bad name"},
	    {{.workflow = "plan_build", .prompt = "p", .name = "a/b"}, "bad name"},
	    {{.workflow = "plan_build", .prompt = "p", .name = "x;drop"}, "bad name"},
	    {{.workflow = "plan_build", .prompt = "p", .name = "caf\xc3\xa9"}, "bad name"},
	    {{.workflow = "plan_build", .prompt = "p", .name = name101}, "bad name"},
	    {{.workflow = "plan_build", .prompt = "p", .status = "bogus"}, ""},
	};
	FILE *f;

	use_db("store_invalid");
	snprintf(file, sizeof(file), "%s/afile", workdir);
	snprintf(missing, sizeof(missing), "%s/no/such/dir", workdir);
	f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	memset(name101, 'n', 101);
	name101[101] = '\0';
	big = adw_xmalloc(ADW_STORE_PROMPT_MAX + 2);
	memset(big, 'p', ADW_STORE_PROMPT_MAX + 1);
	big[ADW_STORE_PROMPT_MAX + 1] = '\0';
	bad[7].in.prompt = big;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct adw_err err = {0};
		char *json = (char *)"untouched", *id = (char *)"untouched";

		ck_assert_msg(adw_store_adw_create(conn, &cfg, &bad[i].in, &json, &id, &err) == -1,
			      "case %zu was accepted", i);
		ck_assert_msg(err.code == ADW_ERR_INVALID, "case %zu: code %d: %s", i, err.code,
			      err.msg);
		ck_assert_msg(strstr(err.msg, bad[i].msg) != NULL, "case %zu: '%s'", i, err.msg);
		ck_assert_str_eq(json, "untouched");
		ck_assert_str_eq(id, "untouched");
		ck_assert_msg(total_rows() == 0, "case %zu left rows behind", i);
	}
	/* The unknown-workflow message lists the known ones. */
	{
		struct adw_err err = {0};

		ck_assert_int_eq(adw_store_adw_create(conn, &cfg, &bad[2].in, NULL, NULL, &err),
				 -1);
		ck_assert_msg(strstr(err.msg, "plan_build_review") != NULL, "%s", err.msg);
	}
	/* The connection is still usable (no transaction left open). */
	ck_assert_int_eq(PQtransactionStatus(conn), PQTRANS_IDLE);
	free(create("plan_build", "still works", NULL));
	ck_assert_int_eq(count("SELECT count(*) FROM ai_developer_workflows"), 1);
	free(big);
}
END_TEST

START_TEST(test_create_unwritable_dir)
{
	char ro[96];
	struct adw_new in = {.workflow = "plan_build", .prompt = "p", .working_dir = ro};
	struct adw_err err = {0};

	if (geteuid() == 0)
		return; /* root may write anywhere: nothing to test */
	use_db("store_rodir");
	snprintf(ro, sizeof(ro), "%s/ro", workdir);
	ck_assert_int_eq(mkdir(ro, 0555), 0);
	ck_assert_int_eq(adw_store_adw_create(conn, &cfg, &in, NULL, NULL, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_msg(strstr(err.msg, "not writable") != NULL, "%s", err.msg);
	ck_assert_int_eq(total_rows(), 0);
}
END_TEST

START_TEST(test_get)
{
	struct adw_err err = {0};
	char *a = NULL, *b = NULL, *c = NULL, *json = NULL, *id = NULL;
	char upper[40];
	cJSON *root;

	use_db("store_get");
	a = create("plan_build", "first", "dup");
	b = create("plan_build", "second", "dup");
	c = create("plan_build", "third", "other");
	/* Make a clearly the older of the two "dup"s, c older still. */
	set_age(a, 10);
	set_age(c, 20);

	ck_assert_msg(adw_store_adw_get(conn, a, false, &json, &id, &err) == 0, "%s", err.msg);
	root = cJSON_Parse(json);
	ck_assert_str_eq(str(root, "id"), a);
	ck_assert_str_eq(str(root, "prompt"), "first");
	ck_assert_str_eq(id, a);
	cJSON_Delete(root);
	free(json);
	free(id);

	/* By name: the newest of that name; wrapped. */
	ck_assert_msg(adw_store_adw_get(conn, "dup", true, &json, &id, &err) == 0, "%s", err.msg);
	root = cJSON_Parse(json);
	ck_assert_str_eq(str(cJSON_GetObjectItem(root, "adw"), "id"), b);
	ck_assert_str_eq(id, b);
	cJSON_Delete(root);
	free(json);
	free(id);
	/* Flip the ages: now a is the newest "dup". */
	set_age(b, 30);
	ck_assert_int_eq(adw_store_adw_get(conn, "dup", false, NULL, &id, &err), 0);
	ck_assert_str_eq(id, a);
	free(id);
	ck_assert_int_eq(adw_store_adw_get(conn, "other", false, NULL, &id, &err), 0);
	ck_assert_str_eq(id, c);
	free(id);
	/* An uppercase uuid is the same ADW. */
	for (size_t i = 0; i <= strlen(c); i++)
		upper[i] = (char)toupper((unsigned char)c[i]);
	ck_assert_int_eq(adw_store_adw_get(conn, upper, false, NULL, &id, &err), 0);
	ck_assert_str_eq(id, c);
	free(id);
	/* json and id may be NULL. */
	ck_assert_int_eq(adw_store_adw_get(conn, a, true, NULL, NULL, &err), 0);

	/* Not found. */
	json = id = NULL;
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(adw_store_adw_get(conn, "x", true, &json, &id, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_NOT_FOUND);
	ck_assert_str_eq(err.msg, "adw 'x' not found");
	ck_assert_ptr_null(json);
	ck_assert_ptr_null(id);
	ck_assert_int_eq(adw_store_adw_get(conn, "00000000-0000-0000-0000-000000000042", false,
					   &json, &id, &err),
			 -1);
	ck_assert_int_eq(err.code, ADW_ERR_NOT_FOUND);
	ck_assert_str_eq(err.msg, "adw '00000000-0000-0000-0000-000000000042' not found");
	/* A name is never matched by a LIKE pattern or a prefix. */
	ck_assert_int_eq(adw_store_adw_get(conn, "du%", false, NULL, NULL, &err), -1);
	ck_assert_int_eq(adw_store_adw_get(conn, "du", false, NULL, NULL, &err), -1);
	ck_assert_int_eq(adw_store_adw_get(conn, "", false, NULL, NULL, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_NOT_FOUND);
	free(a);
	free(b);
	free(c);
}
END_TEST

START_TEST(test_get_uuid_shaped_name)
{
	/*
	 * adw_store_adw_get: "by uuid or, failing that, by name". A name that
	 * looks like a uuid must either be refused at create or be found.
	 */
	const char *name = "12345678-1234-1234-1234-123456789abc";
	struct adw_new in = {.workflow = "plan_build", .prompt = "p", .name = name};
	struct adw_err err = {0};
	char *id = NULL, *got = NULL;

	use_db("store_uuidname");
	if (adw_store_adw_create(conn, &cfg, &in, NULL, &id, &err) < 0) {
		ck_assert_int_eq(err.code, ADW_ERR_INVALID);
		return;
	}
	ck_assert_msg(adw_store_adw_get(conn, name, false, NULL, &got, &err) == 0,
		      "ADW named '%s' created but not found by its name: %s", name, err.msg);
	ck_assert_str_eq(got, id);
	free(got);
	free(id);
}
END_TEST

static int json_ids(const char *json, const char *key, char ***ids)
{
	cJSON *root = cJSON_Parse(json);
	cJSON *arr = cJSON_GetObjectItem(root, key), *it;
	int n = 0;

	ck_assert_msg(cJSON_IsArray(arr), "%s", json);
	*ids = adw_xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(**ids));
	cJSON_ArrayForEach (it, arr)
		(*ids)[n++] = adw_xstrdup(str(it, "id"));
	cJSON_Delete(root);
	return n;
}

START_TEST(test_list)
{
	struct adw_err err = {0};
	char *id[5], *json = NULL, **got;
	int n;

	use_db("store_list");
	ck_assert_int_eq(adw_store_adw_list(conn, NULL, 10, &json, &err), 0);
	n = json_ids(json, "adws", &got);
	ck_assert_int_eq(n, 0);
	adw_store_strv_free(got, n);
	free(json);
	/* id[0] is the newest, id[4] the oldest. */
	for (int i = 0; i < 5; i++) {
		char p[16];

		snprintf(p, sizeof(p), "prompt %d", i);
		id[i] = create("plan_build", p, NULL);
		set_age(id[i], i * 10);
	}
	exec1("UPDATE ai_developer_workflows SET status = 'completed' WHERE id = $1", id[1]);
	exec1("UPDATE ai_developer_workflows SET status = 'completed' WHERE id = $1", id[3]);
	exec1("UPDATE ai_developer_workflows SET status = 'failed' WHERE id = $1", id[2]);

	ck_assert_int_eq(adw_store_adw_list(conn, NULL, 100, &json, &err), 0);
	n = json_ids(json, "adws", &got);
	ck_assert_int_eq(n, 5);
	for (int i = 0; i < 5; i++)
		ck_assert_str_eq(got[i], id[i]);
	adw_store_strv_free(got, n);
	free(json);

	ck_assert_int_eq(adw_store_adw_list(conn, "completed", 100, &json, &err), 0);
	n = json_ids(json, "adws", &got);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(got[0], id[1]);
	ck_assert_str_eq(got[1], id[3]);
	adw_store_strv_free(got, n);
	free(json);

	ck_assert_int_eq(adw_store_adw_list(conn, "pending", 1, &json, &err), 0);
	n = json_ids(json, "adws", &got);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(got[0], id[0]);
	adw_store_strv_free(got, n);
	free(json);

	ck_assert_int_eq(adw_store_adw_list(conn, "cancelled", 100, &json, &err), 0);
	n = json_ids(json, "adws", &got);
	ck_assert_int_eq(n, 0);
	adw_store_strv_free(got, n);
	free(json);

	/* limit: the newest ones; "" means no status filter. */
	ck_assert_int_eq(adw_store_adw_list(conn, "", 2, &json, &err), 0);
	n = json_ids(json, "adws", &got);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(got[0], id[0]);
	ck_assert_str_eq(got[1], id[1]);
	adw_store_strv_free(got, n);
	free(json);
	ck_assert_int_eq(adw_store_adw_list(conn, NULL, ADW_STORE_LIST_MAX, &json, &err), 0);
	free(json);

	/* Bad input. */
	json = NULL;
	ck_assert_int_eq(adw_store_adw_list(conn, "done", 10, &json, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_msg(strstr(err.msg, "'done'") != NULL, "%s", err.msg);
	ck_assert_int_eq(adw_store_adw_list(conn, "pending'; --", 10, &json, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_int_eq(adw_store_adw_list(conn, NULL, 0, &json, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_int_eq(adw_store_adw_list(conn, NULL, ADW_STORE_LIST_MAX + 1, &json, &err), -1);
	ck_assert_int_eq(adw_store_adw_list(conn, NULL, -1, &json, &err), -1);
	ck_assert_ptr_null(json);
	for (int i = 0; i < 5; i++)
		free(id[i]);
}
END_TEST

static void add_event(const char *adw_id, const char *type, long long *id)
{
	struct adw_event ev = {
	    .adw_id = adw_id, .category = ADW_CAT_SYSTEM, .type = type, .content = type};
	struct adw_err err = {0};

	ck_assert_msg(adw_event_insert(conn, &ev, id, &err) == 0, "%s", err.msg);
}

/* Parses {"events":[...],"next_after":N}: fills ids (up to max) and returns the count. */
static int parse_events(const char *json, long long *ids, int max, long long *next,
			const char *want_adw)
{
	cJSON *root = cJSON_Parse(json);
	cJSON *arr = cJSON_GetObjectItem(root, "events"), *it;
	cJSON *na = cJSON_GetObjectItem(root, "next_after");
	int n = 0;

	ck_assert_msg(cJSON_IsArray(arr) && cJSON_IsNumber(na), "%s", json);
	cJSON_ArrayForEach (it, arr) {
		ck_assert_int_lt(n, max);
		ids[n++] = (long long)cJSON_GetObjectItem(it, "id")->valuedouble;
		if (want_adw)
			ck_assert_str_eq(str(it, "adw_id"), want_adw);
	}
	*next = (long long)na->valuedouble;
	cJSON_Delete(root);
	return n;
}

START_TEST(test_events)
{
	struct adw_err err = {0};
	char *a, *b, *json = NULL;
	long long all[64], got[64], next = -1, after;
	int nall = 0, n;

	use_db("store_events");
	/* Empty: no events, next_after is the cursor given. */
	ck_assert_int_eq(adw_store_events(conn, 7, 10, NULL, NULL, &json, &err), 0);
	n = parse_events(json, got, 64, &next, NULL);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(next, 7);
	free(json);

	a = create("plan_build", "event test a", NULL); /* + AdwCreated */
	b = create("plan_build", "event test b", NULL); /* + AdwCreated */
	for (int i = 0; i < 5; i++)
		add_event(a, "SystemInfo", NULL);
	for (int i = 0; i < 3; i++)
		add_event(b, "SystemInfo", NULL);
	add_event(NULL, "SystemWarning", NULL);
	add_event(a, "SystemError", NULL);

	ck_assert_int_eq(adw_store_events(conn, 0, 1000, NULL, NULL, &json, &err), 0);
	nall = parse_events(json, all, 64, &next, NULL);
	free(json);
	ck_assert_int_eq(nall, 12);
	for (int i = 1; i < nall; i++)
		ck_assert_int_gt(all[i], all[i - 1]);
	ck_assert_int_eq(next, all[nall - 1]);

	/* after: only later events. */
	ck_assert_int_eq(adw_store_events(conn, all[5], 1000, NULL, NULL, &json, &err), 0);
	n = parse_events(json, got, 64, &next, NULL);
	free(json);
	ck_assert_int_eq(n, nall - 6);
	ck_assert_int_eq(got[0], all[6]);

	/* Paging with limit and next_after sees every event once, in order. */
	after = 0;
	{
		int seen = 0;

		for (int page = 0; page < 20; page++) {
			ck_assert_int_eq(adw_store_events(conn, after, 5, NULL, NULL, &json, &err),
					 0);
			n = parse_events(json, got, 64, &next, NULL);
			free(json);
			ck_assert_int_le(n, 5);
			for (int i = 0; i < n; i++)
				ck_assert_int_eq(got[i], all[seen++]);
			if (n == 0) {
				ck_assert_int_eq(next, after);
				break;
			}
			ck_assert_int_eq(next, got[n - 1]);
			after = next;
		}
		ck_assert_int_eq(seen, nall);
	}

	/* One ADW's events. */
	ck_assert_int_eq(adw_store_events(conn, 0, 1000, a, NULL, &json, &err), 0);
	n = parse_events(json, got, 64, &next, a);
	free(json);
	ck_assert_int_eq(n, 7);
	ck_assert_int_eq(adw_store_events(conn, 0, 2, b, NULL, &json, &err), 0);
	n = parse_events(json, got, 64, &next, b);
	free(json);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(next, got[1]);
	/* An agent with no events. */
	ck_assert_int_eq(adw_store_events(conn, 0, 10, NULL, "00000000-0000-0000-0000-000000000001",
					  &json, &err),
			 0);
	n = parse_events(json, got, 64, &next, NULL);
	free(json);
	ck_assert_int_eq(n, 0);

	/* Bad input. */
	json = NULL;
	ck_assert_int_eq(adw_store_events(conn, 0, 10, "not-a-uuid", NULL, &json, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_msg(strstr(err.msg, "not-a-uuid") != NULL, "%s", err.msg);
	ck_assert_int_eq(adw_store_events(conn, 0, 10, NULL, "x'; --", &json, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_int_eq(adw_store_events(conn, 0, 0, NULL, NULL, &json, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_int_eq(
	    adw_store_events(conn, 0, ADW_STORE_EVENTS_MAX + 1, NULL, NULL, &json, &err), -1);
	ck_assert_int_eq(adw_store_events(conn, -1, 10, NULL, NULL, &json, &err), -1);
	ck_assert_int_eq(err.code, ADW_ERR_INVALID);
	ck_assert_ptr_null(json);
	free(a);
	free(b);
}
END_TEST

static bool has(char **ids, int n, const char *id)
{
	for (int i = 0; i < n; i++) {
		if (strcmp(ids[i], id) == 0)
			return true;
	}
	return false;
}

/* Creates n pending ADWs, ids[0] the oldest. */
static void create_pending(char **ids, int n, int age_base)
{
	for (int i = 0; i < n; i++) {
		char p[32];

		snprintf(p, sizeof(p), "claim %d", i);
		ids[i] = create("plan_build", p, NULL);
		set_age(ids[i], age_base + (n - i) * 10);
	}
}

START_TEST(test_claim_basic)
{
	struct adw_err err = {0};
	char *ids[6], **got = NULL, *v;
	int n = -1;

	use_db("store_claim");
	/* Nothing to claim. */
	ck_assert_int_eq(adw_store_adw_claim(conn, "hostA", 4242, 5, &got, &n, &err), 0);
	ck_assert_int_eq(n, 0);
	adw_store_strv_free(got, n);
	create_pending(ids, 6, 0);
	exec1("UPDATE ai_developer_workflows SET status = 'completed' WHERE id = $1", ids[0]);
	/* max 0 claims nothing. */
	ck_assert_int_eq(adw_store_adw_claim(conn, "hostA", 4242, 0, &got, &n, &err), 0);
	ck_assert_int_eq(n, 0);
	adw_store_strv_free(got, n);
	ck_assert_int_eq(count("SELECT count(*) FROM ai_developer_workflows "
			       "WHERE status = 'pending'"),
			 5);

	/* The two oldest pending ones (ids[0] is completed). */
	ck_assert_int_eq(adw_store_adw_claim(conn, "hostA", 4242, 2, &got, &n, &err), 0);
	ck_assert_int_eq(n, 2);
	ck_assert(has(got, n, ids[1]));
	ck_assert(has(got, n, ids[2]));
	adw_store_strv_free(got, n);
	v = query1("SELECT status || ' ' || worker_host || ' ' || (metadata->>'supervisor_pid') || "
		   "' ' || (started_at IS NOT NULL) FROM ai_developer_workflows WHERE id = $1",
		   ids[1]);
	ck_assert_str_eq(v, "in_progress hostA 4242 true");
	free(v);
	v = query1("SELECT status FROM ai_developer_workflows WHERE id = $1", ids[0]);
	ck_assert_str_eq(v, "completed");
	free(v);

	/* The rest, oldest first, however large max is. */
	ck_assert_int_eq(adw_store_adw_claim(conn, "hostB", 7, 100, &got, &n, &err), 0);
	ck_assert_int_eq(n, 3);
	for (int i = 3; i < 6; i++)
		ck_assert(has(got, n, ids[i]));
	adw_store_strv_free(got, n);
	ck_assert_int_eq(adw_store_adw_claim(conn, "hostB", 7, 100, &got, &n, &err), 0);
	ck_assert_int_eq(n, 0);
	adw_store_strv_free(got, n);
	ck_assert_int_eq(count("SELECT count(*) FROM ai_developer_workflows "
			       "WHERE worker_host = 'hostB'"),
			 3);
	for (int i = 0; i < 6; i++)
		free(ids[i]);
}
END_TEST

START_TEST(test_claim_not_blocked_by_references)
{
	struct adw_err err = {0};
	char *ids[1], **got = NULL;
	int n = -1;
	PGconn *other;

	use_db("store_keyshare");
	other = testlib_connect(dbinfo);
	create_pending(ids, 1, 0);
	/*
	 * A transaction that inserts a row referencing the ADW (a chat reply, an
	 * event) holds FOR KEY SHARE on it until it commits. The claim must not
	 * skip the ADW for that: it changes no key column.
	 */
	PQclear(testlib_query(other, "BEGIN"));
	{
		const char *params[1] = {ids[0]};
		PGresult *r =
		    PQexecParams(other,
				 "INSERT INTO orchestrator_chat (sender_type, receiver_type, "
				 "message, adw_id) VALUES ('orchestrator', 'user', 'hi', $1)",
				 1, NULL, params, NULL, NULL, 0);

		ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
		PQclear(r);
	}
	ck_assert_int_eq(adw_store_adw_claim(conn, "hostA", 1, 5, &got, &n, &err), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(got[0], ids[0]);
	adw_store_strv_free(got, n);
	PQclear(testlib_query(other, "COMMIT"));
	PQfinish(other);
	free(ids[0]);
}
END_TEST

START_TEST(test_claim_skip_locked)
{
	struct adw_err err = {0};
	char *ids[7], **ga = NULL, **gb = NULL;
	int na = -1, nb = -1;
	PGconn *other;

	use_db("store_skiplocked");
	other = testlib_connect(dbinfo);
	/* Were B to wait for A's row locks, fail instead of hanging until the test timeout. */
	PQclear(testlib_query(other, "SET lock_timeout = '10s'"));
	create_pending(ids, 5, 0);

	/* Supervisor A claims in a transaction it keeps open. */
	PQclear(testlib_query(conn, "BEGIN"));
	ck_assert_int_eq(adw_store_adw_claim(conn, "hostA", 1, 2, &ga, &na, &err), 0);
	ck_assert_int_eq(na, 2);
	ck_assert(has(ga, na, ids[0]));
	ck_assert(has(ga, na, ids[1]));
	/* Supervisor B neither waits for A's rows nor gets them. */
	ck_assert_int_eq(adw_store_adw_claim(other, "hostB", 2, 10, &gb, &nb, &err), 0);
	ck_assert_int_eq(nb, 3);
	for (int i = 0; i < nb; i++)
		ck_assert_msg(!has(ga, na, gb[i]), "%s claimed twice", gb[i]);
	for (int i = 2; i < 5; i++)
		ck_assert(has(gb, nb, ids[i]));
	adw_store_strv_free(gb, nb);
	PQclear(testlib_query(conn, "COMMIT"));
	ck_assert_int_eq(adw_store_adw_claim(other, "hostB", 2, 10, &gb, &nb, &err), 0);
	ck_assert_int_eq(nb, 0);
	adw_store_strv_free(gb, nb);
	adw_store_strv_free(ga, na);
	ck_assert_int_eq(count("SELECT count(*) FROM ai_developer_workflows "
			       "WHERE worker_host = 'hostA'"),
			 2);
	ck_assert_int_eq(count("SELECT count(*) FROM ai_developer_workflows "
			       "WHERE worker_host = 'hostB'"),
			 3);

	/* A claim rolled back is claimable again. */
	create_pending(ids + 5, 2, 0);
	PQclear(testlib_query(conn, "BEGIN"));
	ck_assert_int_eq(adw_store_adw_claim(conn, "hostA", 1, 1, &ga, &na, &err), 0);
	ck_assert_int_eq(na, 1);
	ck_assert_str_eq(ga[0], ids[5]);
	ck_assert_int_eq(adw_store_adw_claim(other, "hostB", 2, 10, &gb, &nb, &err), 0);
	ck_assert_int_eq(nb, 1);
	ck_assert_str_eq(gb[0], ids[6]);
	adw_store_strv_free(gb, nb);
	PQclear(testlib_query(conn, "ROLLBACK"));
	ck_assert_int_eq(adw_store_adw_claim(other, "hostB", 2, 10, &gb, &nb, &err), 0);
	ck_assert_int_eq(nb, 1);
	ck_assert_str_eq(gb[0], ids[5]);
	adw_store_strv_free(gb, nb);
	adw_store_strv_free(ga, na);
	PQfinish(other);
	for (int i = 0; i < 7; i++)
		free(ids[i]);
}
END_TEST

#define RACE_ADWS 40
#define RACE_THREADS 4

struct racer {
	pthread_t thread;
	const char *conninfo;
	char host[16];
	char *ids[RACE_ADWS];
	int n;
	int failed;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct adw_err err = {0};
	PGconn *c = adw_db_connect(r->conninfo, &err);

	if (!c) {
		r->failed = 1;
		return NULL;
	}
	for (;;) {
		char **got = NULL;
		int n = 0;

		if (adw_store_adw_claim(c, r->host, 100, 3, &got, &n, &err) < 0) {
			r->failed = 1;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (r->n < RACE_ADWS)
				r->ids[r->n++] = adw_xstrdup(got[i]);
			else
				r->failed = 1;
		}
		adw_store_strv_free(got, n);
		if (n == 0)
			break;
	}
	PQfinish(c);
	return NULL;
}

START_TEST(test_claim_concurrent)
{
	struct racer racers[RACE_THREADS];
	char *ids[RACE_ADWS];
	int total = 0;

	use_db("store_race");
	create_pending(ids, RACE_ADWS, 0);
	memset(racers, 0, sizeof(racers));
	for (int t = 0; t < RACE_THREADS; t++) {
		racers[t].conninfo = dbinfo;
		snprintf(racers[t].host, sizeof(racers[t].host), "host%d", t);
		ck_assert_int_eq(pthread_create(&racers[t].thread, NULL, race, &racers[t]), 0);
	}
	for (int t = 0; t < RACE_THREADS; t++)
		ck_assert_int_eq(pthread_join(racers[t].thread, NULL), 0);
	/* Every ADW claimed exactly once, by the host the row names. */
	for (int t = 0; t < RACE_THREADS; t++) {
		ck_assert_msg(!racers[t].failed, "racer %d failed", t);
		total += racers[t].n;
		for (int i = 0; i < racers[t].n; i++) {
			char *host = query1("SELECT worker_host FROM ai_developer_workflows "
					    "WHERE id = $1",
					    racers[t].ids[i]);

			ck_assert_str_eq(host, racers[t].host);
			free(host);
			for (int u = 0; u < RACE_THREADS; u++) {
				if (u != t)
					ck_assert_msg(
					    !has(racers[u].ids, racers[u].n, racers[t].ids[i]),
					    "%s claimed by racers %d and %d", racers[t].ids[i], t,
					    u);
			}
		}
	}
	ck_assert_int_eq(total, RACE_ADWS);
	ck_assert_int_eq(count("SELECT count(*) FROM ai_developer_workflows "
			       "WHERE status <> 'in_progress'"),
			 0);
	for (int t = 0; t < RACE_THREADS; t++) {
		for (int i = 0; i < racers[t].n; i++)
			free(racers[t].ids[i]);
	}
	for (int i = 0; i < RACE_ADWS; i++)
		free(ids[i]);
}
END_TEST

START_TEST(test_fail)
{
	struct adw_err err = {0};
	char *id, *v, *agent;
	bool changed = false;
	PGresult *r;
	cJSON *p;

	use_db("store_fail");
	id = create("plan_build_review", "fail me", NULL);
	/* In progress: plan done, build running with an executing agent. */
	exec1("UPDATE ai_developer_workflows SET status = 'in_progress', current_step = 'build', "
	      "started_at = now() - interval '2 seconds' WHERE id = $1",
	      id);
	exec1("UPDATE adw_steps SET status = 'completed' WHERE adw_id = $1 AND position = 0", id);
	exec1("UPDATE adw_steps SET status = 'running', started_at = now() "
	      "WHERE adw_id = $1 AND position = 1",
	      id);
	agent = query1("INSERT INTO agents (name, model, adw_id, adw_step, status) "
		       "VALUES ('build-agent', 'm', $1, 'build', 'executing') RETURNING id",
		       id);

	ck_assert_msg(adw_store_adw_fail(conn, id, "worker died (signal 9)", &changed, &err) == 0,
		      "%s", err.msg);
	ck_assert(changed);
	ck_assert_int_eq(PQtransactionStatus(conn), PQTRANS_IDLE);
	v = query1("SELECT status || '|' || error_message || '|' || error_step || '|' || "
		   "error_count || '|' || (completed_at IS NOT NULL) || '|' || "
		   "(duration_ms >= 1000) FROM ai_developer_workflows WHERE id = $1",
		   id);
	ck_assert_str_eq(v, "failed|worker died (signal 9)|build|1|true|true");
	free(v);
	/* Only the running step failed, with the reason; the others kept their status. */
	r = testlib_query(conn, "SELECT status, error, ended_at IS NOT NULL FROM adw_steps "
				"ORDER BY position");
	ck_assert_int_eq(PQntuples(r), 3);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "completed");
	ck_assert_str_eq(PQgetvalue(r, 1, 0), "failed");
	ck_assert_str_eq(PQgetvalue(r, 1, 1), "worker died (signal 9)");
	ck_assert_str_eq(PQgetvalue(r, 1, 2), "t");
	ck_assert_str_eq(PQgetvalue(r, 2, 0), "pending");
	PQclear(r);
	v = query1("SELECT status FROM agents WHERE id = $1", agent);
	ck_assert_str_eq(v, "blocked");
	free(v);
	/* SystemError in the step's lane, then AdwUpdated with the failed ADW. */
	r = testlib_query(conn, "SELECT type, step, content, payload::text FROM events "
				"WHERE type <> 'AdwCreated' ORDER BY id");
	ck_assert_int_eq(PQntuples(r), 2);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "SystemError");
	ck_assert_str_eq(PQgetvalue(r, 0, 1), "build");
	ck_assert_str_eq(PQgetvalue(r, 0, 2), "worker died (signal 9)");
	p = cJSON_Parse(PQgetvalue(r, 0, 3));
	ck_assert_str_eq(str(p, "reason"), "worker died (signal 9)");
	cJSON_Delete(p);
	ck_assert_str_eq(PQgetvalue(r, 1, 0), "AdwUpdated");
	p = cJSON_Parse(PQgetvalue(r, 1, 3));
	ck_assert_str_eq(str(cJSON_GetObjectItem(p, "adw"), "status"), "failed");
	ck_assert_str_eq(str(cJSON_GetObjectItem(p, "adw"), "error"), "worker died (signal 9)");
	cJSON_Delete(p);
	PQclear(r);

	/* A second call is a no-op. */
	changed = true;
	ck_assert_int_eq(adw_store_adw_fail(conn, id, "again", &changed, &err), 0);
	ck_assert(!changed);
	ck_assert_int_eq(PQtransactionStatus(conn), PQTRANS_IDLE);
	v = query1("SELECT error_message || '|' || error_count FROM ai_developer_workflows "
		   "WHERE id = $1",
		   id);
	ck_assert_str_eq(v, "worker died (signal 9)|1");
	free(v);
	ck_assert_int_eq(count("SELECT count(*) FROM events WHERE type <> 'AdwCreated'"), 2);
	free(agent);
	free(id);
}
END_TEST

START_TEST(test_fail_finished_and_pending)
{
	static const char *const terminal[] = {"completed", "failed", "cancelled"};
	static const char *const unfinished[] = {"pending", "paused", "awaiting_input"};
	struct adw_err err = {0};
	bool changed;
	char *v;

	use_db("store_fail2");
	for (size_t i = 0; i < 3; i++) {
		char *id = create("plan_build", "finished", NULL);
		char *sql = adw_xasprintf("UPDATE ai_developer_workflows SET status = '%s', "
					  "error_message = 'orig' WHERE id = $1",
					  terminal[i]);

		exec1(sql, id);
		free(sql);
		changed = true;
		ck_assert_int_eq(adw_store_adw_fail(conn, id, "late", &changed, &err), 0);
		ck_assert_msg(!changed, "%s ADW failed again", terminal[i]);
		v = query1("SELECT status || '|' || error_message || '|' || error_count "
			   "FROM ai_developer_workflows WHERE id = $1",
			   id);
		sql = adw_xasprintf("%s|orig|0", terminal[i]);
		ck_assert_str_eq(v, sql);
		free(sql);
		free(v);
		free(id);
	}
	ck_assert_int_eq(count("SELECT count(*) FROM events WHERE type <> 'AdwCreated'"), 0);
	/* Unfinished ones that never ran fail too (no step was running). */
	for (size_t i = 0; i < 3; i++) {
		char *id = create("plan_build", "unfinished", NULL);
		char *sql = adw_xasprintf("UPDATE ai_developer_workflows SET status = '%s' "
					  "WHERE id = $1",
					  unfinished[i]);

		exec1(sql, id);
		free(sql);
		ck_assert_int_eq(adw_store_adw_fail(conn, id, "gone", &changed, &err), 0);
		ck_assert_msg(changed, "%s ADW not failed", unfinished[i]);
		v = query1("SELECT status || '|' || (completed_at IS NOT NULL) || '|' || "
			   "(duration_ms IS NOT NULL) FROM ai_developer_workflows WHERE id = $1",
			   id);
		ck_assert_str_eq(v, "failed|true|true");
		free(v);
		v = query1(
		    "SELECT count(*) FROM adw_steps WHERE adw_id = $1 AND status = 'pending'", id);
		ck_assert_str_eq(v, "2");
		free(v);
		free(id);
	}
	/* An unknown ADW: nothing changes; changed may be NULL. */
	changed = true;
	ck_assert_int_eq(
	    adw_store_adw_fail(conn, "00000000-0000-0000-0000-000000000099", "x", &changed, &err),
	    0);
	ck_assert(!changed);
	ck_assert_int_eq(
	    adw_store_adw_fail(conn, "00000000-0000-0000-0000-000000000099", "x", NULL, &err), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM events WHERE type = 'SystemError'"), 3);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("adw_store");
	TCase *tc = tcase_create("pure");
	const char *url = getenv("ADW_TEST_DATABASE_URL");

	tcase_add_test(tc, test_slug_examples);
	tcase_add_test(tc, test_slug_properties);
	tcase_add_test(tc, test_slug_long_word);
	tcase_add_test(tc, test_is_uuid);
	tcase_add_test(tc, test_strv_free_null);
	tcase_add_test(tc, test_workflows_json);
	suite_add_tcase(s, tc);
	if (url && *url) {
		TCase *tp = tcase_create("pg");

		tcase_add_checked_fixture(tp, pg_setup, pg_teardown);
		tcase_add_test(tp, test_create_ok);
		tcase_add_test(tp, test_create_all_fields);
		tcase_add_test(tp, test_create_prompt_limit);
		tcase_add_test(tp, test_create_invalid_writes_nothing);
		tcase_add_test(tp, test_create_unwritable_dir);
		tcase_add_test(tp, test_get);
		tcase_add_test(tp, test_get_uuid_shaped_name);
		tcase_add_test(tp, test_list);
		tcase_add_test(tp, test_events);
		tcase_add_test(tp, test_claim_basic);
		tcase_add_test(tp, test_claim_skip_locked);
		tcase_add_test(tp, test_claim_not_blocked_by_references);
		tcase_add_test(tp, test_claim_concurrent);
		tcase_add_test(tp, test_fail);
		tcase_add_test(tp, test_fail_finished_and_pending);
		suite_add_tcase(s, tp);
	} else {
		fprintf(stderr, "ADW_TEST_DATABASE_URL unset: skipping the PostgreSQL cases\n");
	}
	return testlib_run(s);
}
