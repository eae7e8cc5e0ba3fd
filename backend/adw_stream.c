/* SPDX-License-Identifier: MIT */
/* Server-Sent Events from the event log: one LISTEN thread, a shared ring, suspended clients. */
#include "adw_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adw_buf.h"
#include "adw_db.h"
#include "adw_http.h"
#include "adw_log.h"
#include "adw_store.h"

#define FETCH_PAGE 1000	 /* events per streamer query */
#define BACKSTOP_MS 1000 /* read new events at least this often (a lost NOTIFY) */
#define OUT_TARGET 65536 /* bytes gathered per reader call */

enum topic {
	TOPIC_ADWS = 1 << 0,   /* events of an ADW */
	TOPIC_AGENTS = 1 << 1, /* events of an agent, AgentCreated/AgentUpdated */
	TOPIC_CHAT = 1 << 2,   /* chat messages */
	TOPIC_SYSTEM = 1 << 3, /* everything else */
	TOPIC_ALL = 0xf,
};

struct entry {
	long long id;
	char adw_id[37];
	char agent_id[37];
	unsigned topics;
	char *frame; /* "id: N\nevent: T\ndata: {...}\n\n" */
	size_t len;
};

struct sub {
	struct adw_stream *st;
	struct MHD_Connection *conn;
	long long cursor; /* the last event id sent (or skipped by a filter) */
	char adw_id[37];  /* filter; "" = any */
	char agent_id[37];
	unsigned topics;
	bool live;	/* has read from the ring: falling behind means resync */
	bool suspended; /* MHD_suspend_connection()ed; the streamer resumes it */
	bool closing;	/* the stream ends after out is sent */
	bool started;	/* "retry:" sent */
	struct adw_buf out;
	size_t out_off;
	long long last_write_ms;
	struct sub *prev, *next;
};

struct adw_stream {
	const struct adw_config *cfg;
	char *conninfo;
	PGconn *conn; /* the streamer's own: LISTEN adw_events */
	pthread_t thread;
	int wake[2];
	volatile int stopping;

