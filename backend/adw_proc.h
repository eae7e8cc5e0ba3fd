/* SPDX-License-Identifier: MIT */
/*
 * Child processes, always from an argv (never a shell string). Spawning
 * uses posix_spawn, so it is safe from a multithreaded process: the child
 * execs at once. Any thread may call these.
 */
#ifndef ADW_PROC_H
#define ADW_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "adw_err.h"

struct adw_proc_opts {
	const char *cwd;      /* working directory; NULL = inherit */
	const char *log_path; /* stdout+stderr appended here; NULL = inherit */
	bool devnull_stdin;   /* stdin from /dev/null (default: inherit) */
	bool new_pgroup;      /* child leads a new process group (pgid = pid) */
	int output_fd;	      /* when > 0: stdout and stderr go to this descriptor */
};

/**
 * Starts argv[0] (looked up on PATH when it has no '/'). Returns the pid,
 * or -1 with err (INTERNAL) naming the program and errno's text.
 */
pid_t adw_proc_spawn(char *const argv[], const struct adw_proc_opts *opts, struct adw_err *err);
/**
 * Spawns and waits. *status gets the waitpid status. Returns 0 when the
 * child ran (whatever its exit code), or -1 with err when it could not start.
 */
int adw_proc_run(char *const argv[], const struct adw_proc_opts *opts, int *status,
		 struct adw_err *err) ADW_MUST_CHECK;
/**
 * Runs argv to its end with stdout and stderr captured together: *out gets
 * at most max bytes of them (NUL-terminated, caller frees; the rest is read
 * and dropped), *status the waitpid status. Returns 0 when the child ran,
 * or -1 with err when it could not start. Any thread.
 */
int adw_proc_capture(char *const argv[], const struct adw_proc_opts *opts, size_t max, char **out,
		     int *status, struct adw_err *err) ADW_MUST_CHECK;
/**
 * Describes a waitpid status in words: "exited with status 1",
 * "killed by signal 9 (Killed)". Writes at most n bytes to buf; returns buf.
 */
char *adw_proc_describe(int status, char *buf, size_t n);

#endif
