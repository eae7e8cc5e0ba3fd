/* SPDX-License-Identifier: MIT */
/*
 * The supervisor: claims pending ADWs (at most cfg->max_running at once,
 * FOR UPDATE SKIP LOCKED) and runs one adw-run child per ADW, in its own
 * process group, with stdout/stderr appended to $ADW_HOME/logs/<id>.log.
 * It reaps its children and fails any ADW whose child ended without
 * finishing it; at start it fails or adopts the unfinished ADWs of this
 * host whose process is gone or still alive. Woken by NOTIFY adw_pending
 * (sent by an insert trigger) with a 1 s backstop poll. Runs in one thread
 * of its own with its own PGconn; start/stop from main.
 */
#ifndef ADW_SUPERVISOR_H
#define ADW_SUPERVISOR_H

#include "adw_config.h"
#include "adw_err.h"

struct adw_supervisor;

/**
 * Starts the supervisor thread. Returns it, or NULL with err when the
 * database cannot be reached or the thread cannot start. conninfo is copied.
 */
struct adw_supervisor *adw_supervisor_start(const struct adw_config *cfg, const char *conninfo,
					    struct adw_err *err);
/**
 * Stops the thread. With kill_children, running adw-run process groups get
 * SIGTERM (SIGKILL after 5 s) and their ADWs are failed "server stopped";
 * otherwise they keep running and a later supervisor adopts them. Frees
 * the supervisor. NULL-safe.
 */
void adw_supervisor_stop(struct adw_supervisor *sup, int kill_children);

#endif
