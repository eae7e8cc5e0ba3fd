/* SPDX-License-Identifier: MIT */
/*
 * The HTTP server (libmicrohttpd): a pool of threads behind epoll, request
 * bodies collected up to a limit, routing to adw_api handlers, the static
 * web UI from <data>/web, and the one door for errors to the client.
 * Started and stopped by main; handlers run on MHD's pool threads, each
 * with its own PostgreSQL connection.
 */
#ifndef ADW_HTTP_H
#define ADW_HTTP_H

#include <stddef.h>

#include "adw_config.h"
#include "adw_err.h"

#define ADW_HTTP_BODY_MAX (1024 * 1024) /* bytes of a request body; more is 413 */
#define ADW_HTTP_THREADS 4		/* MHD pool threads, each with one PGconn */

struct adw_http;

/** What a handler answers: a status and a JSON body (owned, NUL-terminated). */
struct adw_reply {
	unsigned status;
	char *body;	   /* JSON text; freed by the server */
	const char *allow; /* Allow header for 405, static string */
};

/** A parsed request as the API handlers see it; all borrowed. */
struct adw_request {
	const char *method;
	const char *path; /* without the query string */
	const char *body; /* NUL-terminated; "" when none */
	size_t body_len;
	void *conn; /* MHD connection, for adw_request_arg() */
	const struct adw_config *cfg;
	const char *conninfo;
	struct adw_stream *stream; /* the live stream hub, or NULL */
};

struct adw_stream;

/** A query-string argument, or NULL. Borrowed from the request. */
const char *adw_request_arg(const struct adw_request *req, const char *name);
/**
 * The PostgreSQL connection of the calling pool thread, connected (or
 * reconnected) on demand. Returns NULL with err (UNAVAILABLE) when the
 * database cannot be reached. Owned by the thread; never PQfinish() it.
 */
void *adw_http_db(const struct adw_request *req, struct adw_err *err);
/** As adw_http_db, for code that has the conninfo but no request (the stream's readers). */
void *adw_http_thread_db(const char *conninfo, struct adw_err *err);
/** Fills reply with the error's status and {"error":{"code","message"}}. */
void adw_http_error(struct adw_reply *reply, const struct adw_err *err);

/**
 * Starts the server on cfg->listen_host:listen_port (port 0: any free
 * port), serving GET /api/stream from stream (NULL: 404). Returns the
 * server, or NULL with err (INVALID bad address, UNAVAILABLE cannot bind).
 * conninfo is copied.
 */
struct adw_http *adw_http_start(const struct adw_config *cfg, const char *conninfo,
				struct adw_stream *stream, struct adw_err *err);
/** The bound TCP port. */
unsigned adw_http_port(const struct adw_http *http);
/** Stops the server, closes every connection and frees it. NULL-safe. */
void adw_http_stop(struct adw_http *http);

#endif
