/* SPDX-License-Identifier: MIT */
/*
 * The ask bridge: how an agent in another process (the Claude Code CLI's
 * MCP server, adw-mcp) asks adw-run a decision question. adw-run listens on
 * a unix socket of the same user; the client sends one request line and
 * gets one reply line, one JSON object each:
 *
 *   request  {"question":"...","options":["a","b"],"context":"...","default":"a"}
 *   reply    {"answer":"..."}  or  {"error":"..."}
 *
 * "question" is required (a non-blank string of at most
 * ADW_QUESTION_TEXT_MAX bytes); "options" (at most ADW_QUESTION_OPTIONS_MAX
 * distinct non-blank strings of at most ADW_QUESTION_TEXT_MAX bytes),
 * "context" (a string) and "default" (a non-blank string of at most
 * ADW_QUESTION_TEXT_MAX bytes; one of the options when there are options)
 * are optional; any other member is an error. The server side runs on
 * adw-run's single thread; the client side in adw-mcp. No global state:
 * any thread may call any function on its own sockets.
 */
#ifndef ADW_ASK_H
#define ADW_ASK_H

#include "adw_err.h"
#include "adw_runtime.h"

#define ADW_ASK_LINE_MAX (256 * 1024) /* bytes of one request or reply line (no newline) */
#define ADW_ASK_READ_MS 2000 /* the server waits this long for a request (and a reply write) */

struct cJSON;

/**
 * Creates the listening socket of the bridge: socket(AF_UNIX,
 * SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC), bind to name, listen.
 * name "@foo" is the Linux abstract socket "\0foo" (no file; gone with the
 * last descriptor); anything else is a filesystem path, which must not
 * exist yet (the caller unlinks it when done).
 * Returns the descriptor (caller closes), or -1 with err: INVALID for an
 * empty or too long name (abstract: at most 107 bytes after '@'; path: at
 * most 107 bytes), CONFLICT when the name is taken, UNAVAILABLE for other
 * socket errors. Any thread.
 */
int adw_ask_listen(const char *name, struct adw_err *err) ADW_MUST_CHECK;

/**
 * A fresh abstract socket name, "@adw-ask-<pid>-<16 hex digits>", the
 * digits from OpenSSL's RAND_bytes (else /dev/urandom, else the clock).
 * Never NULL; caller frees with free(). Any thread.
 */
char *adw_ask_socket_name(void);

/**
 * Serves one pending connection of listen_fd (from adw_ask_listen) and
 * returns; with none pending it returns 0 at once (accept never blocks).
 * A peer whose SO_PEERCRED uid differs from our effective uid is closed
 * unanswered. Otherwise it reads one request line (waiting at most
 * ADW_ASK_READ_MS; at most ADW_ASK_LINE_MAX bytes), validates it and calls
 * fn(ud, &q, &answer, &why) -- the strings of q are valid only during the
 * call; fn may block for as long as the question takes -- then writes one
 * reply line, {"answer":answer} or {"error":why}, and closes the
 * connection. fn's answer or why is freed here. A malformed request (not
 * one line in time, too long, not JSON, not a valid question) is answered
 * {"error":"<what is wrong>"} and fn is not called. A peer that goes away
 * meanwhile is logged (warn) and counts as served.
 * Returns 0 when a connection was served, refused or none was pending; -1
 * on a local error (accept or getsockopt failed; logged). Called on the
 * thread that owns listen_fd (adw-run's); not reentrant for one fd.
 */
int adw_ask_serve(int listen_fd, adw_ask_fn fn, void *ud);

/**
 * The client: connects to name (as adw_ask_listen names it), sends
 * request_json (one JSON object without a raw newline, at most
 * ADW_ASK_LINE_MAX bytes) and a newline, and waits -- without a timeout,
 * as a person may take hours -- for the reply line.
 * Returns 0 with *answer set (the reply was {"answer":"..."}; caller frees)
 * and *error NULL; or -1 with *error set (caller frees) and *answer NULL:
 * a bad name or request, a connect or I/O failure, the reply
 * {"error":"..."} (*error is its text), a closed connection or a reply
 * that is not one of the two forms. Blocks the calling thread; any thread.
 */
int adw_ask_request(const char *name, const char *request_json, char **answer,
		    char **error) ADW_MUST_CHECK;

/**
 * Validates a question object of the wire format above (the request, or
 * the arguments of the MCP tool) and fills q with strings borrowed from obj
 * (valid while obj lives); q->options points into opts, an array the
 * caller provides with room for ADW_QUESTION_OPTIONS_MAX pointers.
 * Returns 0, or -1 with err INVALID saying what is wrong
 * ("'question' is required", "'options' has more than 16 entries", ...).
 * Pure; any thread.
 */
int adw_ask_parse(const struct cJSON *obj, struct adw_question_req *q, const char **opts,
		  struct adw_err *err) ADW_MUST_CHECK;

#endif
