/* SPDX-License-Identifier: MIT */
/*
 * Claude Code stream-json lines to adw events and a step result. Tool calls
 * are paired with their results through a small id -> (name, input) table
 * so PostToolUse can name the tool. Usage is taken only from the result
 * line: assistant lines repeat a stream-start snapshot (agent-protocols §0.2).
 */
#include "adw_streamjson.h"

#include <stdlib.h>
#include <string.h>

#include "adw_event.h"
#include "adw_log.h"
#include "adw_mem.h"

#define RESULT_CLIP 4000		/* ToolResultBlock content and payload content */
#define RESPONSE_CLIP 2000		/* PostToolUse tool_response */
#define WARN_CLIP 4000			/* a non-JSON line in a SystemWarning */
#define ERROR_CLIP 1000			/* result text quoted in res->error */
#define MAX_TOOLS 4096			/* pending tool calls kept; the oldest go first */
#define KEEP_LINE_MEM ((size_t)1 << 20) /* line memory kept between lines */

struct adw_streamjson_tool {
	char *id;
	char *name;
	cJSON *input; /* owned copy of the tool_use input */
};

static void emit_event(struct adw_streamjson *sj, enum adw_event_category cat, const char *type,
		       const char *content, const char *summary, const cJSON *payload)
{
	struct adw_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.category = cat;
	ev.type = type;
	ev.content = content;
	ev.summary = summary;
	ev.payload = payload;
	if (sj->emit && sj->emit(sj->emit_ud, &ev) < 0)
		sj->emit_failures++;
}

static const char *str_of(const cJSON *obj, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

static long long ll_of(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

/*
 * Adds item to payload under key without copying (a cJSON reference: the
 * payload lives shorter than the parsed line). A missing item adds nothing.
 */
static void add_ref(cJSON *payload, const char *key, const cJSON *item)
{
	if (item)
		cJSON_AddItemReferenceToObject(payload, key, (cJSON *)item);
}

static void add_key_ref(cJSON *payload, const cJSON *obj, const char *key)
{
	add_ref(payload, key, cJSON_GetObjectItemCaseSensitive(obj, key));
}

/* Marks events of a sub-agent (Task tool) with the calling tool's id. */
static void add_parent(cJSON *payload, const cJSON *root)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "parent_tool_use_id");

	if (cJSON_IsString(p))
		add_ref(payload, "parent_tool_use_id", p);
}

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = adw_xstrdup(s);
}

/* ---- tool_use id -> (name, input) ---- */

static struct adw_streamjson_tool *tool_find(struct adw_streamjson *sj, const char *id)
{
	if (!id)
		return NULL;
	for (size_t i = sj->ntools; i > 0; i--) {
		if (!strcmp(sj->tools[i - 1].id, id))
			return &sj->tools[i - 1];
	}
	return NULL;
}

static void tool_clear(struct adw_streamjson_tool *t)
{
	free(t->id);
	free(t->name);
	cJSON_Delete(t->input);
}

static void tool_forget(struct adw_streamjson *sj, struct adw_streamjson_tool *t)
{
	size_t i = (size_t)(t - sj->tools);

	tool_clear(t);
	memmove(&sj->tools[i], &sj->tools[i + 1], (sj->ntools - i - 1) * sizeof(*t));
	sj->ntools--;
}

static void tool_remember(struct adw_streamjson *sj, const char *id, const char *name,
			  const cJSON *input)
{
	struct adw_streamjson_tool *t;

	if (!id)
		return;
	t = tool_find(sj, id);
	if (t)
		tool_forget(sj, t);
	if (sj->ntools == MAX_TOOLS)
		tool_forget(sj, &sj->tools[0]);
	if (sj->ntools == sj->captools) {
		sj->captools = sj->captools ? sj->captools * 2 : 16;
		sj->tools = adw_xrealloc(sj->tools, sj->captools * sizeof(*sj->tools));
	}
	t = &sj->tools[sj->ntools++];
	t->id = adw_xstrdup(id);
	t->name = adw_xstrdup(name ? name : "unknown");
	t->input = input ? cJSON_Duplicate(input, 1) : NULL;
}

/* ---- line kinds ---- */