	pthread_mutex_t lock; /* guards everything below */
	struct entry *ring;
	size_t cap, start, count; /* circular buffer of the newest events */
	long long ping_ms;	  /* ": ping" after this long idle (ADW_STREAM_PING_MS) */
	long long floor;	  /* every event with id > floor is in the ring */
	long long head;		  /* the newest id read */
	bool ready;		  /* floor/head are known */
	struct sub *subs;
	int nsubs;
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned topics_of(const char *adw_id, const char *agent_id, const char *category,
			  const char *type)
{
	unsigned t = 0;

	if (adw_id && *adw_id)
		t |= TOPIC_ADWS;
	if ((agent_id && *agent_id) || strncmp(type, "Agent", 5) == 0)
		t |= TOPIC_AGENTS;
	if (strcmp(category, "chat") == 0)
		t |= TOPIC_CHAT;
	if (!(adw_id && *adw_id) && strcmp(category, "chat") != 0)
		t |= TOPIC_SYSTEM;
	return t;
}

static bool matches(const struct sub *s, const char *adw_id, const char *agent_id, unsigned topics)
{
	if (s->adw_id[0] && strcmp(s->adw_id, adw_id) != 0)
		return false;
	if (s->agent_id[0] && strcmp(s->agent_id, agent_id) != 0)
		return false;
	return (topics & s->topics) != 0;
}

static char *render(const char *id, const char *type, const char *json, size_t *len)
{
	char *f = adw_xasprintf("id: %s\nevent: %s\ndata: %s\n\n", id, type, json);
	char *t = f + strlen("id: ") + strlen(id) + strlen("\nevent: ");

	/* A type is free text in the table: keep a stray CR or LF from breaking the frame. */
	for (size_t i = 0; i < strlen(type); i++) {
		if (t[i] == '\r' || t[i] == '\n')
			t[i] = '_';
	}
	*len = strlen(f);
	return f;
}

/* The SQL of both readers: the same columns in the same order. */
#define EVENT_COLUMNS                                                                              \
	"SELECT e.id, COALESCE(e.adw_id::text, ''), COALESCE(e.agent_id::text, ''), e.category, "  \
	"e.type, event_json(e)::text FROM events e "

/* ---- the streamer thread ---------------------------------------------------------------- */

static void resume(struct sub *s)
{
	if (s->suspended) {
		s->suspended = false;
		MHD_resume_connection(s->conn);
	}
}

static bool connect_db(struct adw_stream *st)
{
	struct adw_err err = {0};
	PGresult *res;

	if (st->conn && PQstatus(st->conn) == CONNECTION_OK)
		return true;
	PQfinish(st->conn);
	st->conn = adw_db_connect(st->conninfo, &err);
	if (!st->conn)
		return false;
	if (adw_db_exec(st->conn, "LISTEN adw_events", 0, NULL, &err) < 0)
		goto fail;
	if (!st->ready) {
		res = adw_db_query(st->conn, "SELECT COALESCE(max(id), 0) FROM events", 0, NULL,
				   &err);
		if (!res)
			goto fail;
		pthread_mutex_lock(&st->lock);
		st->floor = st->head = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		st->ready = true;
		for (struct sub *s = st->subs; s; s = s->next)
			resume(s);
		pthread_mutex_unlock(&st->lock);
		PQclear(res);
	}
	return true;
fail:
	PQfinish(st->conn);
	st->conn = NULL;
	return false;
}

static void ring_push(struct adw_stream *st, const PGresult *res, int row)
{
	struct entry *e;

	if (st->count == st->cap) {
		e = &st->ring[st->start];
		st->floor = e->id;
		free(e->frame);
		st->start = (st->start + 1) % st->cap;
		st->count--;
	}
	e = &st->ring[(st->start + st->count) % st->cap];
	e->id = strtoll(PQgetvalue(res, row, 0), NULL, 10);
	snprintf(e->adw_id, sizeof(e->adw_id), "%s", PQgetvalue(res, row, 1));
	snprintf(e->agent_id, sizeof(e->agent_id), "%s", PQgetvalue(res, row, 2));
	e->topics =
	    topics_of(e->adw_id, e->agent_id, PQgetvalue(res, row, 3), PQgetvalue(res, row, 4));
	e->frame = render(PQgetvalue(res, row, 0), PQgetvalue(res, row, 4), PQgetvalue(res, row, 5),
			  &e->len);
	st->count++;
	st->head = e->id;
}

/* Reads every event after head into the ring and wakes the clients. */
static void fetch(struct adw_stream *st)
{
	struct adw_err err = {0};
	char after[32], limit[16];
	const char *params[2] = {after, limit};
	int n;

	snprintf(limit, sizeof(limit), "%d", FETCH_PAGE);
	do {
		PGresult *res;

		pthread_mutex_lock(&st->lock);
		snprintf(after, sizeof(after), "%lld", st->head);
		pthread_mutex_unlock(&st->lock);
		res = adw_db_query(
		    st->conn, EVENT_COLUMNS "WHERE e.id > $1::bigint ORDER BY e.id LIMIT $2::int",
		    2, params, &err);
		if (!res)
			return;
		n = PQntuples(res);
		pthread_mutex_lock(&st->lock);
		for (int i = 0; i < n; i++)
			ring_push(st, res, i);
		if (n) {
			for (struct sub *s = st->subs; s; s = s->next)
				resume(s);
		}
		pthread_mutex_unlock(&st->lock);
		PQclear(res);
	} while (n == FETCH_PAGE && !st->stopping);
}

static void ping_idle(struct adw_stream *st)
{
	long long now = mono_ms();

	pthread_mutex_lock(&st->lock);
	for (struct sub *s = st->subs; s; s = s->next) {
		if (s->suspended && now - s->last_write_ms >= st->ping_ms)
			resume(s);
	}
	pthread_mutex_unlock(&st->lock);
}

static void *run(void *arg)
{
	struct adw_stream *st = arg;
	long long last_fetch = 0, last_ping = 0;

	while (!st->stopping) {
		struct pollfd fds[2] = {{.fd = st->wake[0], .events = POLLIN},
					{.fd = -1, .events = POLLIN}};
		bool notified = false;

		if (!connect_db(st)) {
			/* Back off; clients keep their cursors and catch up afterwards. */
			poll(fds, 1, 1000);
			continue;
		}
		fds[1].fd = PQsocket(st->conn);
		if (poll(fds, 2, 250) < 0 && errno != EINTR)
			break;
		if (st->stopping)
			break;
		if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			PGnotify *nt;

			if (!PQconsumeInput(st->conn)) {
				adw_log_warn("stream: database connection lost; reconnecting");
				PQfinish(st->conn);
				st->conn = NULL;
				continue;
			}
			while ((nt = PQnotifies(st->conn))) {
				PQfreemem(nt);
				notified = true;
			}
		}
		if (notified || mono_ms() - last_fetch >= BACKSTOP_MS) {
			PGnotify *nt;

			/* Fetch again while notifications arrived during the fetch. */
			do {
				notified = false;
				fetch(st);
				last_fetch = mono_ms();
				while (st->conn && (nt = PQnotifies(st->conn))) {
					PQfreemem(nt);
					notified = true;
				}
			} while (notified && !st->stopping);
		}
		if (mono_ms() - last_ping >= (st->ping_ms < 2000 ? st->ping_ms / 2 : 1000)) {
			ping_idle(st);
			last_ping = mono_ms();
		}
	}
	return NULL;
}

