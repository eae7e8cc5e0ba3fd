/* SPDX-License-Identifier: MIT */
/* Chat command router: "start adw: <workflow>: <prompt>" and help. */
#include "adw_chat.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adw_buf.h"
#include "adw_store.h"
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

void adw_chat_parse(const char *message, struct adw_chat_cmd *cmd)
{
	const char *p = message ? message : "";
	const char *colon;

	memset(cmd, 0, sizeof(*cmd));
	cmd->kind = ADW_CHAT_HELP;
	while (isspace((unsigned char)*p))
		p++;
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