static void on_other(struct adw_streamjson *sj, const cJSON *root, const char *what)
{
	const char *type = str_of(root, "type");
	const char *subtype = str_of(root, "subtype");
	char *summary;

	if (!type)
		type = "(no type)";
	if (what)
		summary = adw_xasprintf("claude: %s/%s", type, what);
	else if (subtype)
		summary = adw_xasprintf("claude: %s/%s", type, subtype);
	else
		summary = adw_xasprintf("claude: %s", type);
	emit_event(sj, ADW_CAT_SYSTEM, "SystemInfo", summary, summary, root);
	free(summary);
}

static void on_init(struct adw_streamjson *sj, const cJSON *root)
{
	static const char *const keys[] = {
	    "subtype", "session_id",	      "model",		"cwd",
	    "tools",   "claude_code_version", "permissionMode", "mcp_servers",
	};
	const char *sid = str_of(root, "session_id");
	const char *ver = str_of(root, "claude_code_version");
	const char *model = str_of(root, "model");
	cJSON *payload = cJSON_CreateObject();
	char *content;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		add_key_ref(payload, root, keys[i]);
	content = adw_xasprintf("Claude Code %s started: session %s, model %s", ver ? ver : "?",
				sid ? sid : "?", model ? model : "?");
	emit_event(sj, ADW_CAT_SYSTEM, "SystemInfo", content, NULL, payload);
	if (sid && sj->res)
		set_str(&sj->res->session_id, sid);
	free(content);
	cJSON_Delete(payload);
}

static void on_tool_use(struct adw_streamjson *sj, const cJSON *root, const cJSON *block)
{
	const char *name = str_of(block, "name");
	const char *id = str_of(block, "id");
	const cJSON *input = cJSON_GetObjectItemCaseSensitive(block, "input");
	cJSON *payload = cJSON_CreateObject();
	char *content;

	if (!name)
		name = "unknown";
	cJSON_AddStringToObject(payload, "tool_name", name);
	if (input)
		add_ref(payload, "tool_input", input);
	else
		cJSON_AddObjectToObject(payload, "tool_input");
	if (id)
		cJSON_AddStringToObject(payload, "tool_use_id", id);
	add_parent(payload, root);

	content = adw_xasprintf("[Tool] %s", name);
	emit_event(sj, ADW_CAT_RESPONSE, "ToolUseBlock", content, NULL, payload);
	free(content);
	content = adw_xasprintf("Using tool: %s", name);
	emit_event(sj, ADW_CAT_HOOK, "PreToolUse", content, NULL, payload);
	free(content);
	tool_remember(sj, id, name, input);
	cJSON_Delete(payload);
}

static void on_text_like(struct adw_streamjson *sj, const cJSON *root, const char *type,
			 const char *key, const char *text, const char *message_id)
{
	cJSON *payload = cJSON_CreateObject();
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");

	cJSON_AddStringToObject(payload, key, text);
	if (message_id)
		cJSON_AddStringToObject(payload, "message_id", message_id);
	add_parent(payload, root);
	/* Synthetic messages of a failed API call carry an error kind. */
	if (cJSON_IsString(err))
		add_ref(payload, "error", err);
	emit_event(sj, ADW_CAT_RESPONSE, type, text, NULL, payload);
	cJSON_Delete(payload);
}

static void on_assistant(struct adw_streamjson *sj, const cJSON *root)
{
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "message");
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
	const char *message_id = str_of(msg, "id");
	const cJSON *block;

	if (cJSON_IsString(content)) {
		on_text_like(sj, root, "TextBlock", "text", content->valuestring, message_id);
		return;
	}
	if (!cJSON_IsArray(content)) {
		on_other(sj, root, NULL);
		return;
	}
	/* One block per line in 2.x, but a message may hold several. */
	cJSON_ArrayForEach (block, content) {
		const char *btype = str_of(block, "type");
		const char *text;

		if (!btype) {
			on_other(sj, root, "(block without type)");
		} else if (!strcmp(btype, "text")) {
			text = str_of(block, "text");
			on_text_like(sj, root, "TextBlock", "text", text ? text : "", message_id);
		} else if (!strcmp(btype, "thinking")) {
			/* The signature is opaque and only useful to the API. */
			text = str_of(block, "thinking");
			on_text_like(sj, root, "ThinkingBlock", "thinking", text ? text : "",
				     message_id);
		} else if (!strcmp(btype, "redacted_thinking")) {
			on_text_like(sj, root, "ThinkingBlock", "thinking", "[redacted]",
				     message_id);
		} else if (!strcmp(btype, "tool_use")) {
			on_tool_use(sj, root, block);
		} else {
			on_other(sj, root, btype);
		}
	}
}

