/* SPDX-License-Identifier: MIT */
/*
 * A minimal MCP (Model Context Protocol) server over stdio, the program
 * adw-mcp that adw-run gives the Claude Code CLI: JSON-RPC 2.0, one
 * object per line, initialize-era protocol (2024-11-05 .. 2025-11-25).
 * It offers one tool, ask_user, which forwards the agent's decision
 * question to adw-run over the ask bridge (adw_ask.h) and blocks until a
 * person answers. Only JSON-RPC goes to the output stream; logs go to
 * stderr. One thread; a struct adw_mcp belongs to its caller.
 */
#ifndef ADW_MCP_H
#define ADW_MCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "adw_mem.h"

#define ADW_MCP_PROTOCOL_LATEST "2025-11-25" /* answered to a version we do not know */
#define ADW_MCP_LINE_MAX (10 * 1024 * 1024)  /* bytes of one input message */
#define ADW_MCP_TOOL_ASK "ask_user"	     /* the one tool */

struct adw_mcp {
	const char *ask_socket; /* ADW_ASK_SOCKET (borrowed); NULL or "" = not run by adw-run */
	bool initialized;	/* an initialize request has been answered */
	char protocol[16];	/* the negotiated protocol version; "" before initialize */
};

/** Sets m up to forward questions to ask_socket (borrowed; may be NULL). */
void adw_mcp_init(struct adw_mcp *m, const char *ask_socket);

/**
 * Handles one input message: line holds len bytes without the newline (a
 * trailing '\r' is ignored). Returns the reply, one JSON-RPC object
 * without a newline (caller frees with free()), or NULL when none is due:
 * a notification, a response from the client, or a blank line.
 * Requests get a result or a JSON-RPC error, their id echoed verbatim;
 * unparsable input gets -32700 and a batch (array) or non-request -32600,
 * both with id null; unknown methods (server/discover included) -32601;
 * bad params and unknown tools -32602. A tools/call of ask_user blocks
 * until adw-run answers (no timeout); a bad question or a failed ask is a
 * result with isError true and the reason as text. Never fails.
 */
char *adw_mcp_handle(struct adw_mcp *m, const char *line, size_t len);

/**
 * Serves in until end of input: reads lines (at most ADW_MCP_LINE_MAX
 * bytes each; a longer one is skipped and answered -32600 with id null),
 * writes each reply and a newline to out and flushes it. Returns 0 at end
 * of input, or -1 when reading in or writing out failed (logged). Blocks;
 * the caller should ignore SIGPIPE.
 */
int adw_mcp_serve(struct adw_mcp *m, FILE *in, FILE *out) ADW_MUST_CHECK;

#endif
