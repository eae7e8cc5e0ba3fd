/* SPDX-License-Identifier: MIT */
/* JSON API handlers of adw-server. */
#include "adw_api.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adw_build.h"
#include "adw_chat.h"
#include "adw_db.h"
#include "adw_store.h"
#include "adw_stream.h"
#include "adw_thread.h"

static void reply_json(struct adw_reply *reply, unsigned status, char *body)
{
	reply->status = status;
	reply->body = body;
}

static void reply_err(struct adw_reply *reply, enum adw_errcode code, const char *fmt,
		      const char *arg)
{
	struct adw_err err = {0};

	adw_err_set(&err, code, fmt, arg);
	adw_http_error(reply, &err);
}

/* ?name= as an integer in [lo, hi], or def when absent. -1 on a bad value. */
static int int_arg(const struct adw_request *req, const char *name, long long lo, long long hi,
		   long long def, long long *out, struct adw_reply *reply)
{
	const char *v = adw_request_arg(req, name);
	char *end;
	long long n;

	if (!v || !*v) {
		*out = def;
		return 0;
	}
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || *end || n < lo || n > hi) {
		struct adw_err err = {0};

		adw_err_set(&err, ADW_ERR_MALFORMED, "bad value '%s' for '%s': expected %lld..%lld",
			    v, name, lo, hi);
		adw_http_error(reply, &err);
		return -1;
	}
	*out = n;
	return 0;
}

/* The body as a JSON object, or NULL with reply filled (400/422). */
static cJSON *body_object(const struct adw_request *req, struct adw_reply *reply)
{
	cJSON *root = cJSON_ParseWithLength(req->body, req->body_len);

	if (!root) {
		reply_err(reply, ADW_ERR_MALFORMED, "request body is not valid JSON%s", "");
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		reply_err(reply, ADW_ERR_INVALID, "request body must be a JSON object%s", "");
		return NULL;
	}
	return root;
}

/* Optional string field; -1 with 422 when present but not a string. */
static int str_field(const cJSON *obj, const char *name, const char **out, struct adw_reply *reply)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v)) {
		reply_err(reply, ADW_ERR_INVALID, "field '%s' must be a string", name);
		return -1;
	}
	*out = v->valuestring;
	return 0;
}

/*
 * Optional number field in (lo, hi] (an integer in [lo, hi] when integer):
 * *out is 0 when absent or null; -1 with 422 when it is anything else.
 */
static int num_field(const cJSON *obj, const char *name, double lo, double hi, bool integer,
		     double *out, struct adw_reply *reply)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	double d;
	struct adw_err err = {0};

	*out = 0;
	if (!v || cJSON_IsNull(v))
		return 0;
	d = cJSON_IsNumber(v) ? v->valuedouble : 0;
	if (!cJSON_IsNumber(v) || (integer && (d != (double)(long long)d || d < lo)) ||
	    (!integer && !(d > lo)) || d > hi) {
		adw_err_set(&err, ADW_ERR_INVALID, "field '%s' must be %s %s%g and at most %g",
			    name, integer ? "an integer" : "a number", integer ? "from " : "above ",
			    lo, hi);
		adw_http_error(reply, &err);
		return -1;
	}
	*out = d;
	return 0;
}

static PGconn *db(const struct adw_request *req, struct adw_reply *reply)
{
	struct adw_err err = {0};
	PGconn *conn = adw_http_db(req, &err);

	if (!conn)
		adw_http_error(reply, &err);
	return conn;
}

static void finish(struct adw_reply *reply, int rc, char *json, const struct adw_err *err,
		   unsigned status)
{
	if (rc < 0)
		adw_http_error(reply, err);
	else
		reply_json(reply, status, json);
}

static void get_health(const struct adw_request *req, struct adw_reply *reply)
{
	struct adw_err err = {0};
	PGconn *conn = adw_http_db(req, &err);
	bool ok = false;
	cJSON *root = cJSON_CreateObject();

	if (conn) {
		PGresult *res = adw_db_query(conn, "SELECT 1", 0, NULL, &err);

		ok = res != NULL;
		PQclear(res);
	}
	cJSON_AddStringToObject(root, "status", ok ? "ok" : "degraded");
	cJSON_AddStringToObject(root, "database", ok ? "ok" : "unavailable");
	cJSON_AddStringToObject(root, "version", ADW_VERSION);
	if (req->stream)
		cJSON_AddNumberToObject(root, "stream_clients", adw_stream_clients(req->stream));
	reply_json(reply, ok ? 200 : 503, cJSON_PrintUnformatted(root));
	cJSON_Delete(root);
}

