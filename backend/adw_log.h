/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr, one line per record: "<UTC time> <prog>[pid] <level>: msg".
 * Any thread may log; each record is written with one write(2).
 */
#ifndef ADW_LOG_H
#define ADW_LOG_H

#include "adw_mem.h"

enum adw_log_level {
	ADW_LOG_ERROR, /* something failed */
	ADW_LOG_WARN,  /* something odd, carrying on */
	ADW_LOG_INFO,  /* lifecycle */
	ADW_LOG_DEBUG, /* only with ADW_DEBUG=1 */
};

/** Sets the program name shown in each line (a static string). */
void adw_log_init(const char *prog);
/** Writes one record at level. */
void adw_log_write(enum adw_log_level level, const char *fmt, ...) ADW_PRINTF(2, 3);

#define adw_log_error(...) adw_log_write(ADW_LOG_ERROR, __VA_ARGS__)
#define adw_log_warn(...) adw_log_write(ADW_LOG_WARN, __VA_ARGS__)
#define adw_log_info(...) adw_log_write(ADW_LOG_INFO, __VA_ARGS__)
#define adw_log_debug(...) adw_log_write(ADW_LOG_DEBUG, __VA_ARGS__)

/** Aborts with file and line for an impossible state. */
#define adw_bug(...) adw_bug_at(__FILE__, __LINE__, __VA_ARGS__)
void adw_bug_at(const char *file, int line, const char *fmt, ...) ADW_PRINTF(3, 4)
    __attribute__((noreturn));

#endif
