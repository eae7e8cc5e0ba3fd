/* SPDX-License-Identifier: MIT */
/* Claims pending ADWs, spawns adw-run children, reaps them. */
#include "adw_supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adw_db.h"
#include "adw_log.h"
#include "adw_proc.h"
#include "adw_spill.h"
#include "adw_store.h"
#include "adw_thread.h"

#define BACKSTOP_MS 1000    /* poll for work even without a notification */
#define HEARTBEAT_MS 2000   /* refresh our ADWs' heartbeat and look for lost ones this often */
#define LOST_GRACE_MS 10000 /* no lost-ADW scan this soon after (re)connecting */
#define LOST_STALE_S 6	    /* a running ADW with no heartbeat for this long and no lock is lost */
#define EXPIRE_MS 1000	    /* look for pauses of unstarted ADWs that timed out this often */
#define TICK_MS 200	    /* reap children at least this often */

struct child {
	char *id;
	pid_t pid;
	int pidfd;    /* readable when the child ends (pidfd_open); -1 if unavailable */
	bool adopted; /* not our child: watched with kill(pid, 0) */
};

struct adw_supervisor {
	const struct adw_config *cfg;
	char *conninfo;
	PGconn *conn;
	pthread_t thread;
	int wake[2]; /* self-pipe: stop requests */
	volatile int stopping;
	struct child *children;
	int nchildren;
	char host[256];
	char *log_dir;
	long long connected_at; /* monotonic ms of the last (re)connection */
	long long retry_at;	/* monotonic ms before which no new connection is tried */
	long long retry_ms;	/* the current backoff; 0 = connected or never failed */
	struct owed *owed;	/* verdicts on ended children not stored yet (settle()) */
	int nowed;
};

/* A pollable handle on pid's exit, so a reap never waits for the next tick. */
static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
#else
	(void)pid;
	return -1;
#endif
}

static void child_add(struct adw_supervisor *s, const char *id, pid_t pid, bool adopted)
{
	s->children = adw_xrealloc(s->children, (size_t)(s->nchildren + 1) * sizeof(*s->children));
	s->children[s->nchildren].id = adw_xstrdup(id);
	s->children[s->nchildren].pid = pid;
	s->children[s->nchildren].pidfd = open_pidfd(pid);
	s->children[s->nchildren].adopted = adopted;
	s->nchildren++;
}

