/* SPDX-License-Identifier: MIT */
/* Spill files of event batches during database outages (see adw_spill.h). */
#include "adw_spill.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adw_db.h"
#include "adw_log.h"
#include "adw_mem.h"

#define KEY_LEN 36 /* a uuid's text */

void adw_spill_init(struct adw_spill *sp)
{
	sp->path = NULL;
	sp->fd = -1;
	sp->events = 0;
}

/* Opens and locks the writer's file; retried when a replayer removed it first. */
static int open_own(struct adw_spill *sp, const char *home, const char *adw_id, struct adw_err *err)
{
	char *dir = adw_xasprintf("%s/spill", home);
	int rc = -1;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		adw_err_set(err, ADW_ERR_INTERNAL, "cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	sp->path = adw_xasprintf("%s/%s.%d.jsonl", dir, adw_id, (int)getpid());
	for (int attempt = 0; attempt < 5; attempt++) {
		struct stat st;

		sp->fd = open(sp->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (sp->fd < 0)
			break;
		/*
		 * Between open() and flock() a replayer may have taken the
		 * (empty, unlocked) file and removed it: then open it anew.
		 */
		if (flock(sp->fd, LOCK_EX) == 0 && fstat(sp->fd, &st) == 0 && st.st_nlink > 0) {
			rc = 0;
			goto out;
		}
		close(sp->fd);
		sp->fd = -1;
	}
	adw_err_set(err, ADW_ERR_INTERNAL, "cannot open %s: %s", sp->path, strerror(errno));
	free(sp->path);
	sp->path = NULL;
out:
	free(dir);
	return rc;
}

int adw_spill_append(struct adw_spill *sp, const char *home, const char *adw_id,
		     const struct adw_event_batch *b, struct adw_err *err)
{
	char *rows, *line;
	size_t len, off = 0;
	off_t before;
	int rc = -1;

	if (b->n == 0)
		return 0;
	if (!sp->path && open_own(sp, home, adw_id, err) < 0)
		return -1;
	rows = cJSON_PrintUnformatted(b->rows);
	adw_event_fix_utf8(rows);
	line = adw_xasprintf("%s\t%s\n", b->key, rows);
	len = strlen(line);
	before = lseek(sp->fd, 0, SEEK_END);
	while (off < len) {
		ssize_t w = write(sp->fd, line + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto io_error;
		off += (size_t)w;
	}
	if (fsync(sp->fd) < 0)
		goto io_error;
	sp->events += b->n;
	rc = 0;
	goto out;
io_error:
	adw_err_set(err, ADW_ERR_INTERNAL, "cannot write %s: %s", sp->path, strerror(errno));
	/* No partial line may stay for the next batch to be appended to. */
	if (before >= 0 && ftruncate(sp->fd, before) < 0)
		adw_log_error("%s: cannot cut a partial line: %s", sp->path, strerror(errno));
out:
	free(line);
	free(rows);
	return rc;
}

/*
 * Writes back the lines of the file open at fd (read from its start), in
 * one transaction (conn must not be inside one). *events gets the rows sent.
 * A last line without its newline was cut by a crash mid-write: it was
 * never confirmed to its writer, and is skipped.
 */
static int replay_fd(PGconn *conn, int fd, const char *path, int *events, struct adw_err *err)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0, n = 0, rfd;

	*events = 0;
	rfd = dup(fd);
	if (rfd < 0 || lseek(rfd, 0, SEEK_SET) < 0 || !(f = fdopen(rfd, "r"))) {
		adw_err_set(err, ADW_ERR_INTERNAL, "cannot read %s: %s", path, strerror(errno));
		if (rfd >= 0)
			close(rfd);
		return -1;
	}
	/* Its own transaction: the file is emptied only once the rows have committed. */
	if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
		adw_err_set(err, ADW_ERR_INTERNAL, "%s: not written back inside a transaction",
			    path);
		fclose(f);
		return -1;
	}
	if (adw_db_exec(conn, "BEGIN", 0, NULL, err) < 0) {
		fclose(f);
		return -1;
	}
	while (rc == 0 && (len = getline(&line, &cap, f)) > 0) {
		const char *rows = line, *key = NULL;
		cJSON *parsed;

		if (line[len - 1] != '\n') {
			adw_log_warn("%s: a batch cut by a crash mid-write is skipped", path);
			break;
		}
		line[len - 1] = '\0';
		/* "<key>\t<rows>", or "<rows>" as written before batch keys. */
		if (len > KEY_LEN + 1 && line[KEY_LEN] == '\t') {
			line[KEY_LEN] = '\0';
			key = line;
			rows = line + KEY_LEN + 1;
		}
		parsed = cJSON_Parse(rows);
		if (!cJSON_IsArray(parsed)) {
			adw_err_set(err, ADW_ERR_INVALID, "%s holds a line that is not a batch",
				    path);
			rc = -1;
		} else {
			n += cJSON_GetArraySize(parsed);
			rc = adw_event_append_json(conn, rows, key, NULL, err);
		}
		cJSON_Delete(parsed);
	}
	free(line);
	fclose(f);
	if (rc == 0)
		rc = adw_db_exec(conn, "COMMIT", 0, NULL, err);
	if (rc < 0) {
		if (PQstatus(conn) == CONNECTION_OK)
			PQclear(PQexec(conn, "ROLLBACK"));
		return -1;
	}
	*events = n;
	return 0;
}

int adw_spill_replay(struct adw_spill *sp, PGconn *conn, int *events, struct adw_err *err)
{
	int n = 0;

	if (events)
		*events = 0;
	if (!sp->path || sp->events == 0)
		return 0;
	if (replay_fd(conn, sp->fd, sp->path, &n, err) < 0)
		return -1;
	if (ftruncate(sp->fd, 0) < 0)
		adw_log_warn(
		    "%s: cannot empty it (its batches are written; a replay is harmless): %s",
		    sp->path, strerror(errno));
	sp->events = 0;
	if (events)
		*events = n;
	return 0;
}

void adw_spill_close(struct adw_spill *sp)
{
	struct stat st;

	if (!sp || !sp->path)
		return;
	if (fstat(sp->fd, &st) == 0 && st.st_size == 0)
		unlink(sp->path);
	close(sp->fd);
	free(sp->path);
	adw_spill_init(sp);
}

/* Is name "<uuid>.<anything>jsonl" (of adw_id when not NULL)? */
static bool is_spill_name(const char *name, const char *adw_id)
{
	size_t len = strlen(name);

	if (len < KEY_LEN + 7 || name[KEY_LEN] != '.' || strcmp(name + len - 6, ".jsonl") != 0)
		return false;
	if (adw_id)
		return strncmp(name, adw_id, KEY_LEN) == 0;
	for (int i = 0; i < KEY_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? name[i] != '-' : !strchr("0123456789abcdef", name[i]))
			return false;
	}
	return true;
}

