/* SPDX-License-Identifier: MIT */
/* Chat command router: "start adw: <workflow>: <prompt>" and help. */
#include "adw_chat.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adw_buf.h"
#include "adw_store.h"
#include "adw_thread.h"
#include "adw_workflow.h"

static char *trim_dup(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return adw_xstrndup(s, n);
}

static const struct {
	const char *verb;
	enum adw_chat_kind kind;
	bool adw; /* "<verb> adw <target>" (else "<verb> <target>") */
} steer_verbs[] = {
    {"pause", ADW_CHAT_PAUSE, true},	   {"resume", ADW_CHAT_RESUME, true},
    {"cancel", ADW_CHAT_CANCEL, true},	   {"tell", ADW_CHAT_TELL, true},
    {"redirect", ADW_CHAT_REDIRECT, true}, {"answer", ADW_CHAT_ANSWER, false},
};

/* "<verb> [adw ]<target>[: <text>]"; false when p is not such a command. */
static bool parse_steer(const char *p, struct adw_chat_cmd *cmd)
{
	for (size_t i = 0; i < sizeof(steer_verbs) / sizeof(steer_verbs[0]); i++) {
		size_t n = strlen(steer_verbs[i].verb);
		const char *q = p + n, *end, *colon;

		if (strncasecmp(p, steer_verbs[i].verb, n) != 0 || !isspace((unsigned char)*q))
			continue;
		while (isspace((unsigned char)*q))
			q++;
		if (steer_verbs[i].adw) {
			if (strncasecmp(q, "adw", 3) != 0 || !isspace((unsigned char)q[3]))
				return false;
			q += 3;
			while (isspace((unsigned char)*q))
				q++;
		}
		colon = strchr(q, ':');
		end = colon ? colon : q + strlen(q);
		cmd->target = trim_dup(q, (size_t)(end - q));
		cmd->prompt = colon ? trim_dup(colon + 1, strlen(colon + 1)) : adw_xstrdup("");
		if (!*cmd->target || strpbrk(cmd->target, " \t\n")) {
			free(cmd->target);
			free(cmd->prompt);
			cmd->target = cmd->prompt = NULL;
			return false;
		}
		cmd->kind = steer_verbs[i].kind;
		return true;
	}
	return false;
}

void adw_chat_parse(const char *message, struct adw_chat_cmd *cmd)
{
	const char *p = message ? message : "";
	const char *colon;

	memset(cmd, 0, sizeof(*cmd));
	cmd->kind = ADW_CHAT_HELP;
	while (isspace((unsigned char)*p))
		p++;
	if (parse_steer(p, cmd))
		return;
	if (strncasecmp(p, "start adw", 9) != 0)
		return;
	p += 9;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != ':')
		return;
	p++;
	colon = strchr(p, ':');
	cmd->kind = ADW_CHAT_START;
	if (!colon) {
		cmd->workflow = trim_dup(p, strlen(p));
		cmd->prompt = adw_xstrdup("");
	} else {
		cmd->workflow = trim_dup(p, (size_t)(colon - p));
		cmd->prompt = trim_dup(colon + 1, strlen(colon + 1));
	}
	adw_workflow_normalize(cmd->workflow);
}

void adw_chat_cmd_release(struct adw_chat_cmd *cmd)
{
	if (!cmd)
		return;
	free(cmd->workflow);
	free(cmd->prompt);
	free(cmd->target);
	memset(cmd, 0, sizeof(*cmd));
}

