/* SPDX-License-Identifier: MIT */
/*
 * Tests of backend/adw_http and backend/adw_api: the daemon runs
 * in-process on 127.0.0.1:0 against a fresh migrated database and is
 * called with libcurl. Each test starts its own daemon (Check forks each
 * test). Needs ADW_TEST_DATABASE_URL; exits 77 (skip) without it.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adw_api.h"
#include "adw_buf.h"
#include "adw_config.h"
#include "adw_http.h"
#include "testlib.h"

static char tmpdir[64];
static struct adw_config cfg;
static struct adw_http *http;
static char *conninfo;

struct resp {
	long status;
	struct adw_buf body;
	char ctype[128];
	char allow[128];
	curl_off_t content_length;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;

	if (adw_buf_add(&r->body, p, size * n) < 0)
		return 0;
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = size * n;

	if (len > 6 && strncasecmp(p, "Allow:", 6) == 0) {
		size_t k = len - 6;
		const char *v = p + 6;

		while (k && *v == ' ') {
			v++;
			k--;
		}
		while (k && (v[k - 1] == '\r' || v[k - 1] == '\n'))
			k--;
		if (k >= sizeof(r->allow))
			k = sizeof(r->allow) - 1;
		memcpy(r->allow, v, k);
		r->allow[k] = '\0';
	}
	return len;
}

/*
 * One request to the daemon under test. body may be NULL; as_is sends the
 * path unnormalised (for "/../x").
 */
static void request(const char *method, const char *path, const char *body, size_t body_len,
		    bool as_is, struct resp *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char *url = adw_xasprintf("http://127.0.0.1:%u%s", adw_http_port(http), path);
	const char *ct = NULL;
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	adw_buf_init(&r->body, 0);
	ck_assert_ptr_nonnull(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if (as_is)
		curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (body) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0 && !(body && strcmp(method, "POST") == 0))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	rc = curl_easy_perform(c);
	ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &r->content_length);
	snprintf(r->ctype, sizeof(r->ctype), "%s", ct ? ct : "");
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	free(url);
}

static void get(const char *path, struct resp *r)
{
	request("GET", path, NULL, 0, false, r);
}

static void post(const char *path, const char *body, struct resp *r)
{
	request("POST", path, body, strlen(body), false, r);
}

static void resp_release(struct resp *r)
{
	adw_buf_release(&r->body);
}

static bool is_json_type(const struct resp *r)
{
	return strncmp(r->ctype, "application/json", 16) == 0;
}

/* The body as JSON (caller deletes), asserting the status and Content-Type. */
static cJSON *json_of(const struct resp *r, long status)
{
	cJSON *root;

	ck_assert_msg(r->status == status, "status %ld, want %ld: %s", r->status, status,
		      adw_buf_str(&r->body));
	ck_assert_msg(is_json_type(r), "Content-Type '%s'", r->ctype);
	root = cJSON_Parse(adw_buf_str(&r->body));
	ck_assert_msg(root != NULL, "not JSON: %s", adw_buf_str(&r->body));
	return root;
}

/*
 * Asserts the one error shape {"error":{"code","message"}} with status and
 * code; returns the message (a new string) for further checks.
 */
static char *assert_error(struct resp *r, long status, const char *code)
{
	cJSON *root = json_of(r, status);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
	char *msg;

	ck_assert_msg(cJSON_IsObject(e), "no error object: %s", adw_buf_str(&r->body));
	ck_assert_int_eq(cJSON_GetArraySize(root), 1);
	ck_assert_int_eq(cJSON_GetArraySize(e), 2);
	ck_assert_msg(cJSON_IsString(c) && cJSON_IsString(m), "%s", adw_buf_str(&r->body));
	ck_assert_msg(strcmp(c->valuestring, code) == 0, "code '%s', want '%s'", c->valuestring,
		      code);
	ck_assert_msg(strlen(m->valuestring) > 0, "empty message");
	msg = adw_xstrdup(m->valuestring);
	cJSON_Delete(root);
	resp_release(r);
	return msg;
}

static void expect_error(const char *method, const char *path, const char *body, long status,
			 const char *code, const char *in_msg)
{
	struct resp r;
	char *msg;

	request(method, path, body, body ? strlen(body) : 0, false, &r);
	msg = assert_error(&r, status, code);
	ck_assert_msg(!in_msg || strstr(msg, in_msg) != NULL, "%s %s: message '%s' lacks '%s'",
		      method, path, msg, in_msg);
	free(msg);
}

