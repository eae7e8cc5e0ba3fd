/* SPDX-License-Identifier: MIT */
/* The control channel of one running ADW: LISTEN, acknowledge, queue. */
#include "adw_control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adw_db.h"
#include "adw_mem.h"

int adw_control_open(struct adw_control *c, PGconn *conn, const char *adw_id, struct adw_err *err)
{
	size_t j = 0;

	memset(c, 0, sizeof(*c));
	c->conn = conn;
	c->adw_id = adw_xstrdup(adw_id);
	j = (size_t)snprintf(c->channel, sizeof(c->channel), "adw_control_");
	for (const char *p = adw_id; *p && j + 1 < sizeof(c->channel); p++) {
		if (*p != '-')
			c->channel[j++] = *p;
	}
	c->channel[j] = '\0';
	return adw_control_poll(c, true, err) < 0 ? -1 : 0;
}

/* LISTENs on this connection's backend, again after a reconnect (LISTEN dies with its session). */
static int listen_once(struct adw_control *c, struct adw_err *err)
{
	int pid = PQbackendPID(c->conn);
	char *sql;
	int rc;

	if (pid != 0 && pid == c->backend_pid)
		return 0;
	/* The channel is made of [a-z0-9_] only: safe to quote as an identifier. */
	sql = adw_xasprintf("LISTEN \"%s\"", c->channel);
	rc = adw_db_exec(c->conn, sql, 0, NULL, err);
	free(sql);
	if (rc < 0)
		return -1;
	c->backend_pid = pid;
	c->woken = true; /* messages may have come while nobody listened */
	return 0;
}

void adw_control_msg_release(struct adw_control_msg *m)
{
	if (!m)
		return;
	free(m->action);
	free(m->content);
	free(m->metadata);
	free(m->question_id);
	memset(m, 0, sizeof(*m));
}

void adw_control_close(struct adw_control *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->n; i++)
		adw_control_msg_release(&c->queue[i]);
	free(c->queue);
	free(c->adw_id);
	memset(c, 0, sizeof(*c));
}

int adw_control_fd(const struct adw_control *c)
{
	return c->conn ? PQsocket(c->conn) : -1;
}

static int by_id(const void *a, const void *b)
{
	const struct adw_control_msg *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

int adw_control_poll(struct adw_control *c, bool force, struct adw_err *err)
{
	const char *params[1] = {c->adw_id};
	PGnotify *nf;
	PGresult *res;
	int added, first = c->n;

	if (!c->conn)
		return 0;
	if (listen_once(c, err) < 0)
		return -1;
	if (PQconsumeInput(c->conn) == 0)
		return adw_err_set(err, ADW_ERR_UNAVAILABLE, "database connection lost: %s",
				   PQerrorMessage(c->conn));
	while ((nf = PQnotifies(c->conn)) != NULL) {
		if (strcmp(nf->relname, c->channel) == 0)
			c->woken = true;
		PQfreemem(nf);
	}
	if (!force && !c->woken)
		return 0;
	c->woken = false;
	res = adw_db_query(c->conn,
			   "UPDATE adw_messages SET action_status = 'acknowledged', "
			   "acknowledged_at = clock_timestamp() WHERE adw_id = $1 AND sender = "
			   "'user' AND action_status = 'pending' RETURNING id, action_type, "
			   "content, metadata, question_id",
			   1, params, err);
	if (!res)
		return -1;
	added = PQntuples(res);
	if (c->n + added > c->cap) {
		c->cap = (c->n + added) * 2;
		c->queue = adw_xrealloc(c->queue, (size_t)c->cap * sizeof(*c->queue));
	}
	for (int i = 0; i < added; i++) {
		struct adw_control_msg *m = &c->queue[c->n++];

		m->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		m->action = adw_db_strdup(res, i, 1);
		m->content = adw_db_strdup(res, i, 2);
		m->metadata = adw_db_strdup(res, i, 3);
		m->question_id = adw_db_strdup(res, i, 4);
	}
	PQclear(res);
	qsort(c->queue + first, (size_t)added, sizeof(*c->queue), by_id);
	return added;
}

int adw_control_next(struct adw_control *c, struct adw_control_msg *out)
{
	if (c->n == 0)
		return -1;
	*out = c->queue[0];
	memmove(c->queue, c->queue + 1, (size_t)(c->n - 1) * sizeof(*c->queue));
	c->n--;
	return 0;
}

int adw_control_mark(struct adw_control *c, long long id, const char *status, const char *reason,
		     struct adw_err *err)
{
	char ids[32];
	const char *params[3] = {ids, status, reason};

	snprintf(ids, sizeof(ids), "%lld", id);
	return adw_db_exec(c->conn,
			   "UPDATE adw_messages SET action_status = $2, status_reason = "
			   "COALESCE($3, status_reason), processed_at = clock_timestamp() "
			   "WHERE id = $1::bigint",
			   3, params, err);
}