static char *help_text(const struct adw_config *cfg)
{
	struct adw_workflow *list = NULL;
	struct adw_err err = {0};
	struct adw_buf b;
	int n = 0;

	adw_buf_init(&b, 0);
	if (adw_buf_adds(&b, "I understand these commands:\n"
			     "  start adw: <workflow>: <prompt>   start an AI Developer Workflow\n"
			     "  pause adw <id|name>[: <reason>]   pause it at its next checkpoint\n"
			     "  resume adw <id|name>              resume a paused ADW\n"
			     "  cancel adw <id|name>[: <reason>]  stop it; it ends cancelled\n"
			     "  tell adw <id|name>: <text>        an instruction for the running "
			     "agent\n"
			     "  redirect adw <id|name>: <prompt>  cancel it and start a new one\n"
			     "  answer <question id>: <text>      answer an agent's question\n"
			     "Workflows:") < 0)
		return adw_xstrdup("");
	if (adw_workflow_list(cfg, &list, &n, &err) == 0) {
		for (int i = 0; i < n; i++) {
			if (adw_buf_addf(&b, "\n  %s: %s", list[i].name, list[i].description) < 0)
				break;
		}
	}
	adw_workflow_list_free(list, n);
	if (adw_buf_adds(
		&b, "\nExample: start adw: plan_build_review: Add a --version flag to the CLI") < 0)
		return adw_xstrdup("");
	return adw_buf_detach(&b);
}

/*
 * A steering command: the reply text (and *adw, the ADW after it) or an
 * error that is not the user's (UNAVAILABLE...). Returns 0 or -1.
 */
static int steer(PGconn *conn, const struct adw_config *cfg, const struct adw_chat_cmd *cmd,
		 char **text, char **adw, cJSON *meta, struct adw_err *err)
{
	static const char *const actions[] = {
	    [ADW_CHAT_PAUSE] = "pause",	      [ADW_CHAT_RESUME] = "resume",
	    [ADW_CHAT_CANCEL] = "cancel",     [ADW_CHAT_TELL] = "instruction",
	    [ADW_CHAT_REDIRECT] = "redirect",
	};
	struct adw_thread_result out = {0};
	struct adw_err e = {0};
	cJSON *msg = NULL, *a = NULL;
	const char *name, *status, *astatus, *reason;

	if (cmd->kind == ADW_CHAT_ANSWER) {
		char *q = NULL;

		if (adw_thread_answer(conn, cmd->target, cmd->prompt, "chat", &q, &e) < 0)
			goto refused;
		a = cJSON_Parse(q);
		free(q);
		msg = cJSON_GetObjectItemCaseSensitive(a, "question");
		*text = adw_xasprintf(
		    "Answered question %s of ADW '%s': %s",
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "id")),
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "adw_name")),
		    cmd->prompt);
		cJSON_AddStringToObject(meta, "type", "answer");
		cJSON_Delete(a);
		return 0;
	}
	{
		struct adw_thread_request rq = {.adw = cmd->target,
						.action = actions[cmd->kind],
						.content = cmd->prompt,
						.source = "chat"};

		if (adw_thread_post(conn, cfg, &rq, &out, &e) < 0)
			goto refused;
	}
	msg = cJSON_Parse(out.message);
	a = cJSON_Parse(out.adw);
	name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "name"));
	status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "status"));
	astatus = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "action_status"));
	reason = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "status_reason"));
	if (cmd->kind == ADW_CHAT_REDIRECT)
		*text = adw_xasprintf(
		    "Redirected: started ADW '%s' (id %s) with the new prompt; "
		    "the old one is cancelled.",
		    name, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "id")));
	else if (astatus && !strcmp(astatus, "ignored"))
		*text = adw_xasprintf("Nothing to do for ADW '%s': %s.", name,
				      reason ? reason : "ignored");
	else if (astatus && !strcmp(astatus, "processed"))
		*text = adw_xasprintf("ADW '%s' is now %s.", name, status);
	else if (cmd->kind == ADW_CHAT_TELL)
		*text =
		    adw_xasprintf("Sent to ADW '%s'; its agent gets it in its next turn.", name);
	else
		*text =
		    adw_xasprintf("Asked ADW '%s' to %s; it takes effect at its next checkpoint.",
				  name, actions[cmd->kind]);
	cJSON_AddStringToObject(meta, "type", actions[cmd->kind]);
	*adw = out.adw;
	out.adw = NULL;
	cJSON_Delete(msg);
	cJSON_Delete(a);
	adw_thread_result_release(&out);
	return 0;