static void child_remove(struct adw_supervisor *s, int i)
{
	if (s->children[i].pidfd >= 0)
		close(s->children[i].pidfd);
	free(s->children[i].id);
	s->children[i] = s->children[--s->nchildren];
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Makes sure the supervisor's connection is up. While the database is away
 * it tries again with backoff (100 ms doubling to 2 s), not on every tick.
 */
static bool connect_db(struct adw_supervisor *s)
{
	struct adw_err err = {0};
	long long now = mono_ms();

	if (s->conn && PQstatus(s->conn) == CONNECTION_OK)
		return true;
	if (now < s->retry_at)
		return false;
	PQfinish(s->conn);
	s->conn = adw_db_connect(s->conninfo, &err);
	if (!s->conn) {
		if (!s->retry_ms)
			adw_log_warn("supervisor: %s (trying again with backoff)", err.msg);
		s->retry_ms = s->retry_ms ? (s->retry_ms * 2 > 2000 ? 2000 : s->retry_ms * 2) : 100;
		s->retry_at = mono_ms() + s->retry_ms;
		return false;
	}
	if (s->retry_ms)
		adw_log_info("supervisor: the database is back");
	s->retry_ms = 0;
	s->connected_at = mono_ms();
	if (adw_db_exec(s->conn, "LISTEN adw_pending", 0, NULL, &err) < 0) {
		PQfinish(s->conn);
		s->conn = NULL;
		return false;
	}
	return true;
}

/*
 * What becomes of an ADW whose adw-run ended without finishing it: failed,
 * or resumed by the next claim (ADW_MAX_RECOVERIES times, then failed:
 * adw_store_adw_recover). Before that, what the run spilled during an
 * outage is written back (adw_spill.h). A verdict the database cannot take
 * now is owed: kept, kept alive by the heartbeat (so no other supervisor
 * takes the ADW for lost meanwhile) and settled as soon as the database
 * answers, before anything is claimed.
 */
struct owed {
	char *id;
	char *reason;
	bool fail; /* fail it; else recover it */
};

/* Returns false when the database is away (the verdict is owed), else true. */
static bool settle(struct adw_supervisor *s, const char *id, const char *reason, bool fail)
{
	struct adw_err err = {0};
	enum adw_recovery outcome = ADW_RECOVERY_NONE;
	bool changed = false;
	int n = 0;

	if (!connect_db(s))
		return false;
	if (adw_spill_replay_orphans(s->conn, s->cfg->home, id, &n, &err) < 0) {
		adw_log_warn("supervisor: adw=%s spilled events not written back yet: %s", id,
			     err.msg);
		return false;
	}
	if (n)
		adw_log_info("adw=%s %d events its adw-run spilled written back", id, n);
	if (fail ? adw_store_adw_fail(s->conn, id, reason, &changed, &err) < 0
		 : adw_store_adw_recover(s->conn, id, reason, s->cfg->max_recoveries, &outcome,
					 &err) < 0) {
		if (err.code == ADW_ERR_UNAVAILABLE || PQstatus(s->conn) != CONNECTION_OK) {
			adw_log_warn("supervisor: adw=%s cannot record %s yet: %s", id,
				     fail ? "its failure" : "its loss", err.msg);
			return false;
		}
		/* Refused, not unreachable: trying again would change nothing. */
		adw_log_error("supervisor: adw=%s %s not recorded: %s", id,
			      fail ? "its failure" : "its loss", err.msg);
		return true;
	}
	if (changed || outcome == ADW_RECOVERY_FAILED)
		adw_log_warn("adw=%s failed: %s%s", id, reason,
			     outcome == ADW_RECOVERY_FAILED ? " (lost too often)" : "");
	else if (outcome == ADW_RECOVERY_REQUEUED)
		adw_log_warn("adw=%s %s: resuming it", id, reason);
	return true;
}

static void judge(struct adw_supervisor *s, const char *id, const char *reason, bool fail)
{
	if (settle(s, id, reason, fail))
		return;
	s->owed = adw_xrealloc(s->owed, (size_t)(s->nowed + 1) * sizeof(*s->owed));
	s->owed[s->nowed].id = adw_xstrdup(id);
	s->owed[s->nowed].reason = adw_xstrdup(reason);
	s->owed[s->nowed].fail = fail;
	s->nowed++;
}

/* Marks an ADW failed unless its child finished it (now, or once the database is back). */
static void fail_if_unfinished(struct adw_supervisor *s, const char *id, const char *reason)
{
	judge(s, id, reason, true);
}

/* Sends an ADW whose adw-run is gone back to be resumed (or failed when lost too often). */
static void recover_unfinished(struct adw_supervisor *s, const char *id, const char *reason)
{
	judge(s, id, reason, false);
}

/* Settles the verdicts the database could not take before, oldest first. */
static void settle_owed(struct adw_supervisor *s)
{
	int i = 0;

	while (i < s->nowed && settle(s, s->owed[i].id, s->owed[i].reason, s->owed[i].fail)) {
		free(s->owed[i].id);
		free(s->owed[i].reason);
		i++;
	}
	memmove(s->owed, s->owed + i, (size_t)(s->nowed - i) * sizeof(*s->owed));
	s->nowed -= i;
}

static void spawn_child(struct adw_supervisor *s, const char *id)
{
	char *log_path = adw_xasprintf("%s/%s.log", s->log_dir, id);
	char *argv[] = {(char *)s->cfg->run_bin, (char *)"--adw-id", (char *)id, NULL};
	struct adw_proc_opts opts = {
	    .cwd = s->cfg->home, .log_path = log_path, .devnull_stdin = true, .new_pgroup = true};
	struct adw_err err = {0};
	pid_t pid = adw_proc_spawn(argv, &opts, &err);

	if (pid < 0) {
		char *why = adw_xasprintf("cannot start adw-run: %s", err.msg);

		fail_if_unfinished(s, id, why);
		free(why);
		goto out;
	}
	child_add(s, id, pid, false);
	if (adw_store_adw_set_worker(s->conn, id, pid, log_path, &err) < 0)
		adw_log_warn("adw=%s pid not recorded: %s", id, err.msg);
	adw_log_info("adw=%s started adw-run pid=%d log=%s", id, (int)pid, log_path);
out:
	free(log_path);
}

/* Reaps ended children; returns how many slots were freed. */
static int reap(struct adw_supervisor *s)
{
	int freed = 0;

	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		bool known = false;

		for (int i = 0; i < s->nchildren; i++) {
			char how[128], *why;

			if (s->children[i].pid != pid || s->children[i].adopted)
				continue;
			known = true;
			adw_proc_describe(status, how, sizeof(how));
			/* Kill what the child left in its group (its agent processes). */
			kill(-pid, SIGKILL);
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				adw_log_info("adw=%s adw-run pid=%d %s", s->children[i].id,
					     (int)pid, how);
			why = adw_xasprintf("adw-run (pid %d) %s before the ADW finished", (int)pid,
					    how);
			/*
			 * Exit 2: a usage or configuration error a new run would repeat; 4: it
			 * gave up waiting for the database (its log says what it kept); 5:
			 * another adw-run has the ADW, nothing to do.
			 */
			if (WIFEXITED(status) && WEXITSTATUS(status) == 5) {
				adw_log_info("adw=%s adw-run pid=%d: another adw-run has it",
					     s->children[i].id, (int)pid);
			} else if (WIFEXITED(status) && WEXITSTATUS(status) == 4) {
				free(why);
				why = adw_xasprintf(
				    "adw-run (pid %d) gave up after a database outage "
				    "longer than ADW_DB_OUTAGE_S (see its log)",
				    (int)pid);
				fail_if_unfinished(s, s->children[i].id, why);
			} else if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
				fail_if_unfinished(s, s->children[i].id, why);
			} else {
				recover_unfinished(s, s->children[i].id, why);
			}
			free(why);
			child_remove(s, i);
			freed++;
			break;
		}
		if (!known)
			adw_log_debug("reaped unknown pid %d", (int)pid);
	}
	for (int i = 0; i < s->nchildren; i++) {
		if (!s->children[i].adopted || kill(s->children[i].pid, 0) == 0 || errno != ESRCH)
			continue;
		{
			char *why =
			    adw_xasprintf("adw-run (pid %d) ended while no supervisor watched it",
					  (int)s->children[i].pid);

			recover_unfinished(s, s->children[i].id, why);
			free(why);
			child_remove(s, i--);
			freed++;
		}
	}
	return freed;
}