static void post_adws(const struct adw_request *req, struct adw_reply *reply)
{
	cJSON *root = body_object(req, reply);
	struct adw_new in = {.source = "api"};
	struct adw_err err = {0};
	double timeout, step_timeout;
	char *json = NULL, *wrapped = NULL;
	PGconn *conn;
	int rc;

	if (!root)
		return;
	if (str_field(root, "workflow", &in.workflow, reply) < 0 ||
	    str_field(root, "prompt", &in.prompt, reply) < 0 ||
	    str_field(root, "name", &in.name, reply) < 0 ||
	    str_field(root, "working_dir", &in.working_dir, reply) < 0 ||
	    str_field(root, "runtime", &in.runtime, reply) < 0 ||
	    str_field(root, "model", &in.model, reply) < 0 ||
	    str_field(root, "idempotency_key", &in.idempotency_key, reply) < 0 ||
	    num_field(root, "timeout_s", 1, ADW_STORE_TIMEOUT_MAX, true, &timeout, reply) < 0 ||
	    num_field(root, "step_timeout_s", 1, ADW_STORE_TIMEOUT_MAX, true, &step_timeout,
		      reply) < 0 ||
	    num_field(root, "max_cost_usd", 0, ADW_STORE_BUDGET_MAX, false, &in.max_cost_usd,
		      reply) < 0)
		goto out;
	in.timeout_s = (int)timeout;
	in.step_timeout_s = (int)step_timeout;
	if (!in.workflow) {
		reply_err(reply, ADW_ERR_INVALID, "field 'workflow' is required%s", "");
		goto out;
	}
	if (!in.prompt) {
		reply_err(reply, ADW_ERR_INVALID, "field 'prompt' is required%s", "");
		goto out;
	}
	conn = db(req, reply);
	if (!conn)
		goto out;
	rc = adw_store_adw_create(conn, req->cfg, &in, &json, NULL, &err);
	if (rc < 0 && err.code == ADW_ERR_CONFLICT && json) {
		/* 409 with the unfinished ADW that holds the idempotency key. */
		cJSON *body = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(body, "error");

		cJSON_AddStringToObject(e, "code", adw_errcode_name(err.code));
		cJSON_AddStringToObject(e, "message", err.msg);
		cJSON_AddItemToObject(body, "adw", cJSON_Parse(json));
		reply_json(reply, 409, cJSON_PrintUnformatted(body));
		cJSON_Delete(body);
		goto out;
	}
	if (rc == 0)
		wrapped = adw_xasprintf("{\"adw\":%s}", json);
	finish(reply, rc, wrapped, &err, 201);
out:
	free(json);
	cJSON_Delete(root);
}

static void get_adws(const struct adw_request *req, struct adw_reply *reply)
{
	int rc;
	struct adw_err err = {0};
	long long limit;
	char *json = NULL;
	PGconn *conn;

	if (int_arg(req, "limit", 1, ADW_STORE_LIST_MAX, 50, &limit, reply) < 0)
		return;
	conn = db(req, reply);
	if (!conn)
		return;
	rc = adw_store_adw_list(conn, adw_request_arg(req, "status"), (int)limit, &json, &err);
	finish(reply, rc, json, &err, 200);
}

static void get_adw(const struct adw_request *req, const char *id, struct adw_reply *reply)
{
	int rc;
	struct adw_err err = {0};
	char *json = NULL;
	PGconn *conn = db(req, reply);

	if (!conn)
		return;
	rc = adw_store_adw_get(conn, id, true, &json, NULL, &err);
	finish(reply, rc, json, &err, 200);
}

