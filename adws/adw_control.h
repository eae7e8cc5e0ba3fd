/* SPDX-License-Identifier: MIT */
/*
 * The control channel of one running ADW, inside adw-run: LISTENs on
 * adw_control_<uuid without dashes> (migration 005 NOTIFYs it for every
 * person's message that needs action), acknowledges those messages in one
 * statement as soon as they arrive, and hands them to the runner in id
 * order. The runner decides what they mean (adw_runner.c); this module only
 * moves them and records their action_status. Single-threaded; it borrows
 * the runner's connection.
 */
#ifndef ADW_CONTROL_H
#define ADW_CONTROL_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "adw_err.h"

/** One acknowledged message from a person. */
struct adw_control_msg {
	long long id;	   /* adw_messages.id */
	char *action;	   /* instruction, pause, resume, cancel, redirect, answer, comment */
	char *content;	   /* the text (instruction, reason, new prompt or answer) */
	char *metadata;	   /* JSON object text */
	char *question_id; /* answer: the question's uuid; else NULL */
};

struct adw_control {
	PGconn *conn;	  /* borrowed */
	char *adw_id;	  /* uuid */
	char channel[64]; /* adw_control_<32 hex digits> */
	bool woken;	  /* a notification arrived since the last fetch */
	int backend_pid;  /* the server process LISTENing; another one after a reconnect */
	struct adw_control_msg *queue; /* acknowledged, not yet taken; id order */
	int n, cap;
};

/**
 * LISTENs on the ADW's channel through conn and fetches what is already
 * pending (messages sent before the child started). Returns 0, or -1 with
 * err (UNAVAILABLE).
 */
int adw_control_open(struct adw_control *c, PGconn *conn, const char *adw_id,
		     struct adw_err *err) ADW_MUST_CHECK;
/** Frees the queue and ids (the connection stays the caller's). NULL-safe. */
void adw_control_close(struct adw_control *c);
/** The socket to poll() for POLLIN: readable when a notification may wait; -1 when closed. */
int adw_control_fd(const struct adw_control *c);
/**
 * Reads what the socket holds (and notifications libpq already buffered
 * during other queries), LISTENing again first when the connection was
 * reset since; when a notification arrived, or when force, moves
 * every pending message of the ADW from a person to acknowledged (one
 * UPDATE ... RETURNING) and appends them to the queue. Returns the number of
 * messages added, or -1 with err (UNAVAILABLE; the caller retries later).
 */
int adw_control_poll(struct adw_control *c, bool force, struct adw_err *err);
/** Takes the oldest queued message into *out (caller releases it): 0, or -1 when empty. */
int adw_control_next(struct adw_control *c, struct adw_control_msg *out);
/** Frees the strings of m. NULL-safe. */
void adw_control_msg_release(struct adw_control_msg *m);
/**
 * Sets message id's action_status to status ("processed" or "ignored")
 * with an optional reason (why it was ignored, or a note). Returns 0 or -1
 * with err. Each change is also an event (trigger of migration 005).
 */
int adw_control_mark(struct adw_control *c, long long id, const char *status, const char *reason,
		     struct adw_err *err) ADW_MUST_CHECK;

#endif
