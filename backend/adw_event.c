/* SPDX-License-Identifier: MIT */
/* Event categories, fallback summaries and inserts into the events table. */
#include "adw_event.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "adw_buf.h"
#include "adw_db.h"

#include <time.h>

#define SUMMARY_MAX 200 /* bytes of a summary, "..." included */
#define SUMMARY_CLIP (SUMMARY_MAX - 3)

const char *adw_event_category_name(enum adw_event_category cat)
{
	switch (cat) {
	case ADW_CAT_ADW_STEP: return "adw_step";
	case ADW_CAT_RESPONSE: return "response";
	case ADW_CAT_HOOK: return "hook";
	case ADW_CAT_SYSTEM: return "system";
	case ADW_CAT_CHAT: return "chat";
	case ADW_CAT_CONTROL: return "control";
	case ADW_CAT_FILE_TRACKING: return "file_tracking";
	}
	return "system";
}

char *adw_event_clip(const char *s, size_t max, int fold)
{
	size_t n = s ? strlen(s) : 0;
	bool cut = n > max;
	char *out;

	if (!s)
		return adw_xstrdup("");
	if (cut) {
		n = max;
		/* Back up to the start of a UTF-8 character. */
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	out = adw_xmalloc(n + 4);
	memcpy(out, s, n);
	if (cut)
		memcpy(out + n, "...", 4);
	else
		out[n] = '\0';
	if (fold) {
		for (char *p = out; *p; p++) {
			if (*p == '\n' || *p == '\r' || *p == '\t')
				*p = ' ';
		}
	}
	return out;
}

static const char *payload_str(const cJSON *payload, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(payload, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *basename_of(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

/* "Read: main.c", "Bash: make test", ... as the original's short tool forms. */
static char *tool_summary(const cJSON *payload)
{
	const char *tool = payload_str(payload, "tool_name");
	const cJSON *input = cJSON_GetObjectItemCaseSensitive(payload, "tool_input");
	const char *arg = NULL;
	char *clip, *out;

	if (!tool)
		return NULL;
	if (!strcmp(tool, "Read") || !strcmp(tool, "Write") || !strcmp(tool, "Edit") ||
	    !strcmp(tool, "MultiEdit") || !strcmp(tool, "NotebookEdit"))
		arg = basename_of(payload_str(input, "file_path"));
	else if (!strcmp(tool, "Bash"))
		arg = payload_str(input, "command");
	else if (!strcmp(tool, "Glob") || !strcmp(tool, "Grep"))
		arg = payload_str(input, "pattern");
	else if (!strcmp(tool, "Task"))
		arg = payload_str(input, "description");
	else if (!strcmp(tool, "WebFetch"))
		arg = payload_str(input, "url");
	else if (!strcmp(tool, "WebSearch"))
		arg = payload_str(input, "query");
	if (!arg)
		return adw_xasprintf("Tool: %s", tool);
	clip = adw_event_clip(arg, 60, 1);
	out = adw_xasprintf("%s: %s", tool, clip);
	free(clip);
	return out;
}

/* One line of at most SUMMARY_MAX bytes, "..." included when cut. */
static char *clip_summary(const char *s)
{
	return adw_event_clip(s, strlen(s) > SUMMARY_MAX ? SUMMARY_CLIP : SUMMARY_MAX, 1);
}

char *adw_event_summarize(const struct adw_event *ev)
{
	const char *type = ev->type ? ev->type : "Event";
	const char *content = ev->content ? ev->content : "";
	char *s = NULL, *clip, *out;

	if (!strcmp(type, "PreToolUse") || !strcmp(type, "ToolUseBlock")) {
		s = tool_summary(ev->payload);
	} else if (!strcmp(type, "PostToolUse") || !strcmp(type, "ToolResultBlock")) {
		char *t = tool_summary(ev->payload);
		const cJSON *err = cJSON_GetObjectItemCaseSensitive(ev->payload, "is_error");

		if (t) {
			s = adw_xasprintf("%s %s", t, cJSON_IsTrue(err) ? "✗" : "✓");
			free(t);
		}
	} else if (!strcmp(type, "TextBlock")) {
		clip = adw_event_clip(content, 150, 1);
		s = adw_xasprintf("Response: %s", clip);
		free(clip);
	} else if (!strcmp(type, "ThinkingBlock")) {
		clip = adw_event_clip(content, 100, 1);
		s = adw_xasprintf("Thinking: %s", clip);
		free(clip);
	} else if (!strcmp(type, "Result")) {
		const cJSON *err = cJSON_GetObjectItemCaseSensitive(ev->payload, "is_error");

		s = adw_xasprintf("Step completed: %s", cJSON_IsTrue(err) ? "error" : "success");
	} else if (*content) {
		s = adw_event_clip(content, SUMMARY_CLIP, 1);
	}
	if (!s)
		s = adw_xstrdup(type);
	out = clip_summary(s);
	free(s);
	return out;
}

/*
 * Length of the valid UTF-8 sequence at p, or 0. The same rules as
 * PostgreSQL's pg_utf8_islegal(): no overlong forms, no surrogates,
 * nothing above U+10FFFF.
 */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		n = 2;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		n = 3;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		n = 4;
	else
		return 0;
	if (p[0] == 0xE0)
		lo = 0xA0;
	else if (p[0] == 0xED)
		hi = 0x9F;
	else if (p[0] == 0xF0)
		lo = 0x90;
	else if (p[0] == 0xF4)
		hi = 0x8F;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	}
	return n;
}

bool adw_event_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (p && *p) {
		size_t n = utf8_len(p);

		if (n == 0)
			return false;
		p += n;
	}
	return true;
}

/*
 * PostgreSQL rejects invalid UTF-8; an agent's output may hold it. Replace
 * each bad byte with '?' in place (never drop the event).
 */
void adw_event_fix_utf8(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (p && *p) {
		size_t n = utf8_len(p);

		if (n == 0) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

/* The summary stored with ev: its own, clipped, or the fallback. Caller frees. */
static char *summary_of(const struct adw_event *ev)
{
	return ev->summary ? clip_summary(ev->summary) : adw_event_summarize(ev);
}

int adw_event_insert(PGconn *conn, const struct adw_event *ev, long long *id, struct adw_err *err)
{
	char *summary = summary_of(ev);
	char *payload = ev->payload ? cJSON_PrintUnformatted(ev->payload) : NULL;
	char *content = adw_xstrdup(ev->content ? ev->content : "");
	const char *params[8] = {
	    ev->adw_id, ev->agent_id, ev->step, adw_event_category_name(ev->category),
	    ev->type,	content,      summary,	payload ? payload : "{}",
	};

	adw_event_fix_utf8(content);
	adw_event_fix_utf8(summary);
	adw_event_fix_utf8(payload);
	PGresult *res;
	int rc = -1;

	res = adw_db_query(conn,
			   "INSERT INTO events (adw_id, agent_id, step, category, type, content, "
			   "summary, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
			   8, params, err);
	if (!res)
		goto out;
	if (id)
		*id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	rc = 0;
out:
	free(content);
	free(payload);
	free(summary);
	return rc;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void adw_event_batch_init(struct adw_event_batch *b)
{
	b->rows = cJSON_CreateArray();
	b->n = 0;
	b->bytes = 0;
	b->first_ms = 0;
	b->key[0] = '\0';
}

void adw_event_batch_release(struct adw_event_batch *b)
{
	if (!b)
		return;
	cJSON_Delete(b->rows);
	b->rows = NULL;
	b->n = 0;
	b->bytes = 0;
	b->key[0] = '\0';
}

static void add_str(cJSON *row, const char *key, const char *value)
{
	char *copy;

	if (!value)
		return;
	copy = adw_xstrdup(value);
	adw_event_fix_utf8(copy);
	cJSON_AddStringToObject(row, key, copy);
	free(copy);
}

void adw_event_batch_add(struct adw_event_batch *b, const struct adw_event *ev)
{
	cJSON *row = cJSON_CreateObject();
	char *summary = summary_of(ev);

	add_str(row, "adw_id", ev->adw_id);
	add_str(row, "agent_id", ev->agent_id);
	add_str(row, "step", ev->step);
	add_str(row, "category", adw_event_category_name(ev->category));
	add_str(row, "type", ev->type);
	add_str(row, "content", ev->content ? ev->content : "");
	add_str(row, "summary", summary);
	if (ev->payload)
		cJSON_AddItemToObject(row, "payload", cJSON_Duplicate(ev->payload, 1));
	{
		struct timespec ts;
		struct tm tm;
		char when[40];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, 24, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(when + 19, sizeof(when) - 19, ".%06ldZ", ts.tv_nsec / 1000);
		cJSON_AddStringToObject(row, "ts", when);
	}
	b->bytes += 256 + (ev->content ? strlen(ev->content) : 0) + strlen(summary);
	free(summary);
	if (b->n == 0)
		b->first_ms = mono_ms();
	if (!b->key[0]) {
		uuid_t u;

		uuid_generate_random(u);
		uuid_unparse_lower(u, b->key);
	}
	cJSON_AddItemToArray(b->rows, row);
	b->n++;
}

int adw_event_append_json(PGconn *conn, const char *rows, const char *key, long long *last_id,
			  struct adw_err *err)
{
	const char *params[2] = {rows, key && key[0] ? key : NULL};
	PGresult *res;

	res = params[1] ? adw_db_query(conn, "SELECT adw_events_append($1::json, $2::uuid)", 2,
				       params, err)
			: adw_db_query(conn, "SELECT adw_events_append($1::json)", 1, params, err);
	if (!res)
		return -1;
	if (last_id)
		*last_id = PQgetisnull(res, 0, 0) ? 0 : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

long long adw_event_batch_age_ms(const struct adw_event_batch *b)
{
	return b->n ? mono_ms() - b->first_ms : 0;
}

int adw_event_batch_write(PGconn *conn, const struct adw_event_batch *b, long long *last_id,
			  struct adw_err *err)
{
	char *json;
	int rc;

	if (last_id)
		*last_id = 0;
	if (b->n == 0)
		return 0;
	json = cJSON_PrintUnformatted(b->rows);
	/* Strings were made valid UTF-8 on add; payload strings may not be. */
	adw_event_fix_utf8(json);
	rc = adw_event_append_json(conn, json, b->key, last_id, err);
	free(json);
	return rc;
}

void adw_event_batch_clear(struct adw_event_batch *b)
{
	cJSON_Delete(b->rows);
	adw_event_batch_init(b);
}

void adw_event_batch_truncate(struct adw_event_batch *b, int n)
{
	while (b->n > n && b->n > 0)
		cJSON_DeleteItemFromArray(b->rows, --b->n);
}

int adw_event_batch_flush(PGconn *conn, struct adw_event_batch *b, long long *last_id,
			  struct adw_err *err)
{
	if (adw_event_batch_write(conn, b, last_id, err) < 0)
		return -1;
	adw_event_batch_clear(b);
	return 0;
}
