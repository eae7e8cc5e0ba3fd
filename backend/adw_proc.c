/* SPDX-License-Identifier: MIT */
/* posix_spawn wrappers with log redirection and process groups. */
#include "adw_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adw_buf.h"

extern char **environ;

pid_t adw_proc_spawn(char *const argv[], const struct adw_proc_opts *opts, struct adw_err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	pid_t pid = -1;
	short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	/* The server blocks signals for sigwait(); children get a clean mask. */
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGCHLD);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	if (opts && opts->new_pgroup) {
		flags |= POSIX_SPAWN_SETPGROUP;
		posix_spawnattr_setpgroup(&attr, 0);
	}
	posix_spawnattr_setflags(&attr, flags);
	if (opts && opts->devnull_stdin)
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (opts && opts->log_path) {
		posix_spawn_file_actions_addopen(&fa, 1, opts->log_path,
						 O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
	}
	if (opts && opts->output_fd > 0) {
		posix_spawn_file_actions_adddup2(&fa, opts->output_fd, 1);
		posix_spawn_file_actions_adddup2(&fa, opts->output_fd, 2);
	}
	if (opts && opts->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, opts->cwd);
	rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		adw_err_set(err, ADW_ERR_INTERNAL, "cannot start '%s': %s", argv[0], strerror(rc));
		return -1;
	}
	return pid;
}

int adw_proc_run(char *const argv[], const struct adw_proc_opts *opts, int *status,
		 struct adw_err *err)
{
	pid_t pid = adw_proc_spawn(argv, opts, err);

	if (pid < 0)
		return -1;
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR)
			return adw_err_set(err, ADW_ERR_INTERNAL, "waitpid: %s", strerror(errno));
	}
	return 0;
}

char *adw_proc_describe(int status, char *buf, size_t n)
{
	if (WIFEXITED(status))
		snprintf(buf, n, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, n, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, n, "ended with wait status %d", status);
	return buf;
}

int adw_proc_capture(char *const argv[], const struct adw_proc_opts *opts, size_t max, char **out,
		     int *status, struct adw_err *err)
{
	struct adw_proc_opts o = opts ? *opts : (struct adw_proc_opts){0};
	struct adw_buf b;
	char chunk[4096];
	int fds[2];
	pid_t pid;
	ssize_t n;

	*out = NULL;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return adw_err_set(err, ADW_ERR_INTERNAL, "pipe: %s", strerror(errno));
	o.output_fd = fds[1];
	o.log_path = NULL;
	pid = adw_proc_spawn(argv, &o, err);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return -1;
	}
	adw_buf_init(&b, 0);
	while ((n = read(fds[0], chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (b.len < max &&
		    adw_buf_add(&b, chunk, (size_t)n < max - b.len ? (size_t)n : max - b.len) < 0)
			break;
	}
	close(fds[0]);
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR) {
			adw_buf_release(&b);
			return adw_err_set(err, ADW_ERR_INTERNAL, "waitpid: %s", strerror(errno));
		}
	}
	*out = adw_buf_detach(&b);
	return 0;
}
