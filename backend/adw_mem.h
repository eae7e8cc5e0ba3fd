/* SPDX-License-Identifier: MIT */
/*
 * Allocation that never returns NULL: out of memory prints one line and
 * aborts (style.md rule 7). Any thread may call these.
 */
#ifndef ADW_MEM_H
#define ADW_MEM_H

#include <stddef.h>

#define ADW_MUST_CHECK __attribute__((warn_unused_result))
#define ADW_PRINTF(a, b) __attribute__((format(printf, a, b)))

/** malloc(n); never NULL. Caller frees with free(). */
void *adw_xmalloc(size_t n);
/** calloc(count, size); zeroed; never NULL. Caller frees with free(). */
void *adw_xcalloc(size_t count, size_t size);
/** realloc(p, n); never NULL. */
void *adw_xrealloc(void *p, size_t n);
/** strdup(s); NULL in gives NULL out. Caller frees with free(). */
char *adw_xstrdup(const char *s);
/** Copy of the first n bytes of s, NUL-terminated. Caller frees. */
char *adw_xstrndup(const char *s, size_t n);
/** printf into a new string. Caller frees with free(). */
char *adw_xasprintf(const char *fmt, ...) ADW_PRINTF(1, 2);

#endif
