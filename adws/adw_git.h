/* SPDX-License-Identifier: MIT */
/*
 * The git side of an ADW whose working dir is a repository: its own
 * worktree on its own branch, a commit after each step, and the numbers of
 * lines each step added and removed per file (git-worktree(1),
 * git-diff(1) --numstat). Runs the git CLI with argv (adw_proc_capture).
 * Called from adw-run's single thread.
 */
#ifndef ADW_GIT_H
#define ADW_GIT_H

#include <stdbool.h>

#include "adw_err.h"

/** One file of a diff. */
struct adw_git_file {
	char *path;	     /* relative to the worktree */
	long added, removed; /* lines; -1 for a binary file */
};

/**
 * The top directory of the work tree dir belongs to: 0 with *top (caller
 * frees), 1 when dir is not in a git work tree (or git is not installed):
 * not an error.
 */
int adw_git_toplevel(const char *dir, char **top);

/**
 * Makes path a worktree of the repository top on branch: reuses it when it
 * already is one (a run resumed after a loss), checks out branch when it
 * exists, else creates branch from base (NULL: HEAD). *base_commit (may be
 * NULL) gets the commit the branch started from, as recorded in
 * "refs/adw-base/<branch>" (created here). Errors: INTERNAL with git's
 * message.
 */
int adw_git_worktree(const char *top, const char *path, const char *branch, const char *base,
		     char **base_commit, struct adw_err *err) ADW_MUST_CHECK;

/** The commit HEAD names in worktree wt (caller frees). Errors: INTERNAL. */
int adw_git_head(const char *wt, char **commit, struct adw_err *err) ADW_MUST_CHECK;

/**
 * Commits everything changed in wt (git add -A) with message, as "adw"
 * when the repository has no identity configured. *committed tells whether
 * there was anything to commit. Errors: INTERNAL.
 */
int adw_git_commit_all(const char *wt, const char *message, bool *committed,
		       struct adw_err *err) ADW_MUST_CHECK;

/**
 * The files that differ between commits from and to in wt, with lines
 * added and removed: *files (a new array of *n; free with
 * adw_git_files_free). Errors: INTERNAL.
 */
int adw_git_numstat(const char *wt, const char *from, const char *to, struct adw_git_file **files,
		    int *n, struct adw_err *err) ADW_MUST_CHECK;
void adw_git_files_free(struct adw_git_file *files, int n);

/** Removes worktree path of repository top (the branch stays). Errors: INTERNAL. */
int adw_git_worktree_remove(const char *top, const char *path, struct adw_err *err) ADW_MUST_CHECK;

#endif
