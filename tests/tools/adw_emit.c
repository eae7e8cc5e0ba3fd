/* SPDX-License-Identifier: MIT */
/*
 * adw-emit: writes events through adw's own write path (adw_event_batch,
 * the path adw-run uses) for stream tests and benchmarks.
 *
 *   adw-emit --count N [--batch B] [--size BYTES] [--rate EVENTS_PER_S] [--tag T] [--adw-id UUID]
 *
 * Event i has type "TestEvent", category system, content "<tag>:<i>" padded
 * to --size bytes, and payload {"tag": T, "seq": i, "t_us": <wall clock µs
 * at write>}. Connects with DATABASE_URL. Exit 0 when every event was
 * written, 1 otherwise.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "adw_db.h"
#include "adw_event.h"

static long long now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"count", required_argument, NULL, 'n'},
	    {"batch", required_argument, NULL, 'b'},
	    {"size", required_argument, NULL, 's'},
	    {"rate", required_argument, NULL, 'r'},
	    {"tag", required_argument, NULL, 't'},
	    {"adw-id", required_argument, NULL, 'a'},
	    {NULL, 0, NULL, 0},
	};
	long count = 0, batch = 64, size = 0, rate = 0;
	const char *tag = "emit", *adw_id = NULL, *url = getenv("DATABASE_URL");
	struct adw_event_batch b;
	struct adw_err err = {0};
	PGconn *conn;
	char *pad = NULL;
	long long start;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': count = strtol(optarg, NULL, 10); break;
		case 'b': batch = strtol(optarg, NULL, 10); break;
		case 's': size = strtol(optarg, NULL, 10); break;
		case 'r': rate = strtol(optarg, NULL, 10); break;
		case 't': tag = optarg; break;
		case 'a': adw_id = optarg; break;
		default: return 2;
		}
	}
	if (count <= 0 || batch <= 0 || size < 0 || !url) {
		fprintf(stderr, "adw: usage: DATABASE_URL=... adw-emit --count N [--batch B] "
				"[--size BYTES] [--rate N] [--tag T] [--adw-id UUID]\n");
		return 2;
	}
	conn = adw_db_connect(url, &err);
	if (!conn) {
		fprintf(stderr, "adw: %s\n", err.msg);
		return 1;
	}
	if (size > 0) {
		pad = malloc((size_t)size + 1);
		memset(pad, 'x', (size_t)size);
		pad[size] = '\0';
	}
	adw_event_batch_init(&b);
	start = now_us();
	for (long i = 0; i < count; i++) {
		cJSON *payload = cJSON_CreateObject();
		char *content = adw_xasprintf("%s:%ld%s%s", tag, i, pad ? " " : "", pad ? pad : "");
		struct adw_event ev = {.adw_id = adw_id,
				       .category = ADW_CAT_SYSTEM,
				       .type = "TestEvent",
				       .content = content};

		if (rate > 0) {
			long long due = start + (long long)((double)i * 1e6 / (double)rate);
			long long wait = due - now_us();

			if (wait > 0) {
				if (b.n && adw_event_batch_flush(conn, &b, NULL, &err) < 0)
					goto fail;
				usleep((useconds_t)wait);
			}
		}
		cJSON_AddStringToObject(payload, "tag", tag);
		cJSON_AddNumberToObject(payload, "seq", (double)i);
		cJSON_AddNumberToObject(payload, "t_us", (double)now_us());
		ev.payload = payload;
		adw_event_batch_add(&b, &ev);
		cJSON_Delete(payload);
		free(content);
		if (b.n >= batch && adw_event_batch_flush(conn, &b, NULL, &err) < 0)
			goto fail;
	}
	if (adw_event_batch_flush(conn, &b, NULL, &err) < 0)
		goto fail;
	adw_event_batch_release(&b);
	PQfinish(conn);
	free(pad);
	return 0;
fail:
	fprintf(stderr, "adw: emit: %s\n", err.msg);
	adw_event_batch_release(&b);
	PQfinish(conn);
	free(pad);
	return 1;
}