static void get_events(const struct adw_request *req, const char *adw, struct adw_reply *reply)
{
	int rc;
	struct adw_err err = {0};
	long long after, limit;
	char *json = NULL, *adw_id = NULL;
	const char *agent = adw_request_arg(req, "agent_id");
	PGconn *conn;

	if (int_arg(req, "after", 0, (long long)9e18, 0, &after, reply) < 0 ||
	    int_arg(req, "limit", 1, ADW_STORE_EVENTS_MAX, 500, &limit, reply) < 0)
		return;
	conn = db(req, reply);
	if (!conn)
		return;
	if (adw) {
		/* /api/adws/{id}/events: the ADW must exist (404 otherwise). */
		if (adw_store_adw_get(conn, adw, false, NULL, &adw_id, &err) < 0) {
			adw_http_error(reply, &err);
			return;
		}
	} else {
		const char *a = adw_request_arg(req, "adw_id");

		adw_id = a && *a ? adw_xstrdup(a) : NULL;
	}
	rc = adw_store_events(conn, after, (int)limit, adw_id, agent && *agent ? agent : NULL,
			      &json, &err);
	finish(reply, rc, json, &err, 200);
	free(adw_id);
}

static void get_agents(const struct adw_request *req, struct adw_reply *reply)
{
	int rc;
	struct adw_err err = {0};
	char *json = NULL;
	PGconn *conn = db(req, reply);

	if (!conn)
		return;
	rc = adw_store_agents(conn, &json, &err);
	finish(reply, rc, json, &err, 200);
}

static void get_workflows(const struct adw_request *req, struct adw_reply *reply)
{
	struct adw_err err = {0};
	char *json = NULL;

	int rc = adw_store_workflows(req->cfg, &json, &err);

	finish(reply, rc, json, &err, 200);
}

static void get_chat(const struct adw_request *req, struct adw_reply *reply)
{
	int rc;
	struct adw_err err = {0};
	long long limit;
	char *json = NULL;
	PGconn *conn;

	if (int_arg(req, "limit", 1, ADW_STORE_LIST_MAX, 100, &limit, reply) < 0)
		return;
	conn = db(req, reply);
	if (!conn)
		return;
	rc = adw_store_chat_list(conn, (int)limit, adw_request_arg(req, "before"), &json, &err);
	finish(reply, rc, json, &err, 200);
}

static void post_chat(const struct adw_request *req, struct adw_reply *reply)
{
	cJSON *root = body_object(req, reply);
	struct adw_err err = {0};
	const char *message = NULL;
	char *chat = NULL, *adw = NULL;
	PGconn *conn;

	if (!root)
		return;
	if (str_field(root, "message", &message, reply) < 0)
		goto out;
	if (!message) {
		reply_err(reply, ADW_ERR_INVALID, "field 'message' is required%s", "");
		goto out;
	}
	conn = db(req, reply);
	if (!conn)
		goto out;
	if (adw_chat_handle(conn, req->cfg, message, &chat, &adw, &err) < 0) {
		adw_http_error(reply, &err);
		goto out;
	}
	reply_json(reply, 200,
		   adw_xasprintf("{\"reply\":%s,\"adw\":%s}", chat, adw ? adw : "null"));
out:
	free(chat);
	free(adw);
	cJSON_Delete(root);
}

/* The body as a JSON object; an empty body reads as {}. */
static cJSON *body_object_or_empty(const struct adw_request *req, struct adw_reply *reply)
{
	if (req->body_len == 0)
		return cJSON_CreateObject();
	return body_object(req, reply);
}

static void get_messages(const struct adw_request *req, const char *adw, struct adw_reply *reply)
{
	struct adw_err err = {0};
	long long after, limit;
	char *json = NULL;
	PGconn *conn;
	int rc;

	if (int_arg(req, "after", 0, INT64_MAX, 0, &after, reply) < 0 ||
	    int_arg(req, "limit", 1, ADW_THREAD_LIST_MAX, ADW_THREAD_LIST_MAX, &limit, reply) < 0)
		return;
	conn = db(req, reply);
	if (!conn)
		return;
	rc = adw_thread_list(conn, adw, after, (int)limit, &json, &err);
	finish(reply, rc, json, &err, 200);
}

/*
 * POST /api/adws/{id}/messages (action NULL: from the body) and
 * /pause|resume|cancel|redirect (action given; body {"reason"} or {"prompt"}).
 */