static void start_server(void)
{
	struct adw_err err = {0};

	http = adw_http_start(&cfg, conninfo, NULL, &err);
	ck_assert_msg(http != NULL, "start: %s", err.msg);
	ck_assert_uint_ne(adw_http_port(http), 0);
}

static void setup(void)
{
	struct adw_err err = {0};

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/adw-http-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	conninfo = testlib_db_create_migrated("http");
	setenv("ADW_LISTEN", "127.0.0.1:0", 1);
	setenv("ADW_RUNTIME", "dry-run", 1);
	setenv("ADW_WORKDIR", tmpdir, 1);
	setenv("ADW_HOME", tmpdir, 1);
	unsetenv("DATABASE_URL");
	ck_assert_msg(adw_config_load(&cfg, &err) == 0, "config: %s", err.msg);
	ck_assert_uint_eq(cfg.listen_port, 0);
}

static void teardown(void)
{
	adw_http_stop(http);
	http = NULL;
	adw_config_release(&cfg);
	free(conninfo);
	conninfo = NULL;
	testlib_rm_tree(tmpdir);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct adw_buf b;
	char chunk[4096];
	size_t n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	adw_buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ck_assert_int_eq(adw_buf_add(&b, chunk, n), 0);
	fclose(f);
	*len = b.len;
	return adw_buf_detach(&b);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "cannot create %s", path);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_start_stop)
{
	struct adw_err err = {0};
	struct adw_http *second;
	struct adw_config busy = cfg;
	struct resp r;

	start_server();
	/* The bound port is taken: a second daemon on it cannot start. */
	busy.listen_port = adw_http_port(http);
	second = adw_http_start(&busy, conninfo, NULL, &err);
	ck_assert_ptr_null(second);
	ck_assert_int_eq(err.code, ADW_ERR_UNAVAILABLE);
	/* The first one still answers. */
	get("/healthz", &r);
	ck_assert_int_eq(r.status, 200);
	resp_release(&r);
	adw_http_stop(NULL);
}
END_TEST

START_TEST(test_healthz)
{
	struct resp r;
	cJSON *root;

	start_server();
	get("/healthz", &r);
	root = json_of(&r, 200);
	ck_assert_str_eq(cJSON_GetObjectItem(root, "status")->valuestring, "ok");
	ck_assert_str_eq(cJSON_GetObjectItem(root, "database")->valuestring, "ok");
	ck_assert(cJSON_IsString(cJSON_GetObjectItem(root, "version")));
	cJSON_Delete(root);
	resp_release(&r);
	/* HEAD: the same status, no body. */
	request("HEAD", "/healthz", NULL, 0, false, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.body.len, 0);
	ck_assert(is_json_type(&r));
	resp_release(&r);
}
END_TEST

START_TEST(test_healthz_database_down)
{
	struct resp r;
	cJSON *root;

	/* A database that does not exist: 503, still JSON. */
	free(conninfo);
	conninfo = adw_xasprintf("%s dbname=adw_test_no_such_db", getenv("ADW_TEST_DATABASE_URL"));
	start_server();
	get("/healthz", &r);
	root = json_of(&r, 503);
	ck_assert_str_eq(cJSON_GetObjectItem(root, "database")->valuestring, "unavailable");
	cJSON_Delete(root);
	resp_release(&r);
	expect_error("GET", "/api/adws", NULL, 503, "unavailable", NULL);
}
END_TEST

START_TEST(test_errors_404)
{
	start_server();
	expect_error("GET", "/api/nope", NULL, 404, "not_found", "/api/nope");
	expect_error("GET", "/api", NULL, 404, "not_found", NULL);
	expect_error("GET", "/api/adws/x", NULL, 404, "not_found", "adw 'x' not found");
	expect_error("GET", "/api/adws/00000000-0000-0000-0000-000000000001", NULL, 404,
		     "not_found", "adw '00000000-0000-0000-0000-000000000001' not found");
	expect_error("GET", "/api/adws/x/events", NULL, 404, "not_found", "adw 'x' not found");
	expect_error("GET", "/api/adws/x/bogus", NULL, 404, "not_found", NULL);
	expect_error("POST", "/nope", "{}", 404, "not_found", NULL);
	expect_error("GET", "/no-such-file.html", NULL, 404, "not_found", NULL);
	expect_error("DELETE", "/index.html", NULL, 404, "not_found", NULL);
}
END_TEST