/*
 * The text of a tool_result: a string, or an array of blocks whose text
 * parts are joined by newlines (others show as "[<type>]"). Only the first
 * limit bytes or a little more are built: callers clip anyway.
 */
static char *result_text(const cJSON *content, size_t limit)
{
	struct adw_buf b;
	const cJSON *part;
	char *out;

	if (cJSON_IsString(content))
		return adw_event_clip(content->valuestring, limit, 0);
	adw_buf_init(&b, 0);
	cJSON_ArrayForEach (part, content) {
		const char *t = cJSON_IsString(part) ? part->valuestring : str_of(part, "text");
		const char *pt = str_of(part, "type");
		int rc = 0;

		if (b.len > limit)
			break;
		if (b.len)
			rc = adw_buf_adds(&b, "\n");
		if (rc == 0 && t)
			rc = adw_buf_add(&b, t, strnlen(t, limit + 1));
		else if (rc == 0)
			rc = adw_buf_addf(&b, "[%s]", pt ? pt : "?");
		if (rc < 0)
			break; /* cannot happen without a cap */
	}
	out = adw_event_clip(adw_buf_str(&b), limit, 0);
	adw_buf_release(&b);
	return out;
}

static void on_tool_result(struct adw_streamjson *sj, const cJSON *root, const cJSON *block)
{
	const char *id = str_of(block, "tool_use_id");
	bool is_error = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(block, "is_error"));
	struct adw_streamjson_tool *t = tool_find(sj, id);
	const char *name = t ? t->name : "unknown";
	cJSON *payload = cJSON_CreateObject();
	char *text, *response, *content;

	text = result_text(cJSON_GetObjectItemCaseSensitive(block, "content"), RESULT_CLIP);
	response = adw_event_clip(text, RESPONSE_CLIP, 0);

	if (id)
		cJSON_AddStringToObject(payload, "tool_use_id", id);
	cJSON_AddStringToObject(payload, "tool_name", name);
	cJSON_AddBoolToObject(payload, "is_error", is_error);
	cJSON_AddStringToObject(payload, "content", text);
	add_parent(payload, root);
	emit_event(sj, ADW_CAT_RESPONSE, "ToolResultBlock", text, NULL, payload);
	cJSON_Delete(payload);

	payload = cJSON_CreateObject();
	cJSON_AddStringToObject(payload, "tool_name", name);
	if (t && t->input)
		add_ref(payload, "tool_input", t->input);
	else
		cJSON_AddNullToObject(payload, "tool_input");
	if (id)
		cJSON_AddStringToObject(payload, "tool_use_id", id);
	cJSON_AddStringToObject(payload, "tool_response", response);
	cJSON_AddBoolToObject(payload, "is_error", is_error);
	add_parent(payload, root);
	content = adw_xasprintf("PostToolUse: %s", name);
	emit_event(sj, ADW_CAT_HOOK, "PostToolUse", content, NULL, payload);
	cJSON_Delete(payload);

	if (t)
		tool_forget(sj, t);
	free(content);
	free(response);
	free(text);
}

static void on_user(struct adw_streamjson *sj, const cJSON *root)
{
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "message");
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
	const cJSON *block;
	bool other = !cJSON_IsArray(content);

	cJSON_ArrayForEach (block, content) {
		const char *btype = str_of(block, "type");

		if (btype && !strcmp(btype, "tool_result"))
			on_tool_result(sj, root, block);
		else
			other = true;
	}
	/* A prompt handed to a sub-agent, a replayed message, ...: keep it. */
	if (other)
		on_other(sj, root, NULL);
}

/* The "errors" array of an error result, joined by newlines; NULL if none. */
static char *join_errors(const cJSON *root)
{
	const cJSON *errors = cJSON_GetObjectItemCaseSensitive(root, "errors");
	const cJSON *e;
	struct adw_buf b;

	adw_buf_init(&b, 0);
	cJSON_ArrayForEach (e, errors) {
		if (!cJSON_IsString(e))
			continue;
		if ((b.len && adw_buf_adds(&b, "\n") < 0) || adw_buf_adds(&b, e->valuestring) < 0)
			break;
	}
	if (!b.len) {
		adw_buf_release(&b);
		return NULL;
	}
	return adw_buf_detach(&b);
}

