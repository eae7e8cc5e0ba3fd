/* SPDX-License-Identifier: MIT */
/* Verdict parsing and report reading. */
#include "adw_report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adw_buf.h"

static int strip_char(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '*' || c == '_' || c == '`' || c == '#';
}

static enum adw_verdict line_verdict(const char *s, size_t n)
{
	const char *e = s + n;

	while (s < e && strip_char(*s))
		s++;
	while (e > s && strip_char(e[-1]))
		e--;
	if ((size_t)(e - s) == strlen("VERDICT: PASS") && strncmp(s, "VERDICT: PASS", 13) == 0)
		return ADW_VERDICT_PASS;
	if ((size_t)(e - s) == strlen("VERDICT: FAIL") && strncmp(s, "VERDICT: FAIL", 13) == 0)
		return ADW_VERDICT_FAIL;
	return ADW_VERDICT_NONE;
}

enum adw_verdict adw_report_verdict(const char *text)
{
	enum adw_verdict v = ADW_VERDICT_NONE;
	const char *p = text;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		enum adw_verdict lv = line_verdict(p, n);

		if (lv != ADW_VERDICT_NONE)
			v = lv;
		p += n;
		if (*p == '\n')
			p++;
	}
	return v;
}

const char *adw_report_verdict_name(enum adw_verdict v)
{
	switch (v) {
	case ADW_VERDICT_PASS: return "PASS";
	case ADW_VERDICT_FAIL: return "FAIL";
	case ADW_VERDICT_NONE: return NULL;
	}
	return NULL;
}

int adw_report_read(const char *path, size_t max, char **text, struct adw_err *err)
{
	FILE *f = fopen(path, "rb");
	struct adw_buf b;
	char chunk[8192];
	size_t n;

	if (!f)
		return adw_err_set(err, ADW_ERR_NOT_FOUND, "'%s' was not written (%s)", path,
				   strerror(errno));
	adw_buf_init(&b, max);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (adw_buf_add(&b, chunk, n) < 0) {
			fclose(f);
			return adw_err_set(err, ADW_ERR_INVALID, "'%s' is larger than %zu bytes",
					   path, max);
		}
	}
	fclose(f);
	if (b.len == 0) {
		adw_buf_release(&b);
		return adw_err_set(err, ADW_ERR_INVALID, "'%s' is empty", path);
	}
	*text = adw_buf_detach(&b);
	return 0;
}
