/* SPDX-License-Identifier: MIT */
/* libmicrohttpd daemon: bodies, routing, static files, errors. */
#include "adw_http.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adw_api.h"
#include "adw_buf.h"
#include "adw_db.h"
#include "adw_log.h"
#include "adw_stream.h"

struct adw_http {
	struct MHD_Daemon *daemon;
	struct adw_stream *stream;
	const struct adw_config *cfg;
	char *conninfo;
	char *web_dir;
	unsigned port;
};

/* Per-request state, freed in on_completed. */
struct req_state {
	struct adw_buf body;
	bool too_large;
};

static pthread_key_t db_key;
static pthread_once_t db_once = PTHREAD_ONCE_INIT;

static void db_free(void *p)
{
	PQfinish(p);
}

static void db_key_init(void)
{
	pthread_key_create(&db_key, db_free);
}

void *adw_http_thread_db(const char *conninfo, struct adw_err *err)
{
	PGconn *conn;

	pthread_once(&db_once, db_key_init);
	conn = pthread_getspecific(db_key);
	if (conn) {
		if (adw_db_check(conn, err) == 0)
			return conn;
		PQfinish(conn);
		pthread_setspecific(db_key, NULL);
	}
	conn = adw_db_connect(conninfo, err);
	if (!conn) {
		adw_log_warn("database unavailable: %s", err->msg);
		adw_err_set(err, ADW_ERR_UNAVAILABLE, "database unavailable");
		return NULL;
	}
	pthread_setspecific(db_key, conn);
	return conn;
}

void *adw_http_db(const struct adw_request *req, struct adw_err *err)
{
	return adw_http_thread_db(req->conninfo, err);
}

const char *adw_request_arg(const struct adw_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

void adw_http_error(struct adw_reply *reply, const struct adw_err *err)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *e = cJSON_AddObjectToObject(root, "error");

	cJSON_AddStringToObject(e, "code", adw_errcode_name(err->code));
	cJSON_AddStringToObject(e, "message", err->msg);
	free(reply->body);
	reply->status = adw_errcode_http_status(err->code);
	reply->body = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
}

static enum MHD_Result send_json(struct MHD_Connection *conn, struct adw_reply *reply)
{
	char *body = reply->body ? reply->body : adw_xstrdup("{}");
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len = strlen(body);

	/* MHD frees the body with free() once sent. */
	if (len == 0 || body[len - 1] != '\n') {
		body = adw_xrealloc(body, len + 2);
		body[len++] = '\n';
		body[len] = '\0';
	}
	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (reply->allow)
		MHD_add_response_header(resp, "Allow", reply->allow);
	ret = MHD_queue_response(conn, reply->status, resp);
	MHD_destroy_response(resp);
	reply->body = NULL;
	return ret;
}

static const char *content_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {".html", "text/html; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"},
	    {".mjs", "text/javascript; charset=utf-8"},
	    {".css", "text/css; charset=utf-8"},
	    {".json", "application/json"},
	    {".svg", "image/svg+xml"},
	    {".png", "image/png"},
	    {".ico", "image/x-icon"},
	    {".txt", "text/plain; charset=utf-8"},
	    {".woff2", "font/woff2"},
	};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	}
	return "application/octet-stream";
}