static char *result_error(const cJSON *root, const char *subtype, const char *text)
{
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(root, "api_error_status");
	char *clip = adw_event_clip(text, ERROR_CLIP, 1);
	char *out;

	if (cJSON_IsNumber(status))
		out = adw_xasprintf("claude reported an error (api_error_status %d): %s",
				    (int)status->valuedouble, clip);
	else if (subtype && strcmp(subtype, "success") != 0)
		out = *clip ? adw_xasprintf("claude: %s: %s", subtype, clip)
			    : adw_xasprintf("claude: %s", subtype);
	else
		out = adw_xasprintf("claude reported an error: %s", *clip ? clip : "(no message)");
	free(clip);
	return out;
}

static void on_result(struct adw_streamjson *sj, const cJSON *root)
{
	static const char *const keys[] = {
	    "subtype",
	    "is_error",
	    "num_turns",
	    "duration_ms",
	    "total_cost_usd",
	    "usage",
	    "modelUsage",
	    "session_id",
	    "terminal_reason",
	    "stop_reason",
	    "api_error_status",
	    "errors",
	    "permission_denials",
	};
	const char *subtype = str_of(root, "subtype");
	const char *text = str_of(root, "result");
	const char *reason = str_of(root, "terminal_reason");
	const char *sid = str_of(root, "session_id");
	const cJSON *is_error = cJSON_GetObjectItemCaseSensitive(root, "is_error");
	const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
	const cJSON *cost = cJSON_GetObjectItemCaseSensitive(root, "total_cost_usd");
	char *errors = join_errors(root);
	const char *content = text ? text : errors ? errors : "";
	cJSON *payload = cJSON_CreateObject();
	char *stop;
	bool failed;

	/* Success is is_error == false, whatever the subtype (§0.3). */
	if (cJSON_IsBool(is_error))
		failed = cJSON_IsTrue(is_error);
	else
		failed = !subtype || strcmp(subtype, "success") != 0;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		add_key_ref(payload, root, keys[i]);
	emit_event(sj, ADW_CAT_RESPONSE, "Result", content, NULL, payload);
	cJSON_Delete(payload);

	if (!reason)
		reason = subtype ? subtype : "unknown";
	payload = cJSON_CreateObject();
	cJSON_AddStringToObject(payload, "reason", reason);
	add_key_ref(payload, root, "subtype");
	add_key_ref(payload, root, "is_error");
	stop = adw_xasprintf("Agent stopped: %s", reason);
	emit_event(sj, ADW_CAT_HOOK, "Stop", stop, NULL, payload);
	cJSON_Delete(payload);
	free(stop);

	sj->got_result = true;
	sj->results++;
	if (sj->res) {
		struct adw_step_result *r = sj->res;

		r->ok = !failed;
		free(r->subtype);
		r->subtype = adw_xstrdup(subtype);
		free(r->result_text);
		r->result_text = adw_xstrdup(text);
		r->input_tokens = ll_of(usage, "input_tokens");
		r->output_tokens = ll_of(usage, "output_tokens");
		r->cost_usd = cJSON_IsNumber(cost) ? cost->valuedouble : 0.0;
		r->duration_ms = ll_of(root, "duration_ms");
		r->num_turns = (int)ll_of(root, "num_turns");
		sj->total.input_tokens += r->input_tokens;
		sj->total.output_tokens += r->output_tokens;
		sj->total.cost_usd += r->cost_usd;
		sj->total.duration_ms += r->duration_ms;
		sj->total.num_turns += r->num_turns;
		if (sid)
			set_str(&r->session_id, sid);
		free(r->error);
		r->error = failed ? result_error(root, subtype, content) : NULL;
	}
	free(errors);
}

