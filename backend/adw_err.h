/* SPDX-License-Identifier: MIT */
/*
 * Error values: a code and one human message, filled by a failing function
 * and turned into an HTTP status or an "adw: <what>: <why>" line at one door.
 */
#ifndef ADW_ERR_H
#define ADW_ERR_H

#include "adw_mem.h"

enum adw_errcode {
	ADW_ERR_NONE = 0,
	ADW_ERR_MALFORMED,    /* 400: the request cannot be parsed */
	ADW_ERR_UNAUTHORIZED, /* 401 */
	ADW_ERR_NOT_FOUND,    /* 404 */
	ADW_ERR_CONFLICT,     /* 409: state conflict */
	ADW_ERR_TOO_LARGE,    /* 413: body over the limit */
	ADW_ERR_INVALID,      /* 422: valid JSON, invalid request */
	ADW_ERR_UNAVAILABLE,  /* 503: database unavailable */
	ADW_ERR_INTERNAL,     /* 500 */
};

struct adw_err {
	enum adw_errcode code;
	char msg[512]; /* lowercase, no final period, subject quoted */
};

/** Fills err (may be NULL) with code and a printf message; returns -1. */
int adw_err_set(struct adw_err *err, enum adw_errcode code, const char *fmt, ...) ADW_PRINTF(3, 4);
/** The wire name of code ("not_found", ...); static string. */
const char *adw_errcode_name(enum adw_errcode code);
/** The HTTP status for code (400, 404, ...). */
unsigned adw_errcode_http_status(enum adw_errcode code);

#endif