/* Is pid an adw-run process? (The pid may have been reused.) */
static bool is_adw_run(pid_t pid)
{
	char path[64], buf[512];
	ssize_t n;
	int fd;

	if (pid <= 0 || kill(pid, 0) < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, "adw-run") != NULL;
}

static void recover_locked(struct adw_supervisor *s, const char *id, const char *why);
static bool recently_claimed(struct adw_supervisor *s, const char *id);

static void recover(struct adw_supervisor *s)
{
	struct adw_err err = {0};
	char **ids = NULL;
	pid_t *pids = NULL;
	int n = 0;

	if (!connect_db(s) || adw_store_adw_unfinished(s->conn, s->host, &ids, &pids, &n, &err) < 0)
		return;
	for (int i = 0; i < n; i++) {
		if (is_adw_run(pids[i])) {
			adw_log_info("adw=%s adopting running adw-run pid=%d", ids[i],
				     (int)pids[i]);
			child_add(s, ids[i], pids[i], true);
		} else if (pids[i] || !recently_claimed(s, ids[i])) {
			char *why = pids[i] ? adw_xasprintf("adw-run (pid %d) is gone: found at "
							    "supervisor start",
							    (int)pids[i])
					    : adw_xstrdup("claimed but never started: found at "
							  "supervisor start");

			recover_locked(s, ids[i], why);
			free(why);
		}
		/*
		 * Else another supervisor of this host name claimed it a moment ago
		 * and is starting its adw-run: not ours to judge (find_lost() will,
		 * should it stay without heartbeat and lock).
		 */
	}
	adw_store_strv_free(ids, n);
	free(pids);
	/*
	 * What adw-run processes of this home spilled and never wrote back
	 * (their supervisor stopped first, or the machine restarted): the
	 * adopted ones hold their files' locks and are skipped.
	 */
	n = 0;
	if (adw_spill_replay_orphans(s->conn, s->cfg->home, NULL, &n, &err) < 0)
		adw_log_warn("supervisor: spilled events not written back yet: %s", err.msg);
	else if (n)
		adw_log_info("supervisor: %d events spilled by ended runs written back", n);
}