/* Serves web/<path>; only plain files, never outside web/. */
static enum MHD_Result send_static(struct adw_http *http, struct MHD_Connection *conn,
				   const char *url, bool head)
{
	struct adw_reply reply = {0};
	struct adw_err err = {0};
	struct MHD_Response *resp;
	struct stat st;
	char *path;
	int fd;
	enum MHD_Result ret;

	if (strcmp(url, "/") == 0)
		url = "/index.html";
	if (strstr(url, "/.") || strstr(url, "..") || strchr(url, '\\')) {
		adw_err_set(&err, ADW_ERR_NOT_FOUND, "'%s' not found", url);
		adw_http_error(&reply, &err);
		return send_json(conn, &reply);
	}
	path = adw_xasprintf("%s%s", http->web_dir, url);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		adw_err_set(&err, ADW_ERR_NOT_FOUND, "'%s' not found", url);
		adw_http_error(&reply, &err);
		return send_json(conn, &reply);
	}
	(void)head; /* MHD sends no body for HEAD by itself */
	resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	MHD_add_response_header(resp, "Content-Type", content_type(url));
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'self'; img-src 'self' data:; "
				"style-src 'self' 'unsafe-inline'; object-src 'none'; "
				"base-uri 'none'; frame-ancestors 'none'");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct adw_http *http = cls;
	struct req_state *st = *req_cls;
	struct adw_reply reply = {0};
	struct adw_request req;

	if (!st) {
		st = adw_xcalloc(1, sizeof(*st));
		adw_buf_init(&st->body, ADW_HTTP_BODY_MAX);
		*req_cls = st;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!st->too_large && adw_buf_add(&st->body, upload_data, *upload_data_size) < 0)
			st->too_large = true;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (st->too_large) {
		struct adw_err err = {0};

		adw_err_set(&err, ADW_ERR_TOO_LARGE, "request body is over %d bytes",
			    ADW_HTTP_BODY_MAX);
		adw_http_error(&reply, &err);
		return send_json(conn, &reply);
	}
	req.method = method;
	req.path = url;
	req.body = adw_buf_str(&st->body);
	req.body_len = st->body.len;
	req.conn = conn;
	req.cfg = http->cfg;
	req.conninfo = http->conninfo;
	req.stream = http->stream;
	if (strcmp(url, "/api/stream") == 0 && http->stream) {
		struct adw_err err = {0};

		if (strcmp(method, "GET") != 0) {
			adw_err_set(&err, ADW_ERR_MALFORMED, "method '%s' not allowed here",
				    method);
			adw_http_error(&reply, &err);
			reply.status = 405;
			reply.allow = "GET";
			return send_json(conn, &reply);
		}
		if (adw_stream_serve(http->stream, conn, &req, &err))
			return MHD_YES;
		adw_http_error(&reply, &err);
		return send_json(conn, &reply);
	}
	if (adw_api_handle(&req, &reply))
		return send_json(conn, &reply);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		struct adw_err err = {0};

		adw_err_set(&err, ADW_ERR_NOT_FOUND, "'%s' not found", url);
		adw_http_error(&reply, &err);
		return send_json(conn, &reply);
	}
	return send_static(http, conn, url, strcmp(method, "HEAD") == 0);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req_state *st = *req_cls;

	if (!st)
		return;
	adw_buf_release(&st->body);
	free(st);
	*req_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	adw_log_warn("http: %s", msg);
}

struct adw_http *adw_http_start(const struct adw_config *cfg, const char *conninfo,
				struct adw_stream *stream, struct adw_err *err)
{
	struct adw_http *http = adw_xcalloc(1, sizeof(*http));
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	char port[16];
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
			 MHD_ALLOW_SUSPEND_RESUME;
	int rc;

	http->cfg = cfg;
	http->stream = stream;
	http->conninfo = adw_xstrdup(conninfo);
	http->web_dir = adw_config_data_path(cfg, "web");
	snprintf(port, sizeof(port), "%u", cfg->listen_port);
	rc = getaddrinfo(cfg->listen_host, port, &hints, &ai);
	if (rc != 0 || !ai) {
		adw_err_set(err, ADW_ERR_INVALID, "bad listen address '%s:%u': %s",
			    cfg->listen_host, cfg->listen_port, gai_strerror(rc));
		goto fail;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	http->daemon = MHD_start_daemon(
	    flags, (uint16_t)cfg->listen_port, NULL, NULL, on_request, http,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, http, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)ADW_HTTP_THREADS, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)4096, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, http, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!http->daemon) {
		adw_err_set(err, ADW_ERR_UNAVAILABLE, "cannot listen on %s:%u: %s",
			    cfg->listen_host, cfg->listen_port,
			    errno ? strerror(errno) : "address in use?");
		goto fail;
	}
	info = MHD_get_daemon_info(http->daemon, MHD_DAEMON_INFO_BIND_PORT);
	http->port = info ? info->port : cfg->listen_port;
	return http;
fail:
	free(http->web_dir);
	free(http->conninfo);
	free(http);
	return NULL;
}

unsigned adw_http_port(const struct adw_http *http)
{
	return http->port;
}

void adw_http_stop(struct adw_http *http)
{
	if (!http)
		return;
	/*
	 * Suspended stream connections must be resumed before the daemon stops:
	 * end every stream and give the pool threads up to 2 s to close them.
	 */
	if (http->stream) {
		adw_stream_close_all(http->stream);
		for (int i = 0; i < 100 && adw_stream_clients(http->stream) > 0; i++)
			usleep(20000);
	}
	MHD_stop_daemon(http->daemon);
	free(http->web_dir);
	free(http->conninfo);
	free(http);
}
