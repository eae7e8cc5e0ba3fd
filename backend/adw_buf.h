/* SPDX-License-Identifier: MIT */
/*
 * A growable byte buffer with a size cap, always NUL-terminated
 * (after curl's dynbuf and git's strbuf). Not thread-safe: one owner.
 */
#ifndef ADW_BUF_H
#define ADW_BUF_H

#include <stdbool.h>
#include <stddef.h>

#include "adw_mem.h"

struct adw_buf {
	char *data; /* NUL-terminated; NULL until the first append */
	size_t len; /* bytes used, without the NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* largest len allowed, in bytes; 0 = unlimited */
};

/** Initialises an empty buffer that may grow to max bytes (0: no cap). */
void adw_buf_init(struct adw_buf *b, size_t max);
/** Frees the memory and leaves b empty and reusable. NULL-safe. */
void adw_buf_release(struct adw_buf *b);
/** Empties b, keeping its memory. */
void adw_buf_reset(struct adw_buf *b);
/**
 * Appends n bytes. Returns 0, or -1 when len would pass max: then b is
 * released (curl DYNBUF semantics) so a caller can never use a cut buffer.
 */
int adw_buf_add(struct adw_buf *b, const void *p, size_t n) ADW_MUST_CHECK;
/** Appends a C string; as adw_buf_add. */
int adw_buf_adds(struct adw_buf *b, const char *s) ADW_MUST_CHECK;
/** Appends printf output; as adw_buf_add. */
int adw_buf_addf(struct adw_buf *b, const char *fmt, ...) ADW_PRINTF(2, 3) ADW_MUST_CHECK;
/** Removes the first n bytes (n <= len). */
void adw_buf_consume(struct adw_buf *b, size_t n);
/** The contents ("" when empty); borrowed until the next change. */
const char *adw_buf_str(const struct adw_buf *b);
/** Hands the string to the caller (free() it) and leaves b empty. */
char *adw_buf_detach(struct adw_buf *b);

#endif