static void claim(struct adw_supervisor *s)
{
	struct adw_err err = {0};
	char **ids = NULL;
	int n = 0;
	int room = s->cfg->max_running - s->nchildren;

	if (room <= 0 || !connect_db(s))
		return;
	if (adw_store_adw_claim(s->conn, s->host, getpid(), room, &ids, &n, &err) < 0) {
		adw_log_warn("supervisor: claim failed: %s", err.msg);
		return;
	}
	for (int i = 0; i < n; i++)
		spawn_child(s, ids[i]);
	adw_store_strv_free(ids, n);
}

/*
 * Takes the notifications libpq holds, reading the socket first when
 * consume. A notification can arrive while a query runs and sit in
 * libpq's buffer with nothing left on the socket, so this is also called
 * after every claim, not only when poll() says the socket is readable.
 * Returns true when there was one.
 */
static bool drain_notifications(struct adw_supervisor *s, bool consume)
{
	PGnotify *nt;
	bool any = false;

	if (!s->conn)
		return false;
	if (consume && !PQconsumeInput(s->conn))
		return false;
	while ((nt = PQnotifies(s->conn))) {
		PQfreemem(nt);
		any = true;
	}
	return any;
}

/* One UPDATE: the heartbeat of every ADW this supervisor runs. */
static void heartbeat(struct adw_supervisor *s)
{
	struct adw_err err = {0};
	char **ids;

	if (s->nchildren + s->nowed == 0 || !s->conn || PQstatus(s->conn) != CONNECTION_OK)
		return;
	/* Owed verdicts too: their ADWs are not lost, only waiting to be settled here. */
	ids = adw_xcalloc((size_t)(s->nchildren + s->nowed), sizeof(*ids));
	for (int i = 0; i < s->nchildren; i++)
		ids[i] = s->children[i].id;
	for (int i = 0; i < s->nowed; i++)
		ids[s->nchildren + i] = s->owed[i].id;
	if (adw_store_heartbeat(s->conn, ids, s->nchildren + s->nowed, &err) < 0)
		adw_log_warn("supervisor: heartbeat not stored: %s", err.msg);
	free(ids);
}

/*
 * Recovers an ADW while holding its advisory lock, so that it is never done
 * while an adw-run (which holds that lock as long as it runs) still has it,
 * nor by two supervisors at once.
 */
static void recover_locked(struct adw_supervisor *s, const char *id, const char *why)
{
	struct adw_err err = {0};
	const char *params[1] = {id};
	PGresult *res;
	bool mine;

	if (!connect_db(s))
		return;
	res =
	    adw_db_query(s->conn, "SELECT pg_try_advisory_lock(adw_lock_key($1))", 1, params, &err);
	mine = res && PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!mine)
		return; /* its adw-run is alive after all, or another supervisor has it */
	recover_unfinished(s, id, why);
	res = adw_db_query(s->conn, "SELECT pg_advisory_unlock(adw_lock_key($1))", 1, params, &err);
	PQclear(res);
}