START_TEST(test_errors_405)
{
	struct resp r;
	char *msg;

	start_server();
	request("DELETE", "/api/adws", NULL, 0, false, &r);
	ck_assert_str_eq(r.allow, "GET, HEAD, POST");
	msg = assert_error(&r, 405, adw_errcode_name(ADW_ERR_MALFORMED));
	ck_assert_msg(strstr(msg, "DELETE") != NULL, "%s", msg);
	free(msg);
	request("PUT", "/api/workflows", "{}", 2, false, &r);
	ck_assert_str_eq(r.allow, "GET, HEAD");
	free(assert_error(&r, 405, adw_errcode_name(ADW_ERR_MALFORMED)));
	request("POST", "/api/events", "{}", 2, false, &r);
	ck_assert_str_eq(r.allow, "GET, HEAD");
	free(assert_error(&r, 405, adw_errcode_name(ADW_ERR_MALFORMED)));
	request("POST", "/healthz", "{}", 2, false, &r);
	ck_assert_str_eq(r.allow, "GET, HEAD");
	free(assert_error(&r, 405, adw_errcode_name(ADW_ERR_MALFORMED)));
	request("PATCH", "/api/chat", "{}", 2, false, &r);
	ck_assert_str_eq(r.allow, "GET, HEAD, POST");
	free(assert_error(&r, 405, adw_errcode_name(ADW_ERR_MALFORMED)));
	request("DELETE", "/api/adws/x", NULL, 0, false, &r);
	ck_assert_str_eq(r.allow, "GET, HEAD");
	free(assert_error(&r, 405, adw_errcode_name(ADW_ERR_MALFORMED)));
}
END_TEST

START_TEST(test_errors_400)
{
	start_server();
	expect_error("POST", "/api/adws", "{bad json", 400, "malformed", "JSON");
	expect_error("POST", "/api/adws", "", 400, "malformed", NULL);
	expect_error("POST", "/api/chat", "{\"message\": \"x\"", 400, "malformed", NULL);
	expect_error("GET", "/api/adws?limit=abc", NULL, 400, "malformed", "'limit'");
	expect_error("GET", "/api/adws?limit=0", NULL, 400, "malformed", "'0'");
	expect_error("GET", "/api/adws?limit=1001", NULL, 400, "malformed", NULL);
	expect_error("GET", "/api/adws?limit=5x", NULL, 400, "malformed", NULL);
	expect_error("GET", "/api/events?after=-1", NULL, 400, "malformed", "'after'");
	expect_error("GET", "/api/events?limit=5001", NULL, 400, "malformed", NULL);
	expect_error("GET", "/api/chat?limit=99999999999999999999", NULL, 400, "malformed", NULL);
}
END_TEST

START_TEST(test_errors_422)
{
	start_server();
	expect_error("POST", "/api/adws", "{\"workflow\":\"nope\",\"prompt\":\"x\"}", 422,
		     "invalid", "unknown workflow 'nope'");
	expect_error("POST", "/api/adws", "{\"workflow\":\"nope\",\"prompt\":\"x\"}", 422,
		     "invalid", "plan_build_review_fix");
	expect_error("POST", "/api/adws", "[1, 2]", 422, "invalid", "JSON object");
	expect_error("POST", "/api/adws", "\"str\"", 422, "invalid", NULL);
	expect_error("POST", "/api/adws", "{\"workflow\":5,\"prompt\":\"x\"}", 422, "invalid",
		     "'workflow'");
	expect_error("POST", "/api/adws", "{\"prompt\":\"x\"}", 422, "invalid", "'workflow'");
	expect_error("POST", "/api/adws", "{\"workflow\":\"plan_build\"}", 422, "invalid",
		     "'prompt'");
	expect_error("POST", "/api/adws", "{\"workflow\":\"plan_build\",\"prompt\":\"  \"}", 422,
		     "invalid", "prompt");
	expect_error("POST", "/api/adws",
		     "{\"workflow\":\"plan_build\",\"prompt\":\"x\",\"runtime\":\"gpt\"}", 422,
		     "invalid", "'gpt'");
	expect_error("POST", "/api/adws",
		     "{\"workflow\":\"plan_build\",\"prompt\":\"x\",\"working_dir\":\"/no/such\"}",
		     422, "invalid", "/no/such");
	expect_error("POST", "/api/adws",
		     "{\"workflow\":\"plan_build\",\"prompt\":\"x\",\"name\":\"a b\"}", 422,
		     "invalid", "bad name");
	expect_error("GET", "/api/adws?status=bogus", NULL, 422, "invalid", "'bogus'");
	expect_error("GET", "/api/events?adw_id=zzz", NULL, 422, "invalid", "zzz");
	expect_error("POST", "/api/chat", "{\"message\":\"\"}", 422, "invalid", "message");
	expect_error("POST", "/api/chat", "{\"message\":42}", 422, "invalid", "'message'");
	expect_error("POST", "/api/chat", "{}", 422, "invalid", "'message'");
	expect_error("GET", "/api/chat?before=nope", NULL, 422, "invalid", NULL);
}
END_TEST

