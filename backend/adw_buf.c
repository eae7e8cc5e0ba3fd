/* SPDX-License-Identifier: MIT */
/* Growable, capped byte buffer. */
#include "adw_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void adw_buf_init(struct adw_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void adw_buf_release(struct adw_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void adw_buf_reset(struct adw_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static int grow(struct adw_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	size_t cap;

	if (b->max && b->len + extra > b->max) {
		adw_buf_release(b);
		return -1;
	}
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = adw_xrealloc(b->data, cap);
	b->cap = cap;
	return 0;
}

int adw_buf_add(struct adw_buf *b, const void *p, size_t n)
{
	if (grow(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int adw_buf_adds(struct adw_buf *b, const char *s)
{
	return adw_buf_add(b, s, strlen(s));
}

int adw_buf_addf(struct adw_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || grow(b, (size_t)n) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void adw_buf_consume(struct adw_buf *b, size_t n)
{
	if (n >= b->len) {
		adw_buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

const char *adw_buf_str(const struct adw_buf *b)
{
	return b->data ? b->data : "";
}

char *adw_buf_detach(struct adw_buf *b)
{
	char *s = b->data ? b->data : adw_xstrdup("");

	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return s;
}