/* ---- clients ------------------------------------------------------------------------------ */

/* First ring index whose id is > cursor (count when none); lock held. */
static size_t ring_after(const struct adw_stream *st, long long cursor)
{
	size_t lo = 0, hi = st->count;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (st->ring[(st->start + mid) % st->cap].id <= cursor)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Catch-up from the table for a client behind the ring; lock not held. */
static int catch_up(struct sub *s, long long upto)
{
	struct adw_err err = {0};
	PGconn *conn = adw_http_thread_db(s->st->conninfo, &err);
	char after[32], until[32], limit[16];
	const char *params[5] = {after, until, s->adw_id[0] ? s->adw_id : NULL,
				 s->agent_id[0] ? s->agent_id : NULL, limit};
	PGresult *res;
	int n;

	if (!conn)
		return -1;
	snprintf(after, sizeof(after), "%lld", s->cursor);
	snprintf(until, sizeof(until), "%lld", upto);
	snprintf(limit, sizeof(limit), "%d", ADW_STREAM_CATCHUP_PAGE);
	res = adw_db_query(conn,
			   EVENT_COLUMNS "WHERE e.id > $1::bigint AND e.id <= $2::bigint "
					 "AND ($3::uuid IS NULL OR e.adw_id = $3::uuid) "
					 "AND ($4::uuid IS NULL OR e.agent_id = $4::uuid) "
					 "ORDER BY e.id LIMIT $5::int",
			   5, params, &err);
	if (!res)
		return -1;
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		unsigned t = topics_of(PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
				       PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));

		if (t & s->topics) {
			size_t len;
			char *f = render(PQgetvalue(res, i, 0), PQgetvalue(res, i, 4),
					 PQgetvalue(res, i, 5), &len);

			if (adw_buf_add(&s->out, f, len) < 0)
				adw_bug("stream buffer without a cap failed");
			free(f);
		}
		s->cursor = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	}
	if (n < ADW_STREAM_CATCHUP_PAGE)
		s->cursor = upto; /* nothing else up to the ring */
	PQclear(res);
	return 0;
}

static void add_text(struct sub *s, const char *text)
{
	if (adw_buf_adds(&s->out, text) < 0)
		adw_bug("stream buffer without a cap failed");
}

