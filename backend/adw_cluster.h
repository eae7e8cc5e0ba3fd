/* SPDX-License-Identifier: MIT */
/*
 * The embedded PostgreSQL cluster used when DATABASE_URL is unset: data in
 * $ADW_HOME/pg/data, a unix socket only (no TCP), created with initdb on
 * first use and started with pg_ctl. As root, the cluster runs as the
 * "postgres" system user (initdb refuses root). Call from one thread.
 */
#ifndef ADW_CLUSTER_H
#define ADW_CLUSTER_H

#include <stdbool.h>

#include "adw_config.h"
#include "adw_err.h"

/**
 * Directory of the cluster's unix socket: $ADW_HOME/pg/run when the socket
 * path fits in sockaddr_un (107 bytes), else /tmp/adw-<uid>-<hash of home>.
 * Caller frees.
 */
char *adw_cluster_socket_dir(const struct adw_config *cfg);
/** libpq conninfo for the embedded cluster's "adw" database. Caller frees. */
char *adw_cluster_conninfo(const struct adw_config *cfg);
/**
 * Creates the cluster if missing, starts it if stopped, and creates the
 * "adw" database if missing. *started is set to true when this call started
 * the server (so the caller should stop it). Returns 0, or -1 with err
 * (UNAVAILABLE) naming the failed step and the log to read.
 */
int adw_cluster_ensure(const struct adw_config *cfg, bool *started,
		       struct adw_err *err) ADW_MUST_CHECK;
/** Stops the cluster (pg_ctl stop -m fast). Returns 0 or -1 with err. */
int adw_cluster_stop(const struct adw_config *cfg, struct adw_err *err);

#endif