static void post_action(const struct adw_request *req, const char *adw, const char *action,
			struct adw_reply *reply)
{
	cJSON *root = body_object_or_empty(req, reply);
	struct adw_thread_request rq = {.adw = adw, .action = action, .source = "api"};
	struct adw_thread_result out = {0};
	struct adw_err err = {0};
	char *meta = NULL;
	PGconn *conn;

	if (!root)
		return;
	if (!action) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "metadata");

		if (str_field(root, "action_type", &rq.action, reply) < 0 ||
		    str_field(root, "content", &rq.content, reply) < 0)
			goto out;
		if (!rq.action)
			rq.action = "comment";
		if (m && !cJSON_IsNull(m)) {
			if (!cJSON_IsObject(m)) {
				reply_err(reply, ADW_ERR_INVALID, "field '%s' must be an object",
					  "metadata");
				goto out;
			}
			meta = cJSON_PrintUnformatted(m);
			rq.metadata = meta;
		}
	} else if (str_field(root, strcmp(action, "redirect") ? "reason" : "prompt", &rq.content,
			     reply) < 0) {
		goto out;
	}
	conn = db(req, reply);
	if (!conn)
		goto out;
	if (adw_thread_post(conn, req->cfg, &rq, &out, &err) < 0) {
		adw_http_error(reply, &err);
		goto out;
	}
	if (!action)
		reply_json(reply, 201, adw_xasprintf("{\"message\":%s}", out.message));
	else
		reply_json(reply, out.status, adw_xasprintf("{\"adw\":%s}", out.adw));
out:
	adw_thread_result_release(&out);
	free(meta);
	cJSON_Delete(root);
}

static void post_retry(const struct adw_request *req, const char *adw, struct adw_reply *reply)
{
	cJSON *root = body_object_or_empty(req, reply);
	struct adw_err err = {0};
	const char *from = NULL;
	char *json = NULL;
	PGconn *conn;

	if (!root)
		return;
	if (str_field(root, "from_step", &from, reply) < 0)
		goto out;
	conn = db(req, reply);
	if (!conn)
		goto out;
	if (adw_store_adw_retry(conn, adw, from, "api", &json, &err) < 0) {
		adw_http_error(reply, &err);
		goto out;
	}
	reply_json(reply, 200, adw_xasprintf("{\"adw\":%s}", json));
	free(json);
out:
	cJSON_Delete(root);
}

static void get_questions(const struct adw_request *req, struct adw_reply *reply)
{
	struct adw_err err = {0};
	long long limit;
	char *json = NULL;
	PGconn *conn;
	int rc;

	if (int_arg(req, "limit", 1, ADW_THREAD_LIST_MAX, 100, &limit, reply) < 0)
		return;
	conn = db(req, reply);
	if (!conn)
		return;
	rc = adw_thread_questions(conn, adw_request_arg(req, "status"),
				  adw_request_arg(req, "adw_id"), (int)limit, &json, &err);
	finish(reply, rc, json, &err, 200);
}

static void get_question(const struct adw_request *req, const char *id, struct adw_reply *reply)
{
	struct adw_err err = {0};
	char *json = NULL;
	PGconn *conn = db(req, reply);
	int rc;

	if (!conn)
		return;
	rc = adw_thread_question(conn, id, &json, &err);
	finish(reply, rc, json, &err, 200);
}

static void post_answer(const struct adw_request *req, const char *id, struct adw_reply *reply)
{
	cJSON *root = body_object(req, reply);
	struct adw_err err = {0};
	const char *answer = NULL;
	char *json = NULL;
	PGconn *conn;
	int rc;

	if (!root)
		return;
	if (str_field(root, "answer", &answer, reply) < 0)
		goto out;
	if (!answer) {
		reply_err(reply, ADW_ERR_INVALID, "field 'answer' is required%s", "");
		goto out;
	}
	conn = db(req, reply);
	if (!conn)
		goto out;
	rc = adw_thread_answer(conn, id, answer, "api", &json, &err);
	finish(reply, rc, json, &err, 200);
out:
	cJSON_Delete(root);
}