refused:
	if (e.code == ADW_ERR_UNAVAILABLE || e.code == ADW_ERR_INTERNAL) {
		*err = e;
		return -1;
	}
	*text = adw_xasprintf("Could not %s: %s",
			      cmd->kind == ADW_CHAT_ANSWER ? "answer"
			      : cmd->kind == ADW_CHAT_TELL ? "tell the adw"
							   : actions[cmd->kind],
			      e.msg);
	cJSON_AddStringToObject(meta, "type", "error");
	return 0;
}

int adw_chat_handle(PGconn *conn, const struct adw_config *cfg, const char *message, char **reply,
		    char **adw, struct adw_err *err)
{
	struct adw_chat_cmd cmd;
	char *user = NULL, *text = NULL, *adw_json = NULL, *adw_id = NULL, *meta = NULL;
	cJSON *m = NULL;
	int rc = -1;

	*reply = NULL;
	*adw = NULL;
	adw_chat_parse(message, &cmd);
	if (!message || !*message || strspn(message, " \t\r\n") == strlen(message)) {
		adw_err_set(err, ADW_ERR_INVALID, "message must not be empty");
		goto out;
	}
	if (strlen(message) > ADW_CHAT_MESSAGE_MAX) {
		adw_err_set(err, ADW_ERR_INVALID, "message is over %d bytes", ADW_CHAT_MESSAGE_MAX);
		goto out;
	}
	if (adw_store_chat_add(conn, "user", "orchestrator", message, NULL, NULL, &user, err) < 0)
		goto out;
	m = cJSON_CreateObject();
	if (cmd.kind == ADW_CHAT_START) {
		struct adw_new in = {
		    .workflow = cmd.workflow, .prompt = cmd.prompt, .source = "chat"};
		struct adw_err cerr = {0};

		if (adw_store_adw_create(conn, cfg, &in, &adw_json, &adw_id, &cerr) == 0) {
			cJSON *a = cJSON_Parse(adw_json);
			const cJSON *name = cJSON_GetObjectItemCaseSensitive(a, "name");
			const cJSON *total = cJSON_GetObjectItemCaseSensitive(a, "total_steps");
			const cJSON *rt = cJSON_GetObjectItemCaseSensitive(a, "runtime");

			text = adw_xasprintf(
			    "Started ADW '%s' (id %s): %s, %d steps, runtime %s%s. "
			    "It is pending until a supervisor picks it up; watch it in "
			    "the ADWS view.",
			    cJSON_GetStringValue(name), adw_id, cmd.workflow,
			    (int)cJSON_GetNumberValue(total), cJSON_GetStringValue(rt),
			    strcmp(cJSON_GetStringValue(rt), "dry-run") == 0
				? " (dry run: no model will run)"
				: "");
			cJSON_AddStringToObject(m, "type", "adw_started");
			cJSON_AddStringToObject(m, "adw_id", adw_id);
			cJSON_Delete(a);
		} else if (cerr.code == ADW_ERR_INVALID) {
			text = adw_xasprintf("Could not start the ADW: %s", cerr.msg);
			cJSON_AddStringToObject(m, "type", "error");
		} else {
			*err = cerr;
			goto out;
		}
	} else if (cmd.kind != ADW_CHAT_HELP) {
		if (steer(conn, cfg, &cmd, &text, &adw_json, m, err) < 0)
			goto out;
		if (adw_json) {
			cJSON *a = cJSON_Parse(adw_json);

			adw_id = adw_xstrdup(
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "id")));
			cJSON_Delete(a);
		}
	} else {
		text = help_text(cfg);
		cJSON_AddStringToObject(m, "type", "help");
	}
	meta = cJSON_PrintUnformatted(m);
	if (adw_store_chat_add(conn, "orchestrator", "user", text, adw_id, meta, reply, err) < 0)
		goto out;
	*adw = adw_json;
	adw_json = NULL;
	rc = 0;
out:
	cJSON_Delete(m);
	free(meta);
	free(user);
	free(text);
	free(adw_json);
	free(adw_id);
	adw_chat_cmd_release(&cmd);
	return rc;
}
