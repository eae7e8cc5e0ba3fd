/* SPDX-License-Identifier: MIT */
/*
 * The orchestrator chat: a deterministic command router in front of the
 * ADW store (original.md §4.2). It understands
 *   start adw: <workflow>: <prompt>
 * (case-insensitive; '-' in the workflow reads as '_') and answers anything
 * else with the list of commands. Every message and reply is stored. Any
 * thread; one PGconn per thread.
 */
#ifndef ADW_CHAT_H
#define ADW_CHAT_H

#include <libpq-fe.h>

#include "adw_config.h"
#include "adw_err.h"

enum adw_chat_kind {
	ADW_CHAT_HELP,	/* not a command: answer with the command list */
	ADW_CHAT_START, /* start adw: <workflow>: <prompt> */
};

struct adw_chat_cmd {
	enum adw_chat_kind kind;
	char *workflow; /* START: normalised name (owned) */
	char *prompt;	/* START: trimmed prompt (owned; may be empty) */
};

#define ADW_CHAT_MESSAGE_MAX (256 * 1024) /* bytes of one chat message */

/** Parses a chat message into cmd. Release with adw_chat_cmd_release(). */
void adw_chat_parse(const char *message, struct adw_chat_cmd *cmd);
/** Frees cmd's strings. NULL-safe. */
void adw_chat_cmd_release(struct adw_chat_cmd *cmd);
/**
 * Handles one user message: stores it, runs the command, stores and
 * returns the reply. *reply gets the reply message JSON and *adw the new
 * ADW's JSON or NULL (caller frees both). A command that cannot be carried
 * out (unknown workflow, empty prompt, ...) is answered in the reply, not
 * as an error. Errors: INVALID for an empty or oversized message (nothing
 * stored), UNAVAILABLE.
 */
int adw_chat_handle(PGconn *conn, const struct adw_config *cfg, const char *message, char **reply,
		    char **adw, struct adw_err *err) ADW_MUST_CHECK;

#endif
