/* SPDX-License-Identifier: MIT */
/*
 * Spill files: where adw-run keeps event batches the database cannot take
 * during an outage once its memory buffer (ADW_EVENT_BUFFER_BYTES) is full,
 * until they are written back.
 *
 * A writer (one adw-run) owns one file, $ADW_HOME/spill/<adw-id>.<pid>.jsonl,
 * and holds flock(LOCK_EX) on it for as long as it lives: a file whose lock
 * is free belongs to a writer that is gone, and is an orphan any process of
 * the machine may write back (adw-run at its start, its supervisor after it
 * ended, a supervisor at its start). Each line is one batch:
 * "<batch key uuid>\t<JSON array of rows>\n", fsync'd before the batch is
 * dropped from memory. Written back through adw_events_append(rows, key),
 * each batch goes in at most once however often, and by whom, it is
 * replayed (migration 009). A file holding a line the database refuses as
 * data is renamed *.bad and logged, never retried forever.
 *
 * Files are local to the machine: a spill file outlives its writer and its
 * supervisor on disk and is written back when a supervisor of the same
 * ADW_HOME starts again; a machine lost with its disk loses them.
 *
 * Not thread-safe: one struct adw_spill per writer, used by one thread.
 */
#ifndef ADW_SPILL_H
#define ADW_SPILL_H

#include <libpq-fe.h>

#include "adw_err.h"
#include "adw_event.h"

/* The writer's own file. Zero-initialise, or adw_spill_init(). */
struct adw_spill {
	char *path; /* NULL until the first batch is spilled (owned) */
	int fd;	    /* open and flock'd while path is set; -1 otherwise */
	int events; /* events in the file not written back yet */
};

/** Initialises sp with no file. */
void adw_spill_init(struct adw_spill *sp);

/**
 * Appends batch b (with its key) as one line to sp's file, creating
 * <home>/spill/ (0700) and the file (0600) on first use, and fsyncs it.
 * b is left as it was (the caller empties it). Returns 0; -1 with err
 * (ADW_ERR_INTERNAL: errno text) when the line could not be made durable
 * — the caller then still holds the batch.
 */
int adw_spill_append(struct adw_spill *sp, const char *home, const char *adw_id,
		     const struct adw_event_batch *b, struct adw_err *err) ADW_MUST_CHECK;

/**
 * Writes back every batch of sp's own file in one transaction of its own
 * (conn must not be inside one: the file is emptied only after COMMIT),
 * then empties the file. *events (may be
 * NULL) gets the number of events the file held. Returns 0 (also when
 * there is no file); -1 with err when the database refused (the file is
 * kept as it was).
 */
int adw_spill_replay(struct adw_spill *sp, PGconn *conn, int *events,
		     struct adw_err *err) ADW_MUST_CHECK;

/** Closes sp's file, removing it when nothing is left in it. NULL-safe. */
void adw_spill_close(struct adw_spill *sp);

/**
 * Writes back the orphaned spill files under <home>/spill/ — of ADW adw_id,
 * or of every ADW when adw_id is NULL — skipping files whose writer is
 * alive (locked), each file in its own transaction and removed once
 * written. *events (may be NULL) gets the number of events written back.
 * Returns 0; -1 with err when the database is unavailable (the files stay
 * for a later call). Files refused as data are renamed *.bad (logged).
 * conn must not be inside a transaction.
 */
int adw_spill_replay_orphans(PGconn *conn, const char *home, const char *adw_id, int *events,
			     struct adw_err *err) ADW_MUST_CHECK;

#endif
