/* SPDX-License-Identifier: MIT */
/*
 * adw-mcp: the MCP stdio server adw-run gives the Claude Code CLI, so an
 * agent can ask a person a decision question (the ask_user tool). Questions
 * go to adw-run over the unix socket named by ADW_ASK_SOCKET. Exit codes:
 * 0 at the end of input, 1 on an I/O error, 2 on bad usage.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "adw_build.h"
#include "adw_log.h"
#include "adw_mcp.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: adw-mcp\n"
		"\n"
		"A Model Context Protocol server on stdin/stdout (JSON-RPC, one message per\n"
		"line) with one tool, ask_user: the agent asks the person supervising its ADW a\n"
		"question and waits for the answer. Started by the Claude Code CLI for adw-run,\n"
		"never by hand.\n"
		"\n"
		"  -h, --help      this help\n"
		"  --version       the version\n"
		"\n"
		"Environment: ADW_ASK_SOCKET, the ask socket of adw-run (\"@name\" = abstract);\n"
		"without it every question fails. Logs go to stderr (ADW_DEBUG=1: more).\n"
		"Exit status: 0 at the end of input, 1 on an I/O error, 2 usage error.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct adw_mcp m;
	const char *sock;
	int c;

	adw_log_init("adw-mcp");
	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout); return 0;
		case 'V': printf("adw-mcp %s\n", ADW_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "adw: usage: adw-mcp (no arguments; see --help)\n");
		return 2;
	}
	sock = getenv("ADW_ASK_SOCKET");
	if (!sock || !*sock)
		adw_log_warn("ADW_ASK_SOCKET is not set: ask_user will fail (not started by "
			     "adw-run)");
	adw_mcp_init(&m, sock);
	if (adw_mcp_serve(&m, stdin, stdout) < 0) {
		fprintf(stderr, "adw: adw-mcp: stdin or stdout failed\n");
		return 1;
	}
	return 0;
}
