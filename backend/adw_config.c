/* SPDX-License-Identifier: MIT */
/* Environment configuration and location of data files and helpers. */
#include "adw_config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adw_build.h"

static char *env_dup(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? adw_xstrdup(v) : NULL;
}

char *adw_config_abspath(const char *path)
{
	char cwd[PATH_MAX];
	char *joined, *out, *w;
	const char *r;

	if (path[0] == '/') {
		joined = adw_xstrdup(path);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return adw_xstrdup(path);
		joined = adw_xasprintf("%s/%s", cwd, path);
	}
	/* Normalise "//", "/./" and "/x/../" lexically. */
	out = adw_xmalloc(strlen(joined) + 2);
	w = out;
	r = joined;
	while (*r) {
		const char *seg;
		size_t n;

		while (*r == '/')
			r++;
		seg = r;
		while (*r && *r != '/')
			r++;
		n = (size_t)(r - seg);
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			while (w > out && *--w != '/')
				;
			continue;
		}
		*w++ = '/';
		memcpy(w, seg, n);
		w += n;
	}
	if (w == out)
		*w++ = '/';
	*w = '\0';
	free(joined);
	return out;
}

char *adw_config_which(const char *name)
{
	const char *path = getenv("PATH");
	const char *p;

	if (!name || !*name)
		return NULL;
	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? adw_config_abspath(name) : NULL;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	p = path;
	while (*p) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char *cand = adw_xasprintf("%.*s/%s", (int)n, n ? p : ".", name);
		struct stat st;

		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
			return cand;
		free(cand);
		p += n;
		if (*p == ':')
			p++;
	}
	return NULL;
}

bool adw_config_runtime_known(const char *runtime)
{
	return runtime && (strcmp(runtime, "claude") == 0 || strcmp(runtime, "dry-run") == 0);
}

int adw_config_set_listen(struct adw_config *cfg, const char *value, struct adw_err *err)
{
	const char *colon = strrchr(value, ':');
	char *end;
	long port;

	if (!colon || colon == value)
		return adw_err_set(err, ADW_ERR_INVALID,
				   "bad listen address '%s': expected HOST:PORT", value);
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port < 0 || port > 65535)
		return adw_err_set(err, ADW_ERR_INVALID, "bad port in listen address '%s'", value);
	free(cfg->listen_host);
	cfg->listen_host = adw_xstrndup(value, (size_t)(colon - value));
	cfg->listen_port = (unsigned)port;
	return 0;
}

/* The running executable lives in the build tree: use the source tree's data. */
static bool running_uninstalled(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t blen = strlen(ADW_BUILD_ROOT);

	if (n <= 0)
		return false;
	exe[n] = '\0';
	return strncmp(exe, ADW_BUILD_ROOT, blen) == 0 && exe[blen] == '/';
}

/* An integer variable in [lo, hi], def when unset. INVALID names the variable. */
static int env_int(const char *name, long lo, long hi, int def, int *out, struct adw_err *err)
{
	char *v = env_dup(name);
	char *end;
	long n;

	*out = def;
	if (!v)
		return 0;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || n < lo || n > hi) {
		adw_err_set(err, ADW_ERR_INVALID, "bad value '%s' for %s: expected %ld..%ld", v,
			    name, lo, hi);
		free(v);
		return -1;
	}
	*out = (int)n;
	free(v);
	return 0;
}

