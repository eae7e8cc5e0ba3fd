/* SPDX-License-Identifier: MIT */
/*
 * Workflow definitions as data: one JSON file per workflow in
 * <data>/adws/workflows/<name>.json, read at use (no recompiling to add
 * one). Shape:
 *   {"name": "plan_build_review", "description": "...",
 *    "steps": ["plan", "build", {"name": "review"}, {"name": "fix", "when": "review_failed"}]}
 * A step is a name (letters, digits, '_', '-') with a prompt template
 * prompts/<name>.md; "when": "review_failed" runs it only after a FAIL
 * verdict ("fix" defaults to that). Any thread; no shared state.
 */
#ifndef ADW_WORKFLOW_H
#define ADW_WORKFLOW_H

#include <stdbool.h>

#include "adw_config.h"
#include "adw_err.h"

struct adw_workflow_step {
	char *name;
	bool only_on_fail; /* runs only when the review verdict was FAIL */
};

struct adw_workflow {
	char *name;
	char *description;
	struct adw_workflow_step *steps;
	int nsteps;
};

/**
 * Loads the workflow called name (after normalising '-' to '_' and
 * lowercasing). Returns 0, or -1 with err: INVALID "unknown workflow 'x'
 * (known: a, b, c)"; INTERNAL naming the file and field when the
 * definition itself is broken (a server-side fault). Release with
 * adw_workflow_release().
 */
int adw_workflow_load(const struct adw_config *cfg, const char *name, struct adw_workflow *wf,
		      struct adw_err *err) ADW_MUST_CHECK;
/** Frees wf's fields. NULL-safe. */
void adw_workflow_release(struct adw_workflow *wf);
/**
 * Loads every valid workflow, sorted by name, into a new array (*list,
 * *count). Files that do not parse are skipped with a warning. Free with
 * adw_workflow_list_free().
 */
int adw_workflow_list(const struct adw_config *cfg, struct adw_workflow **list, int *count,
		      struct adw_err *err) ADW_MUST_CHECK;
/** Frees a list from adw_workflow_list(). */
void adw_workflow_list_free(struct adw_workflow *list, int count);
/** Normalises a workflow name in place: lowercase, '-' → '_'. */
void adw_workflow_normalize(char *name);
/** True when s is a safe name: [a-z0-9_-]{1,64} after normalising. */
bool adw_workflow_name_valid(const char *s);

#endif