/* Was ADW id claimed (its heartbeat written) less than LOST_STALE_S ago? */
static bool recently_claimed(struct adw_supervisor *s, const char *id)
{
	struct adw_err err = {0};
	char secs[16];
	const char *params[2] = {id, secs};
	PGresult *res;
	bool recent;

	snprintf(secs, sizeof(secs), "%d", LOST_STALE_S);
	res = adw_db_query(s->conn,
			   "SELECT heartbeat_at > now() - make_interval(secs => $2::int) FROM "
			   "ai_developer_workflows WHERE id = $1",
			   2, params, &err);
	recent = res && PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return recent;
}

/*
 * Resumes running ADWs of any machine that show no sign of life: a stale
 * heartbeat and no holder of their lock. Holding the lock while recovering
 * keeps two supervisors from both doing it.
 */
static void find_lost(struct adw_supervisor *s)
{
	struct adw_err err = {0};
	char **ids = NULL, **why = NULL;
	int n = 0;

	/*
	 * After this supervisor (re)connected, give running children the time
	 * to reconnect and take their locks again: a database restart drops them.
	 */
	if (!s->conn || PQstatus(s->conn) != CONNECTION_OK ||
	    mono_ms() - s->connected_at < LOST_GRACE_MS ||
	    adw_store_adw_lost(s->conn, LOST_STALE_S, 16, &ids, &why, &n, &err) < 0)
		return;
	for (int i = 0; i < n; i++)
		recover_locked(s, ids[i], why[i]);
	adw_store_strv_free(ids, n);
	adw_store_strv_free(why, n);
}

/* Cancels ADWs paused before they started for longer than the pause timeout. */
static void expire_paused(struct adw_supervisor *s)
{
	struct adw_err err = {0};
	int n = 0;

	if (!s->conn || PQstatus(s->conn) != CONNECTION_OK)
		return;
	if (adw_thread_expire_paused(s->conn, s->cfg->pause_timeout_s, "supervisor (pause timeout)",
				     &n, &err) < 0)
		adw_log_warn("supervisor: paused ADWs not checked: %s", err.msg);
	else if (n)
		adw_log_info("supervisor: %d ADWs paused before they started timed out", n);
}