int adw_config_load(struct adw_config *cfg, struct adw_err *err)
{
	char *v;
	bool uninstalled = running_uninstalled();

	memset(cfg, 0, sizeof(*cfg));
	cfg->database_url = env_dup("DATABASE_URL");
	v = env_dup("ADW_HOME");
	cfg->home = adw_config_abspath(v ? v : ".adw");
	free(v);
	v = env_dup("ADW_WORKDIR");
	cfg->workdir = adw_config_abspath(v ? v : ".");
	free(v);
	cfg->listen_host = adw_xstrdup("127.0.0.1");
	cfg->listen_port = 9403;
	v = env_dup("ADW_LISTEN");
	if (v && adw_config_set_listen(cfg, v, err) < 0) {
		free(v);
		return -1;
	}
	free(v);
	cfg->claude_bin = env_dup("ADW_CLAUDE_BIN");
	if (!cfg->claude_bin)
		cfg->claude_bin = adw_xstrdup("claude");
	cfg->runtime = env_dup("ADW_RUNTIME");
	if (!cfg->runtime) {
		char *found = adw_config_which(cfg->claude_bin);

		cfg->runtime = adw_xstrdup(found ? "claude" : "dry-run");
		free(found);
	} else if (!adw_config_runtime_known(cfg->runtime)) {
		return adw_err_set(err, ADW_ERR_INVALID,
				   "bad value '%s' for ADW_RUNTIME: expected claude or dry-run",
				   cfg->runtime);
	}
	cfg->model = env_dup("ADW_MODEL");
	if (env_int("ADW_MAX_RUNNING", 1, 1024, 8, &cfg->max_running, err) < 0 ||
	    env_int("ADW_PAUSE_TIMEOUT_S", 1, 7 * 86400, 1800, &cfg->pause_timeout_s, err) < 0 ||
	    env_int("ADW_QUESTION_TIMEOUT_S", 1, 7 * 86400, 1800, &cfg->question_timeout_s, err) <
		0 ||
	    env_int("ADW_MAX_RECOVERIES", 0, 100, 3, &cfg->max_recoveries, err) < 0 ||
	    env_int("ADW_DB_OUTAGE_S", 1, 86400, 300, &cfg->db_outage_s, err) < 0 ||
	    env_int("ADW_EVENT_BUFFER_BYTES", 1, 1 << 30, 8 << 20, &cfg->event_buffer_bytes, err) <
		0)
		return -1;
	cfg->worktree_dir = env_dup("ADW_WORKTREE_DIR");
	if (!cfg->worktree_dir)
		cfg->worktree_dir = adw_xasprintf("%s/worktrees", cfg->home);
	cfg->base_branch = env_dup("ADW_BASE_BRANCH");
	cfg->worktree_keep = env_dup("ADW_WORKTREE_KEEP");
	if (!cfg->worktree_keep)
		cfg->worktree_keep = adw_xstrdup("on_failure");
	if (strcmp(cfg->worktree_keep, "on_failure") != 0 &&
	    strcmp(cfg->worktree_keep, "always") != 0 && strcmp(cfg->worktree_keep, "never") != 0)
		return adw_err_set(
		    err, ADW_ERR_INVALID,
		    "bad value '%s' for ADW_WORKTREE_KEEP: expected on_failure, always "
		    "or never",
		    cfg->worktree_keep);
	cfg->data_dir = env_dup("ADW_DATA_DIR");
	if (!cfg->data_dir)
		cfg->data_dir = adw_xstrdup(uninstalled ? ADW_SOURCE_ROOT : ADW_PKGDATADIR);
	cfg->run_bin = env_dup("ADW_RUN_BIN");
	if (!cfg->run_bin)
		cfg->run_bin = uninstalled ? adw_xstrdup(ADW_BUILD_ROOT "/adws/adw-run")
					   : adw_xstrdup(ADW_LIBEXECDIR "/adw-run");
	return 0;
}

void adw_config_release(struct adw_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->database_url);
	free(cfg->home);
	free(cfg->listen_host);
	free(cfg->workdir);
	free(cfg->runtime);
	free(cfg->claude_bin);
	free(cfg->model);
	free(cfg->data_dir);
	free(cfg->run_bin);
	free(cfg->worktree_dir);
	free(cfg->base_branch);
	free(cfg->worktree_keep);
	memset(cfg, 0, sizeof(*cfg));
}

char *adw_config_data_path(const struct adw_config *cfg, const char *sub)
{
	return adw_xasprintf("%s/%s", cfg->data_dir, sub);
}