int adw_spill_replay_orphans(PGconn *conn, const char *home, const char *adw_id, int *events,
			     struct adw_err *err)
{
	char *dir = adw_xasprintf("%s/spill", home);
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0, total = 0;

	if (events)
		*events = 0;
	if (!d)
		goto out; /* nothing was ever spilled here */
	while (rc == 0 && (de = readdir(d))) {
		char *path;
		int fd, n = 0;

		if (!is_spill_name(de->d_name, adw_id))
			continue;
		path = adw_xasprintf("%s/%s", dir, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
			/* Gone meanwhile, or its writer is alive: its business. */
			if (fd >= 0)
				close(fd);
			free(path);
			continue;
		}
		if (replay_fd(conn, fd, path, &n, err) == 0) {
			unlink(path);
			total += n;
			if (n)
				adw_log_info("%s: %d spilled events written back", path, n);
		} else if (err->code != ADW_ERR_UNAVAILABLE && PQstatus(conn) == CONNECTION_OK) {
			char *bad = adw_xasprintf("%s.bad", path);

			adw_log_error("%s: refused by the database (%s); kept as %s", path,
				      err->msg, bad);
			if (rename(path, bad) < 0)
				adw_log_error("cannot rename %s: %s", path, strerror(errno));
			free(bad);
		} else {
			rc = -1;
		}
		close(fd); /* drops the lock */
		free(path);
	}
	closedir(d);
out:
	free(dir);
	if (events)
		*events = total;
	return rc;
}
