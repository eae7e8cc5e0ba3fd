/* SPDX-License-Identifier: MIT */
/*
 * The live event stream: GET /api/stream as Server-Sent Events (INTERFACE.md
 * "Live stream"). One streamer thread holds the only LISTEN connection
 * (channel adw_events), reads new events once per wake-up (or every second
 * as a backstop) in id order, and appends them, pre-rendered as SSE frames,
 * to a bounded in-memory ring shared by every client. A client's cursor is
 * the last event id it was sent: a new client with an older cursor
 * (Last-Event-ID or ?after=) first catches up from the table, page by page,
 * then reads the ring; a live client that falls more than the ring behind
 * gets "event: resync" and is closed, and resumes losslessly with its
 * Last-Event-ID. Idle clients are suspended (MHD suspend/resume) and woken
 * by the streamer; a ": ping" comment every 15 s keeps them alive and finds
 * dead peers. Exactness rests on the write path (migration 003): event ids
 * become visible in id order, so "id > cursor ORDER BY id" misses nothing.
 * Database connections used by streaming: the streamer's own, plus the
 * HTTP pool threads' per-thread connections for catch-up; neither grows
 * with the number of clients.
 */
#ifndef ADW_STREAM_H
#define ADW_STREAM_H

#include <stdbool.h>

#include "adw_config.h"
#include "adw_err.h"

#define ADW_STREAM_RING 8192	    /* events kept in memory; ADW_STREAM_RING overrides */
#define ADW_STREAM_PING_MS 15000    /* ": ping" after this long without a write; env overrides */
#define ADW_STREAM_RETRY_MS 2000    /* the "retry:" sent to EventSource clients */
#define ADW_STREAM_CATCHUP_PAGE 500 /* events per catch-up query */

struct adw_stream;
struct MHD_Connection;
struct adw_request;

/**
 * Starts the streamer thread with its own connection (LISTEN adw_events).
 * Returns the hub, or NULL with err (UNAVAILABLE) when the database cannot
 * be reached. conninfo is copied. Called once by main.
 */
struct adw_stream *adw_stream_start(const struct adw_config *cfg, const char *conninfo,
				    struct adw_err *err);
/**
 * Answers GET /api/stream on an HTTP pool thread: parses after /
 * Last-Event-ID, adw_id, agent_id and topics (comma list of adws, agents,
 * chat, system), and queues the SSE response. Returns false with err
 * (MALFORMED or INVALID) for bad parameters; nothing is queued then.
 */
bool adw_stream_serve(struct adw_stream *st, struct MHD_Connection *conn,
		      const struct adw_request *req, struct adw_err *err);
/**
 * Ends every client's stream and resumes the suspended ones, so that the
 * HTTP daemon can stop. Call before stopping the daemon.
 */
void adw_stream_close_all(struct adw_stream *st);
/** Stops the streamer thread and frees the hub (after the daemon stopped). NULL-safe. */
void adw_stream_stop(struct adw_stream *st);
/** Number of connected stream clients (for /healthz and tests). */
int adw_stream_clients(struct adw_stream *st);

#endif
