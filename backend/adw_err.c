/* SPDX-License-Identifier: MIT */
/* Error values and their mapping to wire names and HTTP statuses. */
#include "adw_err.h"

#include <stdarg.h>
#include <stdio.h>

int adw_err_set(struct adw_err *err, enum adw_errcode code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

const char *adw_errcode_name(enum adw_errcode code)
{
	switch (code) {
	case ADW_ERR_NONE: return "none";
	case ADW_ERR_MALFORMED: return "malformed";
	case ADW_ERR_UNAUTHORIZED: return "unauthorized";
	case ADW_ERR_NOT_FOUND: return "not_found";
	case ADW_ERR_CONFLICT: return "conflict";
	case ADW_ERR_TOO_LARGE: return "too_large";
	case ADW_ERR_INVALID: return "invalid";
	case ADW_ERR_UNAVAILABLE: return "unavailable";
	case ADW_ERR_INTERNAL: return "internal";
	}
	return "internal";
}

unsigned adw_errcode_http_status(enum adw_errcode code)
{
	switch (code) {
	case ADW_ERR_NONE: return 200;
	case ADW_ERR_MALFORMED: return 400;
	case ADW_ERR_UNAUTHORIZED: return 401;
	case ADW_ERR_NOT_FOUND: return 404;
	case ADW_ERR_CONFLICT: return 409;
	case ADW_ERR_TOO_LARGE: return 413;
	case ADW_ERR_INVALID: return 422;
	case ADW_ERR_UNAVAILABLE: return 503;
	case ADW_ERR_INTERNAL: return 500;
	}
	return 500;
}