static void *run(void *arg)
{
	struct adw_supervisor *s = arg;
	long long last_claim = 0, last_expire = 0, last_beat = 0;

	recover(s);
	claim(s);
	last_claim = mono_ms();
	while (!s->stopping) {
		int nfds = 2 + s->nchildren;
		struct pollfd *fds = adw_xcalloc((size_t)nfds, sizeof(*fds));
		/* A notification libpq already read during the last query: no waiting. */
		bool notified = drain_notifications(s, false);
		int prc;

		fds[0].fd = s->wake[0];
		fds[0].events = POLLIN;
		fds[1].fd = s->conn ? PQsocket(s->conn) : -1;
		fds[1].events = POLLIN;
		for (int i = 0; i < s->nchildren; i++) {
			fds[2 + i].fd = s->children[i].pidfd;
			fds[2 + i].events = POLLIN;
		}
		prc = poll(fds, (nfds_t)nfds, notified ? 0 : TICK_MS);
		if (prc < 0 && errno != EINTR) {
			free(fds);
			break;
		}
		if (s->stopping) {
			free(fds);
			break;
		}
		if (fds[1].fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
			notified = drain_notifications(s, true) || notified;
		free(fds);
		if (reap(s) > 0)
			notified = true; /* a slot is free: take the next pending ADW now */
		if (s->nowed)
			settle_owed(s);
		if (notified || mono_ms() - last_claim >= BACKSTOP_MS ||
		    (s->conn && PQstatus(s->conn) != CONNECTION_OK)) {
			/* Claim until no notification came in while claiming. */
			do {
				claim(s);
				last_claim = mono_ms();
			} while (drain_notifications(s, false) && !s->stopping);
		}
		if (mono_ms() - last_expire >= EXPIRE_MS) {
			expire_paused(s);
			last_expire = mono_ms();
		}
		if (mono_ms() - last_beat >= HEARTBEAT_MS) {
			heartbeat(s);
			find_lost(s);
			last_beat = mono_ms();
		}
	}
	return NULL;
}

struct adw_supervisor *adw_supervisor_start(const struct adw_config *cfg, const char *conninfo,
					    struct adw_err *err)
{
	struct adw_supervisor *s = adw_xcalloc(1, sizeof(*s));

	s->cfg = cfg;
	s->conninfo = adw_xstrdup(conninfo);
	s->log_dir = adw_xasprintf("%s/logs", cfg->home);
	if (gethostname(s->host, sizeof(s->host) - 1) < 0)
		snprintf(s->host, sizeof(s->host), "localhost");
	if (mkdir(cfg->home, 0755) < 0 && errno != EEXIST) {
		adw_err_set(err, ADW_ERR_INVALID, "cannot create ADW_HOME '%s': %s", cfg->home,
			    strerror(errno));
		goto fail;
	}
	if (mkdir(s->log_dir, 0755) < 0 && errno != EEXIST) {
		adw_err_set(err, ADW_ERR_INVALID, "cannot create '%s': %s", s->log_dir,
			    strerror(errno));
		goto fail;
	}
	if (pipe2(s->wake, O_CLOEXEC) < 0) {
		adw_err_set(err, ADW_ERR_INTERNAL, "pipe: %s", strerror(errno));
		goto fail;
	}
	if (!connect_db(s)) {
		adw_err_set(err, ADW_ERR_UNAVAILABLE, "supervisor cannot reach the database");
		goto fail_pipe;
	}
	if (pthread_create(&s->thread, NULL, run, s) != 0) {
		adw_err_set(err, ADW_ERR_INTERNAL, "cannot start the supervisor thread");
		goto fail_pipe;
	}
	return s;
fail_pipe:
	close(s->wake[0]);
	close(s->wake[1]);
fail:
	PQfinish(s->conn);
	free(s->log_dir);
	free(s->conninfo);
	free(s);
	return NULL;
}

void adw_supervisor_stop(struct adw_supervisor *sup, int kill_children)
{
	if (!sup)
		return;
	sup->stopping = 1;
	if (write(sup->wake[1], "x", 1) < 0)
		adw_log_warn("supervisor: wake: %s", strerror(errno));
	pthread_join(sup->thread, NULL);
	if (kill_children && sup->nchildren) {
		long long deadline;

		for (int i = 0; i < sup->nchildren; i++)
			kill(-sup->children[i].pid, SIGTERM);
		deadline = mono_ms() + 5000;
		while (sup->nchildren && mono_ms() < deadline) {
			reap(sup);
			for (int i = 0; i < sup->nchildren; i++) {
				if (sup->children[i].adopted && kill(sup->children[i].pid, 0) < 0) {
					fail_if_unfinished(sup, sup->children[i].id,
							   "server stopped");
					child_remove(sup, i--);
				}
			}
			usleep(50000);
		}
		for (int i = 0; i < sup->nchildren; i++) {
			kill(-sup->children[i].pid, SIGKILL);
			fail_if_unfinished(sup, sup->children[i].id, "server stopped");
		}
		reap(sup);
	}
	for (int i = 0; i < sup->nchildren; i++)
		free(sup->children[i].id);
	free(sup->children);
	sup->retry_at = 0; /* one last try, backoff or not */
	settle_owed(sup);
	for (int i = 0; i < sup->nowed; i++) {
		adw_log_error("adw=%s not recorded before stopping: %s (it will be found lost and "
			      "resumed)",
			      sup->owed[i].id, sup->owed[i].reason);
		free(sup->owed[i].id);
		free(sup->owed[i].reason);
	}
	free(sup->owed);
	close(sup->wake[0]);
	close(sup->wake[1]);
	PQfinish(sup->conn);
	free(sup->log_dir);
	free(sup->conninfo);
	free(sup);
}
