/* SPDX-License-Identifier: MIT */
/* One-line stderr logging with UTC timestamps. */
#include "adw_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "adw";
static int log_debug = -1;

void adw_log_init(const char *prog)
{
	log_prog = prog;
}

static const char *level_name(enum adw_log_level level)
{
	switch (level) {
	case ADW_LOG_ERROR: return "error";
	case ADW_LOG_WARN: return "warn";
	case ADW_LOG_INFO: return "info";
	case ADW_LOG_DEBUG: return "debug";
	}
	return "?";
}

static void vlog(enum adw_log_level level, const char *fmt, va_list ap)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	size_t n;

	if (level == ADW_LOG_DEBUG) {
		if (log_debug < 0) {
			const char *d = getenv("ADW_DEBUG");
			log_debug = d && *d && strcmp(d, "0") != 0;
		}
		if (!log_debug)
			return;
	}
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n,
			      ".%03ldZ %s[%ld] %s: ", (long)(tv.tv_usec / 1000), log_prog,
			      (long)getpid(), level_name(level));
	if (n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	n = strlen(line);
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void adw_log_write(enum adw_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

void adw_bug_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "adw: BUG at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