static ssize_t on_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sub *s = cls;
	struct adw_stream *st = s->st;
	size_t n;

	pthread_mutex_lock(&st->lock);
	for (;;) {
		if (s->out_off < s->out.len)
			break;
		adw_buf_reset(&s->out);
		s->out_off = 0;
		if (s->closing) {
			pthread_mutex_unlock(&st->lock);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		if (!s->started) {
			char retry[64];

			snprintf(retry, sizeof(retry), "retry: %d\n\n", ADW_STREAM_RETRY_MS);
			add_text(s, retry);
			s->started = true;
			break;
		}
		if (st->ready && s->cursor < st->floor) {
			long long upto = st->floor;

			if (s->live) {
				/* Fell more than the ring behind: the client resumes from its
				 * cursor. */
				char *msg = adw_xasprintf(
				    "event: resync\ndata: {\"reason\":\"client too slow\","
				    "\"last_event_id\":%lld}\n\n",
				    s->cursor);

				add_text(s, msg);
				free(msg);
				s->closing = true;
				break;
			}
			pthread_mutex_unlock(&st->lock);
			if (catch_up(s, upto) < 0) {
				char *msg;

				pthread_mutex_lock(&st->lock);
				msg = adw_xasprintf(
				    "event: resync\ndata: {\"reason\":\"database unavailable\","
				    "\"last_event_id\":%lld}\n\n",
				    s->cursor);

				add_text(s, msg);
				free(msg);
				s->closing = true;
				break;
			}
			pthread_mutex_lock(&st->lock);
			if (s->out.len)
				break;
			continue;
		}
		if (st->ready) {
			for (size_t i = ring_after(st, s->cursor);
			     i < st->count && s->out.len < OUT_TARGET; i++) {
				const struct entry *e = &st->ring[(st->start + i) % st->cap];

				if (matches(s, e->adw_id, e->agent_id, e->topics))
					add_text(s, e->frame);
				s->cursor = e->id;
			}
			s->live = true;
			if (s->out.len)
				break;
		}
		if (mono_ms() - s->last_write_ms >= st->ping_ms) {
			add_text(s, ": ping\n\n");
			break;
		}
		/* Nothing to send: sleep until the streamer has news (or a ping is due). */
		s->suspended = true;
		MHD_suspend_connection(s->conn);
		pthread_mutex_unlock(&st->lock);
		return 0;
	}
	n = s->out.len - s->out_off;
	if (n > max)
		n = max;
	memcpy(buf, s->out.data + s->out_off, n);
	s->out_off += n;
	s->last_write_ms = mono_ms();
	pthread_mutex_unlock(&st->lock);
	return (ssize_t)n;
}

static void on_free(void *cls)
{
	struct sub *s = cls;
	struct adw_stream *st = s->st;

	pthread_mutex_lock(&st->lock);
	if (s->prev)
		s->prev->next = s->next;
	else
		st->subs = s->next;
	if (s->next)
		s->next->prev = s->prev;
	st->nsubs--;
	pthread_mutex_unlock(&st->lock);
	adw_buf_release(&s->out);
	free(s);
}

static int parse_topics(const char *v, unsigned *out, struct adw_err *err)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {{"adws", TOPIC_ADWS},
		     {"agents", TOPIC_AGENTS},
		     {"chat", TOPIC_CHAT},
		     {"system", TOPIC_SYSTEM},
		     {"all", TOPIC_ALL}};
	const char *p = v;

	*out = 0;
	while (*p) {
		size_t n = strcspn(p, ",");
		bool known = false;

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (strlen(names[i].name) == n && strncmp(p, names[i].name, n) == 0) {
				*out |= names[i].bit;
				known = true;
			}
		}
		if (!known && n)
			return adw_err_set(
			    err, ADW_ERR_INVALID,
			    "unknown topic '%.*s' (known: adws, agents, chat, system)", (int)n, p);
		p += n;
		if (*p == ',')
			p++;
	}
	if (!*out)
		*out = TOPIC_ALL;
	return 0;
}

static int parse_cursor(const char *v, long long *out, struct adw_err *err)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || *end || end == v || n < 0)
		return adw_err_set(err, ADW_ERR_MALFORMED, "bad event id '%s'", v);
	*out = n;
	return 0;
}