START_TEST(test_database_text_not_sent)
{
	/*
	 * style.md rule 5 and adw_db.h: libpq's raw text is logged, never
	 * sent. A prompt with bytes PostgreSQL refuses is a 422 whose message
	 * is adw's own.
	 */
	struct resp r;
	char *msg;

	start_server();
	post("/api/adws", "{\"workflow\":\"plan_build\",\"prompt\":\"bad \xff byte\"}", &r);
	msg = assert_error(&r, 422, "invalid");
	ck_assert_msg(strstr(msg, "byte sequence") == NULL && strstr(msg, "UTF8") == NULL,
		      "PostgreSQL's text sent to the client: '%s'", msg);
	free(msg);
}
END_TEST

START_TEST(test_body_limit)
{
	size_t n = ADW_HTTP_BODY_MAX;
	char *body = adw_xmalloc(n + 2);
	struct resp r;
	char *msg;

	start_server();
	/* Exactly the limit is read (and then refused for its content: 422). */
	memset(body, ' ', n);
	body[0] = '{';
	body[n - 1] = '}';
	body[n] = '\0';
	request("POST", "/api/adws", body, n, false, &r);
	msg = assert_error(&r, 422, "invalid");
	ck_assert_msg(strstr(msg, "'workflow'") != NULL, "%s", msg);
	free(msg);
	/* One byte more: 413. */
	body[n - 1] = ' ';
	body[n] = '}';
	body[n + 1] = '\0';
	request("POST", "/api/adws", body, n + 1, false, &r);
	free(assert_error(&r, 413, "too_large"));
	request("POST", "/api/chat", body, n + 1, false, &r);
	free(assert_error(&r, 413, "too_large"));
	/* The daemon is fine afterwards. */
	get("/healthz", &r);
	ck_assert_int_eq(r.status, 200);
	resp_release(&r);
	free(body);
}
END_TEST

