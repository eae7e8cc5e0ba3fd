/* SPDX-License-Identifier: MIT */
/* Worktrees, commits and diff stats of ADWs in git repositories. */
#include "adw_git.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "adw_mem.h"
#include "adw_proc.h"

#define GIT_OUTPUT_MAX (4 << 20) /* bytes of git output kept */

/*
 * Runs git with args in dir. Returns 0 with *out (caller frees; may be
 * NULL) when git exited 0; else -1 with err (INTERNAL: git's last words).
 */
static int git(const char *dir, const char *const *args, char **out, struct adw_err *err)
{
	const char *argv[24];
	struct adw_proc_opts opts = {.cwd = dir, .devnull_stdin = true};
	char *text = NULL;
	int argc = 0, status = 0, rc;

	argv[argc++] = "git";
	for (int i = 0; args[i] && argc < 23; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	if (out)
		*out = NULL;
	if (adw_proc_capture((char *const *)argv, &opts, GIT_OUTPUT_MAX, &text, &status, err) < 0)
		return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (out)
			*out = text;
		else
			free(text);
		return 0;
	}
	{
		size_t n = strlen(text);

		while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
			text[--n] = '\0';
		rc = adw_err_set(err, ADW_ERR_INTERNAL, "git %s: %.300s", args[0],
				 *text ? text : "failed");
	}
	free(text);
	return rc;
}

static void chomp(char *s)
{
	size_t n = s ? strlen(s) : 0;

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

int adw_git_toplevel(const char *dir, char **top)
{
	struct adw_err err = {0};
	const char *args[] = {"rev-parse", "--show-toplevel", NULL};

	*top = NULL;
	if (git(dir, args, top, &err) < 0 || !*top || !**top) {
		free(*top);
		*top = NULL;
		return 1;
	}
	chomp(*top);
	return 0;
}

int adw_git_head(const char *wt, char **commit, struct adw_err *err)
{
	const char *args[] = {"rev-parse", "HEAD", NULL};

	if (git(wt, args, commit, err) < 0)
		return -1;
	chomp(*commit);
	return 0;
}

int adw_git_worktree(const char *top, const char *path, const char *branch, const char *base,
		     char **base_commit, struct adw_err *err)
{
	char *ref = adw_xasprintf("refs/adw-base/%s", branch);
	char *commit = NULL, *dir = adw_xstrdup(path), *slash;
	struct stat st;
	int rc = -1;

	if (base_commit)
		*base_commit = NULL;
	/* The parent of the worktree must exist; git creates the last part. */
	for (slash = dir + 1; (slash = strchr(slash, '/')) != NULL; slash++) {
		*slash = '\0';
		mkdir(dir, 0755);
		*slash = '/';
	}
	if (stat(path, &st) == 0) {
		/* A worktree left by an earlier run of this ADW: keep working in it. */
		const char *args[] = {"rev-parse", "--is-inside-work-tree", NULL};

		if (git(path, args, NULL, err) < 0)
			goto out;
	} else {
		const char *exists[] = {"rev-parse", "--verify", "--quiet", branch, NULL};
		struct adw_err ignore = {0};

		if (git(top, exists, NULL, &ignore) == 0) {
			const char *args[] = {"worktree", "add", path, branch, NULL};

			if (git(top, args, NULL, err) < 0)
				goto out;
		} else {
			const char *args[] = {"worktree",	    "add", "-b", branch, path,
					      base ? base : "HEAD", NULL};

			if (git(top, args, NULL, err) < 0)
				goto out;
		}
	}
	{
		/* Where the branch started, kept as a ref so a resumed run knows it too. */
		const char *get[] = {"rev-parse", "--verify", "--quiet", ref, NULL};
		struct adw_err ignore = {0};

		if (git(path, get, &commit, &ignore) < 0) {
			const char *set[] = {"update-ref", ref, "HEAD", NULL};

			if (adw_git_head(path, &commit, err) < 0 || git(path, set, NULL, err) < 0)
				goto out;
		}
		chomp(commit);
	}
	if (base_commit) {
		*base_commit = commit;
		commit = NULL;
	}
	rc = 0;
out:
	free(commit);
	free(ref);
	free(dir);
	return rc;
}

int adw_git_commit_all(const char *wt, const char *message, bool *committed, struct adw_err *err)
{
	const char *add[] = {"add", "-A", NULL};
	const char *staged[] = {"diff", "--cached", "--quiet", NULL};
	const char *email[] = {"config", "user.email", NULL};
	struct adw_err ignore = {0};
	char *who = NULL;
	bool anonymous;

	*committed = false;
	if (git(wt, add, NULL, err) < 0)
		return -1;
	if (git(wt, staged, NULL, &ignore) == 0)
		return 0; /* nothing staged */
	anonymous = git(wt, email, &who, &ignore) < 0 || !who || !*who;
	free(who);
	{
		const char *plain[] = {"commit", "--quiet", "--no-verify", "-m", message, NULL};
		const char *as_adw[] = {"-c",	       "user.name=adw",
					"-c",	       "user.email=adw@localhost",
					"commit",      "--quiet",
					"--no-verify", "-m",
					message,       NULL};

		if (git(wt, anonymous ? as_adw : plain, NULL, err) < 0)
			return -1;
	}
	*committed = true;
	return 0;
}

int adw_git_numstat(const char *wt, const char *from, const char *to, struct adw_git_file **files,
		    int *n, struct adw_err *err)
{
	const char *args[] = {"diff", "--numstat", "--no-renames", from, to, NULL};
	char *out = NULL, *p, *end;
	int cap = 0;

	*files = NULL;
	*n = 0;
	if (git(wt, args, &out, err) < 0)
		return -1;
	/* "added\tremoved\tpath\n" per file ("-\t-\t" for binary ones; odd paths quoted). */
	for (p = out, end = out + strlen(out); p < end;) {
		char *nl = strchr(p, '\n');
		char *tab1, *tab2;
		struct adw_git_file *f;

		if (nl)
			*nl = '\0';
		tab1 = strchr(p, '\t');
		tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
		if (!tab2)
			break;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*files = adw_xrealloc(*files, (size_t)cap * sizeof(**files));
		}
		f = &(*files)[(*n)++];
		f->added = *p == '-' ? -1 : strtol(p, NULL, 10);
		f->removed = tab1[1] == '-' ? -1 : strtol(tab1 + 1, NULL, 10);
		f->path = adw_xstrdup(tab2 + 1);
		p = nl ? nl + 1 : end;
	}
	free(out);
	return 0;
}

void adw_git_files_free(struct adw_git_file *files, int n)
{
	for (int i = 0; i < n; i++)
		free(files[i].path);
	free(files);
}

int adw_git_worktree_remove(const char *top, const char *path, struct adw_err *err)
{
	const char *args[] = {"worktree", "remove", "--force", path, NULL};

	return git(top, args, NULL, err);
}
