/* SPDX-License-Identifier: MIT */
/*
 * The runner: runs one ADW from its first unfinished step to a terminal
 * status, inside the adw-run process. For each step it creates the step's
 * agent row, writes StepStart, renders the prompt (prompts/<step>.md),
 * chooses the artifact path, calls the ADW's runtime, checks the artifact
 * and verdict, writes StepEnd, and keeps the ADW's status, steps, timing,
 * tokens and cost current. Single-threaded.
 */
#ifndef ADW_RUNNER_H
#define ADW_RUNNER_H

#include "adw_config.h"

/** Exit codes of adw-run (also returned by adw_runner_run). */
enum adw_runner_exit {
	ADW_RUNNER_COMPLETED = 0,  /* the ADW ended completed (or was already finished) */
	ADW_RUNNER_FAILED = 1,	   /* the ADW ended failed */
	ADW_RUNNER_USAGE = 2,	   /* bad arguments, configuration or unknown ADW */
	ADW_RUNNER_DB_LOST = 4,	   /* the database was away longer than ADW_DB_OUTAGE_S: the
				      run gave up (its log says what it kept); the supervisor
				      fails the ADW */
	ADW_RUNNER_SUPERSEDED = 5, /* another adw-run holds this ADW: nothing was changed */
	ADW_RUNNER_CANCELLED = 1,  /* the ADW ended cancelled (a person's cancel or redirect,
				      or a pause or question that timed out): it did not
				      complete, so adw-run exits as for failed */
};

/**
 * Runs ADW id to its end using the database at conninfo. Errors are
 * written to the ADW (status failed, error and error_step), its events and
 * stderr. Returns an adw_runner_exit code.
 */
int adw_runner_run(const struct adw_config *cfg, const char *conninfo, const char *id);

#endif
