/* SPDX-License-Identifier: MIT */
/*
 * Prompt templates: prompts/<step>.md with {{name}} placeholders, rendered
 * by the runner with the ADW's values. An unknown placeholder is an error,
 * so a template never reaches an agent half-filled. Pure functions.
 */
#ifndef ADW_PROMPT_H
#define ADW_PROMPT_H

#include "adw_config.h"
#include "adw_err.h"

struct adw_prompt_var {
	const char *name;  /* e.g. "prompt" for {{prompt}} */
	const char *value; /* NULL renders as "(none)" */
};

/**
 * Replaces each {{name}} in tmpl (spaces inside the braces allowed) with
 * its value from vars[0..n). Returns 0 with *out (caller frees), or -1 with
 * err (INVALID) naming an unknown or unterminated placeholder.
 */
int adw_prompt_render(const char *tmpl, const struct adw_prompt_var *vars, int n, char **out,
		      struct adw_err *err) ADW_MUST_CHECK;
/**
 * Reads <data>/prompts/<step>.md into *text (caller frees). Errors:
 * INVALID "no prompt template 'prompts/x.md' for step 'x'".
 */
int adw_prompt_load(const struct adw_config *cfg, const char *step, char **text,
		    struct adw_err *err) ADW_MUST_CHECK;

#endif
