/* SPDX-License-Identifier: MIT */
/* Loads and renders step prompt templates. */
#include "adw_prompt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adw_buf.h"

#define TEMPLATE_MAX (1024 * 1024)

int adw_prompt_render(const char *tmpl, const struct adw_prompt_var *vars, int n, char **out,
		      struct adw_err *err)
{
	struct adw_buf b;
	const char *p = tmpl;

	adw_buf_init(&b, 0);
	while (*p) {
		const char *open = strstr(p, "{{");
		const char *close, *ns, *ne;
		const struct adw_prompt_var *v = NULL;

		if (!open) {
			if (adw_buf_adds(&b, p) < 0)
				goto fail;
			break;
		}
		if (adw_buf_add(&b, p, (size_t)(open - p)) < 0)
			goto fail;
		close = strstr(open + 2, "}}");
		if (!close) {
			adw_buf_release(&b);
			return adw_err_set(err, ADW_ERR_INVALID,
					   "unterminated placeholder in template");
		}
		ns = open + 2;
		ne = close;
		while (ns < ne && *ns == ' ')
			ns++;
		while (ne > ns && ne[-1] == ' ')
			ne--;
		for (int i = 0; i < n; i++) {
			if (strlen(vars[i].name) == (size_t)(ne - ns) &&
			    strncmp(vars[i].name, ns, (size_t)(ne - ns)) == 0)
				v = &vars[i];
		}
		if (!v) {
			adw_err_set(err, ADW_ERR_INVALID,
				    "unknown placeholder '{{%.*s}}' in template", (int)(ne - ns),
				    ns);
			adw_buf_release(&b);
			return -1;
		}
		if (adw_buf_adds(&b, v->value ? v->value : "(none)") < 0)
			goto fail;
		p = close + 2;
	}
	*out = adw_buf_detach(&b);
	return 0;
fail:
	adw_buf_release(&b);
	return adw_err_set(err, ADW_ERR_INTERNAL, "rendered prompt too large");
}

int adw_prompt_load(const struct adw_config *cfg, const char *step, char **text,
		    struct adw_err *err)
{
	char *rel = adw_xasprintf("prompts/%s.md", step);
	char *path = adw_config_data_path(cfg, rel);
	FILE *f = fopen(path, "rb");
	struct adw_buf b;
	char chunk[4096];
	size_t n;
	int rc = -1;

	adw_buf_init(&b, TEMPLATE_MAX);
	if (!f) {
		adw_err_set(err, ADW_ERR_INVALID, "no prompt template '%s' for step '%s' (%s)", rel,
			    step, strerror(errno));
		goto out;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (adw_buf_add(&b, chunk, n) < 0) {
			adw_err_set(err, ADW_ERR_INVALID, "prompt template '%s' is over 1 MiB",
				    rel);
			goto out;
		}
	}
	*text = adw_buf_detach(&b);
	rc = 0;
out:
	if (f)
		fclose(f);
	adw_buf_release(&b);
	free(path);
	free(rel);
	return rc;
}
