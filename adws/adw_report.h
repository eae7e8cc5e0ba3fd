/* SPDX-License-Identifier: MIT */
/*
 * Reading the reports agents write: the review verdict comes from an
 * explicit "VERDICT: PASS" or "VERDICT: FAIL" line (never a substring test
 * of free text, the original's bug). Pure functions.
 */
#ifndef ADW_REPORT_H
#define ADW_REPORT_H

#include <stddef.h>

#include "adw_err.h"

enum adw_verdict {
	ADW_VERDICT_NONE, /* no verdict line */
	ADW_VERDICT_PASS,
	ADW_VERDICT_FAIL,
};

/**
 * The verdict of a report: the last line that reads "VERDICT: PASS" or
 * "VERDICT: FAIL" once surrounding whitespace, '*', '_', '`' and '#' are
 * stripped (so "**VERDICT: FAIL**" counts; "no FAIL conditions" does not).
 */
enum adw_verdict adw_report_verdict(const char *text);
/** "PASS", "FAIL" or NULL. */
const char *adw_report_verdict_name(enum adw_verdict v);
/**
 * Reads a whole file of at most max bytes into *text (caller frees).
 * Errors: NOT_FOUND when missing, INVALID when empty or larger than max.
 */
int adw_report_read(const char *path, size_t max, char **text, struct adw_err *err) ADW_MUST_CHECK;

#endif