static void warn_not_json(struct adw_streamjson *sj, const char *line, size_t len)
{
	char *raw = adw_xstrndup(line, len < WARN_CLIP + 1 ? len : WARN_CLIP + 1);
	char *content = adw_event_clip(raw, WARN_CLIP, 0);
	char *short_text = adw_event_clip(raw, 120, 1);
	char *summary = adw_xasprintf("claude: non-JSON stdout line: %s", short_text);
	cJSON *payload = cJSON_CreateObject();

	cJSON_AddNumberToObject(payload, "bytes", (double)len);
	emit_event(sj, ADW_CAT_SYSTEM, "SystemWarning", content, summary, payload);
	cJSON_Delete(payload);
	free(summary);
	free(short_text);
	free(content);
	free(raw);
}

/* ---- public ---- */

void adw_streamjson_init(struct adw_streamjson *sj, adw_emit_fn emit, void *emit_ud,
			 struct adw_step_result *res)
{
	memset(sj, 0, sizeof(*sj));
	sj->emit = emit;
	sj->emit_ud = emit_ud;
	sj->res = res;
	sj->max_line = ADW_STREAMJSON_MAX_LINE;
	adw_buf_init(&sj->line, sj->max_line);
}

void adw_streamjson_release(struct adw_streamjson *sj)
{
	if (!sj)
		return;
	for (size_t i = 0; i < sj->ntools; i++)
		tool_clear(&sj->tools[i]);
	free(sj->tools);
	sj->tools = NULL;
	sj->ntools = 0;
	sj->captools = 0;
	adw_buf_release(&sj->line);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void adw_streamjson_feed_line(struct adw_streamjson *sj, const char *line, size_t len)
{
	cJSON *root = NULL;
	const char *type, *subtype, *sid;

	while (len && is_blank(line[len - 1]))
		len--;
	while (len && is_blank(*line)) {
		line++;
		len--;
	}
	if (!len)
		return;
	sj->lines++;
	root = cJSON_ParseWithLength(line, len);
	if (!cJSON_IsObject(root)) {
		warn_not_json(sj, line, len);
		goto out;
	}
	type = str_of(root, "type");
	subtype = str_of(root, "subtype");
	/* Every line carries the session id; keep one even without an init. */
	sid = str_of(root, "session_id");
	if (sid && sj->res && !sj->res->session_id)
		sj->res->session_id = adw_xstrdup(sid);
	if (!type)
		on_other(sj, root, NULL);
	else if (!strcmp(type, "system") && subtype && !strcmp(subtype, "init")) {
		sj->inits++;
		on_init(sj, root);
	} else if (!strcmp(type, "assistant"))
		on_assistant(sj, root);
	else if (!strcmp(type, "user"))
		on_user(sj, root);
	else if (!strcmp(type, "result"))
		on_result(sj, root);
	else
		on_other(sj, root, NULL);
out:
	cJSON_Delete(root);
}

static void drop_line(struct adw_streamjson *sj)
{
	char *content =
	    adw_xasprintf("claude: dropped a stdout line longer than %zu bytes", sj->max_line);
	cJSON *payload = cJSON_CreateObject();

	cJSON_AddNumberToObject(payload, "max_line", (double)sj->max_line);
	sj->dropped++;
	adw_log_warn("%s", content);
	emit_event(sj, ADW_CAT_SYSTEM, "SystemWarning", content, NULL, payload);
	cJSON_Delete(payload);
	free(content);
}

void adw_streamjson_feed(struct adw_streamjson *sj, const char *data, size_t n)
{
	sj->line.max = sj->max_line;
	while (n) {
		const char *nl = memchr(data, '\n', n);
		size_t seg = nl ? (size_t)(nl - data) : n;

		if (!sj->discarding && adw_buf_add(&sj->line, data, seg) < 0) {
			/* Over the cap: the buffer is already released. */
			drop_line(sj);
			sj->discarding = true;
		}
		if (nl) {
			if (!sj->discarding)
				adw_streamjson_feed_line(sj, adw_buf_str(&sj->line), sj->line.len);
			sj->discarding = false;
			if (sj->line.cap > KEEP_LINE_MEM)
				adw_buf_release(&sj->line);
			else
				adw_buf_reset(&sj->line);
			seg++;
		}
		data += seg;
		n -= seg;
	}
}

void adw_streamjson_finish(struct adw_streamjson *sj)
{
	if (!sj->discarding && sj->line.len)
		adw_streamjson_feed_line(sj, adw_buf_str(&sj->line), sj->line.len);
	sj->discarding = false;
	adw_buf_release(&sj->line);
}