START_TEST(test_adw_roundtrip)
{
	struct resp r;
	cJSON *root, *adw, *arr, *it;
	char *id, *name, *path;
	bool found = false;

	start_server();
	post("/api/adws",
	     "{\"workflow\":\"Plan-Build\",\"prompt\":\"Add a --version flag\","
	     "\"name\":\"ver-flag\"}",
	     &r);
	root = json_of(&r, 201);
	adw = cJSON_GetObjectItem(root, "adw");
	ck_assert(cJSON_IsObject(adw));
	id = adw_xstrdup(cJSON_GetObjectItem(adw, "id")->valuestring);
	name = adw_xstrdup(cJSON_GetObjectItem(adw, "name")->valuestring);
	ck_assert_str_eq(name, "ver-flag");
	ck_assert_str_eq(cJSON_GetObjectItem(adw, "workflow")->valuestring, "plan_build");
	ck_assert_str_eq(cJSON_GetObjectItem(adw, "status")->valuestring, "pending");
	ck_assert_str_eq(cJSON_GetObjectItem(adw, "working_dir")->valuestring, tmpdir);
	cJSON_Delete(root);
	resp_release(&r);

	/* By id and by name. */
	path = adw_xasprintf("/api/adws/%s", id);
	get(path, &r);
	root = json_of(&r, 200);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "adw"), "id")->valuestring,
			 id);
	cJSON_Delete(root);
	resp_release(&r);
	free(path);
	get("/api/adws/ver-flag", &r);
	root = json_of(&r, 200);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "adw"), "id")->valuestring,
			 id);
	cJSON_Delete(root);
	resp_release(&r);

	/* Its events: the AdwCreated one. */
	path = adw_xasprintf("/api/adws/%s/events?after=0&limit=10", id);
	get(path, &r);
	root = json_of(&r, 200);
	arr = cJSON_GetObjectItem(root, "events");
	ck_assert_int_eq(cJSON_GetArraySize(arr), 1);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "type")->valuestring,
			 "AdwCreated");
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(root, "next_after")));
	cJSON_Delete(root);
	resp_release(&r);
	free(path);

	/* Listed, also with a status filter. */
	get("/api/adws?status=pending&limit=5", &r);
	root = json_of(&r, 200);
	arr = cJSON_GetObjectItem(root, "adws");
	cJSON_ArrayForEach (it, arr)
		found = found || strcmp(cJSON_GetObjectItem(it, "id")->valuestring, id) == 0;
	ck_assert(found);
	cJSON_Delete(root);
	resp_release(&r);
	get("/api/adws?status=completed", &r);
	root = json_of(&r, 200);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(root, "adws")), 0);
	cJSON_Delete(root);
	resp_release(&r);

	/* Workflows, agents. */
	get("/api/workflows", &r);
	root = json_of(&r, 200);
	ck_assert_int_ge(cJSON_GetArraySize(cJSON_GetObjectItem(root, "workflows")), 3);
	cJSON_Delete(root);
	resp_release(&r);
	get("/api/agents", &r);
	root = json_of(&r, 200);
	ck_assert(cJSON_IsArray(cJSON_GetObjectItem(root, "agents")));
	cJSON_Delete(root);
	resp_release(&r);
	free(id);
	free(name);
}
END_TEST

START_TEST(test_chat)
{
	struct resp r;
	cJSON *root, *msgs;

	start_server();
	post("/api/chat", "{\"message\":\"hello\"}", &r);
	root = json_of(&r, 200);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(root, "adw")));
	ck_assert_msg(
	    strstr(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "reply"), "message")->valuestring,
		   "start adw:") != NULL,
	    "%s", adw_buf_str(&r.body));
	cJSON_Delete(root);
	resp_release(&r);
	post("/api/chat", "{\"message\":\"start adw: plan_build: Add a flag\"}", &r);
	root = json_of(&r, 200);
	ck_assert(cJSON_IsObject(cJSON_GetObjectItem(root, "adw")));
	ck_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(root, "adw"), "workflow")->valuestring,
	    "plan_build");
	cJSON_Delete(root);
	resp_release(&r);
	get("/api/chat?limit=10", &r);
	root = json_of(&r, 200);
	msgs = cJSON_GetObjectItem(root, "messages");
	ck_assert_int_eq(cJSON_GetArraySize(msgs), 4);
	ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "message")->valuestring,
			 "hello");
	cJSON_Delete(root);
	resp_release(&r);
}
END_TEST

