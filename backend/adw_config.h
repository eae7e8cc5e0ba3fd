/* SPDX-License-Identifier: MIT */
/*
 * Configuration from the environment (INTERFACE.md "Configuration"); a
 * program's flags overwrite fields after adw_config_load(). Also finds the
 * data files (migrations/, web/, prompts/, adws/workflows/) and the adw-run
 * executable, for an installed or an uninstalled (build tree) binary.
 * Loaded once by main before any thread starts; read-only afterwards.
 */
#ifndef ADW_CONFIG_H
#define ADW_CONFIG_H

#include <stdbool.h>

#include "adw_err.h"

struct adw_config {
	char *database_url;	/* DATABASE_URL; NULL = the embedded cluster */
	char *home;		/* ADW_HOME, absolute; default "$PWD/.adw" */
	char *listen_host;	/* from ADW_LISTEN; default "127.0.0.1" */
	unsigned listen_port;	/* from ADW_LISTEN; default 9403; 0 = any free port */
	char *workdir;		/* ADW_WORKDIR, absolute; default $PWD */
	char *runtime;		/* ADW_RUNTIME: "claude" or "dry-run" */
	char *claude_bin;	/* ADW_CLAUDE_BIN; default "claude" (looked up on PATH) */
	char *model;		/* ADW_MODEL; NULL = the runtime's default */
	int max_running;	/* ADW_MAX_RUNNING, 1..1024; default 8 */
	int pause_timeout_s;	/* ADW_PAUSE_TIMEOUT_S: a paused ADW not resumed in time is
				   cancelled; 1..604800 s, default 1800 */
	int question_timeout_s; /* ADW_QUESTION_TIMEOUT_S: an unanswered question takes its
				   default or cancels the ADW; 1..604800 s, default 1800 */
	int max_recoveries;	/* ADW_MAX_RECOVERIES: times a lost ADW (its adw-run died) is
				   resumed before it fails; 0..100, default 3 */
	int db_outage_s;	/* ADW_DB_OUTAGE_S: how long a running ADW waits for the database
				   before it gives up (and is failed); 1..86400 s, default 300 */
	int event_buffer_bytes; /* ADW_EVENT_BUFFER_BYTES: events a running ADW keeps in memory
				   while the database is away before it spills them to a file;
				   1..1 GiB, default 8 MiB */
	char *worktree_dir;	/* ADW_WORKTREE_DIR: where ADWs in a git repository get their
				   worktrees; default "$ADW_HOME/worktrees" */
	char *base_branch;	/* ADW_BASE_BRANCH: what their branches start from; NULL = the
				   repository's HEAD */
	char *worktree_keep;	/* ADW_WORKTREE_KEEP: "on_failure" (default: a completed ADW's
				   worktree is removed, its branch kept), "always", "never" */
	char *data_dir;		/* ADW_DATA_DIR or the compiled/source default */
	char *run_bin;		/* ADW_RUN_BIN or the built/installed adw-run */
};

/**
 * Fills cfg from the environment. Returns 0, or -1 with err (INVALID) for a
 * bad value, e.g. "bad value 'x' for ADW_MAX_RUNNING". Release with
 * adw_config_release() either way.
 */
int adw_config_load(struct adw_config *cfg, struct adw_err *err) ADW_MUST_CHECK;
/** Frees every field. NULL-safe. */
void adw_config_release(struct adw_config *cfg);
/**
 * Parses "host:port" (port 0..65535) into cfg's listen fields. Returns 0 or
 * -1 with err (INVALID).
 */
int adw_config_set_listen(struct adw_config *cfg, const char *value,
			  struct adw_err *err) ADW_MUST_CHECK;
/** Path of a data subdirectory, e.g. "migrations". Caller frees. */
char *adw_config_data_path(const struct adw_config *cfg, const char *sub);
/**
 * Full path of an executable: name itself when it contains '/', else the
 * first match on PATH. Returns a new string, or NULL when not found.
 */
char *adw_config_which(const char *name);
/** Returns an absolute, normalised version of path (need not exist). Caller frees. */
char *adw_config_abspath(const char *path);
/** True when runtime is one this build knows ("claude", "dry-run"). */
bool adw_config_runtime_known(const char *runtime);

#endif