bool adw_stream_serve(struct adw_stream *st, struct MHD_Connection *conn,
		      const struct adw_request *req, struct adw_err *err)
{
	const char *last = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID");
	const char *after = adw_request_arg(req, "after");
	const char *adw_id = adw_request_arg(req, "adw_id");
	const char *agent_id = adw_request_arg(req, "agent_id");
	const char *topics = adw_request_arg(req, "topics");
	struct MHD_Response *resp;
	struct sub *s = adw_xcalloc(1, sizeof(*s));
	long long cursor = -1;

	/* Last-Event-ID (a reconnecting EventSource) wins over ?after=. */
	if (last && *last) {
		if (parse_cursor(last, &cursor, err) < 0)
			goto fail;
	} else if (after && *after) {
		if (parse_cursor(after, &cursor, err) < 0)
			goto fail;
	}
	if (adw_id && *adw_id && !adw_store_is_uuid(adw_id)) {
		adw_err_set(err, ADW_ERR_INVALID, "adw_id '%s' is not a uuid", adw_id);
		goto fail;
	}
	if (agent_id && *agent_id && !adw_store_is_uuid(agent_id)) {
		adw_err_set(err, ADW_ERR_INVALID, "agent_id '%s' is not a uuid", agent_id);
		goto fail;
	}
	if (parse_topics(topics ? topics : "", &s->topics, err) < 0)
		goto fail;
	snprintf(s->adw_id, sizeof(s->adw_id), "%s", adw_id ? adw_id : "");
	snprintf(s->agent_id, sizeof(s->agent_id), "%s", agent_id ? agent_id : "");
	s->st = st;
	s->conn = conn;
	adw_buf_init(&s->out, 0);
	s->last_write_ms = mono_ms();
	pthread_mutex_lock(&st->lock);
	/* No cursor: only what happens from now on. */
	s->cursor = cursor >= 0 ? cursor : st->head;
	s->next = st->subs;
	if (st->subs)
		st->subs->prev = s;
	st->subs = s;
	st->nsubs++;
	pthread_mutex_unlock(&st->lock);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, on_read, s, on_free);
	MHD_add_response_header(resp, "Content-Type", "text/event-stream; charset=utf-8");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return true;
fail:
	free(s);
	return false;
}

int adw_stream_clients(struct adw_stream *st)
{
	int n;

	pthread_mutex_lock(&st->lock);
	n = st->nsubs;
	pthread_mutex_unlock(&st->lock);
	return n;
}

struct adw_stream *adw_stream_start(const struct adw_config *cfg, const char *conninfo,
				    struct adw_err *err)
{
	struct adw_stream *st = adw_xcalloc(1, sizeof(*st));
	const char *ring = getenv("ADW_STREAM_RING");

	st->cfg = cfg;
	st->conninfo = adw_xstrdup(conninfo);
	st->cap = ADW_STREAM_RING;
	if (ring && *ring) {
		long v = strtol(ring, NULL, 10);

		if (v >= 16 && v <= 10000000)
			st->cap = (size_t)v;
	}
	st->ring = adw_xcalloc(st->cap, sizeof(*st->ring));
	st->ping_ms = ADW_STREAM_PING_MS;
	if (getenv("ADW_STREAM_PING_MS")) {
		long v = strtol(getenv("ADW_STREAM_PING_MS"), NULL, 10);

		if (v >= 100 && v <= 3600000)
			st->ping_ms = v;
	}
	pthread_mutex_init(&st->lock, NULL);
	if (pipe2(st->wake, O_CLOEXEC) < 0) {
		adw_err_set(err, ADW_ERR_INTERNAL, "pipe: %s", strerror(errno));
		goto fail;
	}
	if (!connect_db(st)) {
		adw_err_set(err, ADW_ERR_UNAVAILABLE, "the event stream cannot reach the database");
		goto fail_pipe;
	}
	if (pthread_create(&st->thread, NULL, run, st) != 0) {
		adw_err_set(err, ADW_ERR_INTERNAL, "cannot start the stream thread");
		goto fail_pipe;
	}
	return st;
fail_pipe:
	close(st->wake[0]);
	close(st->wake[1]);
fail:
	PQfinish(st->conn);
	pthread_mutex_destroy(&st->lock);
	free(st->ring);
	free(st->conninfo);
	free(st);
	return NULL;
}

void adw_stream_close_all(struct adw_stream *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	for (struct sub *s = st->subs; s; s = s->next) {
		s->closing = true;
		resume(s);
	}
	pthread_mutex_unlock(&st->lock);
}

void adw_stream_stop(struct adw_stream *st)
{
	if (!st)
		return;
	st->stopping = 1;
	if (write(st->wake[1], "x", 1) < 0)
		adw_log_warn("stream: wake: %s", strerror(errno));
	pthread_join(st->thread, NULL);
	for (size_t i = 0; i < st->count; i++)
		free(st->ring[(st->start + i) % st->cap].frame);
	free(st->ring);
	close(st->wake[0]);
	close(st->wake[1]);
	PQfinish(st->conn);
	pthread_mutex_destroy(&st->lock);
	free(st->conninfo);
	free(st);
}