START_TEST(test_static_index)
{
	char *index_path = adw_config_data_path(&cfg, "web/index.html");
	size_t len;
	char *want = read_file(index_path, &len);
	struct resp r;

	start_server();
	get("/", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(strncmp(r.ctype, "text/html", 9) == 0, "%s", r.ctype);
	ck_assert_uint_eq(r.body.len, len);
	ck_assert_int_eq(memcmp(r.body.data, want, len), 0);
	resp_release(&r);
	get("/index.html", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.body.len, len);
	resp_release(&r);
	/* HEAD: same headers, no body. */
	request("HEAD", "/", NULL, 0, false, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(strncmp(r.ctype, "text/html", 9) == 0, "%s", r.ctype);
	ck_assert_uint_eq(r.body.len, 0);
	ck_assert_int_eq(r.content_length, (curl_off_t)len);
	resp_release(&r);
	/* Other types. */
	get("/style.css", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(strncmp(r.ctype, "text/css", 8) == 0, "%s", r.ctype);
	resp_release(&r);
	/* Outside web/, hidden files and directories are 404 JSON errors. */
	request("GET", "/../etc/passwd", NULL, 0, true, &r);
	free(assert_error(&r, 404, "not_found"));
	request("GET", "/%2e%2e/%2e%2e/etc/passwd", NULL, 0, true, &r);
	free(assert_error(&r, 404, "not_found"));
	request("GET", "/../migrations/001_initial.sql", NULL, 0, true, &r);
	free(assert_error(&r, 404, "not_found"));
	request("GET", "/.hidden", NULL, 0, true, &r);
	free(assert_error(&r, 404, "not_found"));
	request("GET", "/js", NULL, 0, true, &r);
	free(assert_error(&r, 404, "not_found"));
	request("HEAD", "/nope.html", NULL, 0, true, &r);
	ck_assert_int_eq(r.status, 404);
	ck_assert_uint_eq(r.body.len, 0);
	resp_release(&r);
	free(want);
	free(index_path);
}
END_TEST

START_TEST(test_static_private_dir)
{
	/* A data dir of our own, with files that must never be served. */
	char *p;
	struct resp r;
	static const char *const refused[] = {
	    "/.hidden",
	    "/.git/config",
	    "/sub/.env",
	    "/../secret.txt",
	    "/sub/../../secret.txt",
	    "/%2e%2e/secret.txt",
	    "/..%2fsecret.txt",
	    "/sub",
	    "/sub/",
	    "/..",
	    "/.",
	};

	p = adw_xasprintf("%s/data", tmpdir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	free(p);
	p = adw_xasprintf("%s/data/web", tmpdir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	free(p);
	p = adw_xasprintf("%s/data/web/sub", tmpdir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	free(p);
	p = adw_xasprintf("%s/data/web/.git", tmpdir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	free(p);
#define W(rel, text)                                                                               \
	do {                                                                                       \
		p = adw_xasprintf("%s/data/%s", tmpdir, rel);                                      \
		write_file(p, text);                                                               \
		free(p);                                                                           \
	} while (0)
	W("web/index.html", "<p>private index</p>\n");
	W("web/app.js", "console.log(1);\n");
	W("web/sub/page.txt", "a page\n");
	W("web/.hidden", "SECRET-hidden\n");
	W("web/.git/config", "SECRET-git\n");
	W("web/sub/.env", "SECRET-env\n");
	W("secret.txt", "SECRET-outside\n");
#undef W
	free(cfg.data_dir);
	cfg.data_dir = adw_xasprintf("%s/data", tmpdir);
	start_server();
	get("/", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(adw_buf_str(&r.body), "<p>private index</p>\n");
	resp_release(&r);
	get("/app.js", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(strncmp(r.ctype, "text/javascript", 15) == 0, "%s", r.ctype);
	resp_release(&r);
	get("/sub/page.txt", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(adw_buf_str(&r.body), "a page\n");
	resp_release(&r);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		request("GET", refused[i], NULL, 0, true, &r);
		ck_assert_msg(strstr(adw_buf_str(&r.body), "SECRET") == NULL, "%s leaked: %s",
			      refused[i], adw_buf_str(&r.body));
		ck_assert_msg(r.status == 404, "%s: status %ld", refused[i], r.status);
		free(assert_error(&r, 404, "not_found"));
		request("HEAD", refused[i], NULL, 0, true, &r);
		ck_assert_msg(r.status == 404, "HEAD %s: status %ld", refused[i], r.status);
		resp_release(&r);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("adw_http");
	TCase *tc = tcase_create("http");
	const char *url = getenv("ADW_TEST_DATABASE_URL");
	int rc;

	if (!url || !*url) {
		fprintf(stderr, "ADW_TEST_DATABASE_URL unset: skipping\n");
		return 77;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_start_stop);
	tcase_add_test(tc, test_healthz);
	tcase_add_test(tc, test_healthz_database_down);
	tcase_add_test(tc, test_errors_404);
	tcase_add_test(tc, test_errors_405);
	tcase_add_test(tc, test_errors_400);
	tcase_add_test(tc, test_errors_422);
	tcase_add_test(tc, test_database_text_not_sent);
	tcase_add_test(tc, test_body_limit);
	tcase_add_test(tc, test_adw_roundtrip);
	tcase_add_test(tc, test_chat);
	tcase_add_test(tc, test_static_index);
	tcase_add_test(tc, test_static_private_dir);
	suite_add_tcase(s, tc);
	rc = testlib_run(s);
	curl_global_cleanup();
	return rc;
}
