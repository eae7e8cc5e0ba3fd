/* SPDX-License-Identifier: MIT */
/*
 * The orchestrator chat: a deterministic command router in front of the
 * ADW store (original.md §4.2). It understands
 *   start adw: <workflow>: <prompt>
 *   pause adw <id|name>[: <reason>]     resume adw <id|name>
 *   cancel adw <id|name>[: <reason>]    tell adw <id|name>: <instruction>
 *   redirect adw <id|name>: <prompt>    answer <question id>: <answer>
 * (verbs case-insensitive; '-' in the workflow reads as '_'; steering goes
 * through adw_thread.h with source "chat") and answers anything else with
 * the list of commands. Every message and reply is stored. Any
 * thread; one PGconn per thread.
 */
#ifndef ADW_CHAT_H
#define ADW_CHAT_H

#include <libpq-fe.h>

#include "adw_config.h"
#include "adw_err.h"

enum adw_chat_kind {
	ADW_CHAT_HELP,	   /* not a command: answer with the command list */
	ADW_CHAT_START,	   /* start adw: <workflow>: <prompt> */
	ADW_CHAT_PAUSE,	   /* pause adw <id|name>[: <reason>] */
	ADW_CHAT_RESUME,   /* resume adw <id|name>[: <reason>] */
	ADW_CHAT_CANCEL,   /* cancel adw <id|name>[: <reason>] */
	ADW_CHAT_TELL,	   /* tell adw <id|name>: <instruction for the running agent> */
	ADW_CHAT_REDIRECT, /* redirect adw <id|name>: <new prompt> */
	ADW_CHAT_ANSWER,   /* answer <question id or 8+ character prefix>: <answer> */
};

struct adw_chat_cmd {
	enum adw_chat_kind kind;
	char *workflow; /* START: normalised name (owned) */
	char *prompt;	/* START: trimmed prompt; the text after the target's ':' for the
			   others (owned; may be empty) */
	char *target;	/* the ADW's id or name, or the question id (owned); NULL for START */
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