static void method_not_allowed(struct adw_reply *reply, const char *method, const char *allow)
{
	reply_err(reply, ADW_ERR_MALFORMED, "method '%s' not allowed here", method);
	reply->status = 405;
	reply->allow = allow;
}

bool adw_api_handle(const struct adw_request *req, struct adw_reply *reply)
{
	const char *p = req->path;
	const char *m = req->method;
	bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
	bool post = strcmp(m, "POST") == 0;

	if (strcmp(p, "/healthz") == 0) {
		if (get)
			get_health(req, reply);
		else
			method_not_allowed(reply, m, "GET, HEAD");
		return true;
	}
	if (strncmp(p, "/api/", 5) != 0 && strcmp(p, "/api") != 0)
		return false;
	if (strcmp(p, "/api/workflows") == 0) {
		if (get)
			get_workflows(req, reply);
		else
			method_not_allowed(reply, m, "GET, HEAD");
	} else if (strcmp(p, "/api/chat") == 0) {
		if (get)
			get_chat(req, reply);
		else if (post)
			post_chat(req, reply);
		else
			method_not_allowed(reply, m, "GET, HEAD, POST");
	} else if (strcmp(p, "/api/adws") == 0) {
		if (get)
			get_adws(req, reply);
		else if (post)
			post_adws(req, reply);
		else
			method_not_allowed(reply, m, "GET, HEAD, POST");
	} else if (strcmp(p, "/api/events") == 0) {
		if (get)
			get_events(req, NULL, reply);
		else
			method_not_allowed(reply, m, "GET, HEAD");
	} else if (strcmp(p, "/api/agents") == 0) {
		if (get)
			get_agents(req, reply);
		else
			method_not_allowed(reply, m, "GET, HEAD");
	} else if (strncmp(p, "/api/adws/", 10) == 0 && p[10]) {
		const char *id = p + 10;
		const char *slash = strchr(id, '/');
		char *idc = adw_xstrndup(id, slash ? (size_t)(slash - id) : strlen(id));

		if (!slash) {
			if (get)
				get_adw(req, idc, reply);
			else
				method_not_allowed(reply, m, "GET, HEAD");
		} else if (strcmp(slash, "/events") == 0) {
			if (get)
				get_events(req, idc, reply);
			else
				method_not_allowed(reply, m, "GET, HEAD");
		} else if (strcmp(slash, "/messages") == 0) {
			if (get)
				get_messages(req, idc, reply);
			else if (post)
				post_action(req, idc, NULL, reply);
			else
				method_not_allowed(reply, m, "GET, HEAD, POST");
		} else if (strcmp(slash, "/retry") == 0) {
			if (post)
				post_retry(req, idc, reply);
			else
				method_not_allowed(reply, m, "POST");
		} else if (!strcmp(slash, "/pause") || !strcmp(slash, "/resume") ||
			   !strcmp(slash, "/cancel") || !strcmp(slash, "/redirect")) {
			if (post)
				post_action(req, idc, slash + 1, reply);
			else
				method_not_allowed(reply, m, "POST");
		} else {
			reply_err(reply, ADW_ERR_NOT_FOUND, "'%s' not found", p);
		}
		free(idc);
	} else if (strcmp(p, "/api/questions") == 0) {
		if (get)
			get_questions(req, reply);
		else
			method_not_allowed(reply, m, "GET, HEAD");
	} else if (strncmp(p, "/api/questions/", 15) == 0 && p[15]) {
		const char *id = p + 15;
		const char *slash = strchr(id, '/');
		char *idc = adw_xstrndup(id, slash ? (size_t)(slash - id) : strlen(id));

		if (!slash) {
			if (get)
				get_question(req, idc, reply);
			else
				method_not_allowed(reply, m, "GET, HEAD");
		} else if (strcmp(slash, "/answer") == 0) {
			if (post)
				post_answer(req, idc, reply);
			else
				method_not_allowed(reply, m, "POST");
		} else {
			reply_err(reply, ADW_ERR_NOT_FOUND, "'%s' not found", p);
		}
		free(idc);
	} else {
		reply_err(reply, ADW_ERR_NOT_FOUND, "'%s' not found", p);
	}
	return true;
}
