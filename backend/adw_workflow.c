/* SPDX-License-Identifier: MIT */
/* Loads workflow definitions (JSON files under adws/workflows/). */
#include "adw_workflow.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adw_buf.h"
#include "adw_log.h"

#define WORKFLOW_FILE_MAX (256 * 1024)

void adw_workflow_normalize(char *name)
{
	for (char *p = name; p && *p; p++) {
		if (*p == '-')
			*p = '_';
		else
			*p = (char)tolower((unsigned char)*p);
	}
}

bool adw_workflow_name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 64)
		return false;
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return false;
	}
	return true;
}

void adw_workflow_release(struct adw_workflow *wf)
{
	if (!wf)
		return;
	for (int i = 0; i < wf->nsteps; i++)
		free(wf->steps[i].name);
	free(wf->steps);
	free(wf->name);
	free(wf->description);
	memset(wf, 0, sizeof(*wf));
}

void adw_workflow_list_free(struct adw_workflow *list, int count)
{
	for (int i = 0; i < count; i++)
		adw_workflow_release(&list[i]);
	free(list);
}

static char *workflows_dir(const struct adw_config *cfg)
{
	return adw_config_data_path(cfg, "adws/workflows");
}

static int parse_file(const char *path, const char *name, struct adw_workflow *wf,
		      struct adw_err *err)
{
	FILE *f = fopen(path, "rb");
	struct adw_buf text;
	char chunk[4096];
	size_t n;
	cJSON *root = NULL;
	const cJSON *steps, *desc, *it;
	int rc = -1;

	adw_buf_init(&text, WORKFLOW_FILE_MAX);
	memset(wf, 0, sizeof(*wf));
	if (!f) {
		adw_err_set(err, ADW_ERR_INTERNAL, "cannot read workflow file '%s': %s", path,
			    strerror(errno));
		goto out;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (adw_buf_add(&text, chunk, n) < 0) {
			adw_err_set(err, ADW_ERR_INTERNAL, "workflow file '%s' is too large", path);
			goto out;
		}
	}
	root = cJSON_ParseWithLength(adw_buf_str(&text), text.len);
	if (!cJSON_IsObject(root)) {
		adw_err_set(err, ADW_ERR_INTERNAL, "workflow file '%s' is not a JSON object", path);
		goto out;
	}
	steps = cJSON_GetObjectItemCaseSensitive(root, "steps");
	if (!cJSON_IsArray(steps) || cJSON_GetArraySize(steps) == 0) {
		adw_err_set(err, ADW_ERR_INTERNAL,
			    "workflow file '%s': \"steps\" must be a non-empty array", path);
		goto out;
	}
	wf->name = adw_xstrdup(name);
	desc = cJSON_GetObjectItemCaseSensitive(root, "description");
	wf->description = adw_xstrdup(cJSON_IsString(desc) ? desc->valuestring : "");
	wf->steps = adw_xcalloc((size_t)cJSON_GetArraySize(steps), sizeof(*wf->steps));
	cJSON_ArrayForEach (it, steps) {
		const char *sname = NULL;
		bool on_fail = false;

		if (cJSON_IsString(it)) {
			sname = it->valuestring;
		} else if (cJSON_IsObject(it)) {
			const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name");
			const cJSON *when = cJSON_GetObjectItemCaseSensitive(it, "when");

			sname = cJSON_IsString(nm) ? nm->valuestring : NULL;
			if (cJSON_IsString(when)) {
				if (strcmp(when->valuestring, "review_failed") != 0) {
					adw_err_set(err, ADW_ERR_INTERNAL,
						    "workflow file '%s': unknown \"when\" '%s'",
						    path, when->valuestring);
					goto out;
				}
				on_fail = true;
			}
		}
		if (!sname || !adw_workflow_name_valid(sname)) {
			adw_err_set(err, ADW_ERR_INTERNAL, "workflow file '%s': bad step %d", path,
				    wf->nsteps + 1);
			goto out;
		}
		if (strcmp(sname, "fix") == 0)
			on_fail = true;
		wf->steps[wf->nsteps].name = adw_xstrdup(sname);
		wf->steps[wf->nsteps].only_on_fail = on_fail;
		wf->nsteps++;
	}
	rc = 0;
out:
	if (rc < 0)
		adw_workflow_release(wf);
	if (f)
		fclose(f);
	cJSON_Delete(root);
	adw_buf_release(&text);
	return rc;
}

static int cmp_wf(const void *a, const void *b)
{
	return strcmp(((const struct adw_workflow *)a)->name,
		      ((const struct adw_workflow *)b)->name);
}

int adw_workflow_list(const struct adw_config *cfg, struct adw_workflow **list, int *count,
		      struct adw_err *err)
{
	char *dir = workflows_dir(cfg);
	DIR *d = opendir(dir);
	struct dirent *e;
	struct adw_workflow *out = NULL;
	int n = 0;

	*list = NULL;
	*count = 0;
	if (!d) {
		adw_err_set(err, ADW_ERR_INTERNAL, "cannot open workflows directory '%s': %s", dir,
			    strerror(errno));
		free(dir);
		return -1;
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char *name, *path;
		struct adw_err perr = {0};

		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		name = adw_xstrndup(e->d_name, len - 5);
		path = adw_xasprintf("%s/%s", dir, e->d_name);
		out = adw_xrealloc(out, (size_t)(n + 1) * sizeof(*out));
		if (!adw_workflow_name_valid(name))
			adw_err_set(&perr, ADW_ERR_INTERNAL, "bad workflow name '%s'", name);
		if (perr.code == ADW_ERR_NONE && parse_file(path, name, &out[n], &perr) == 0)
			n++;
		else
			adw_log_warn("skipping workflow file '%s': %s", path, perr.msg);
		free(name);
		free(path);
	}
	closedir(d);
	free(dir);
	if (n)
		qsort(out, (size_t)n, sizeof(*out), cmp_wf);
	*list = out;
	*count = n;
	return 0;
}

int adw_workflow_load(const struct adw_config *cfg, const char *name, struct adw_workflow *wf,
		      struct adw_err *err)
{
	char *norm = adw_xstrdup(name ? name : "");
	char *dir = NULL, *path = NULL;
	struct adw_workflow *list = NULL;
	int count = 0, rc = -1;
	FILE *f;

	memset(wf, 0, sizeof(*wf));
	adw_workflow_normalize(norm);
	if (adw_workflow_name_valid(norm)) {
		dir = workflows_dir(cfg);
		path = adw_xasprintf("%s/%s.json", dir, norm);
		f = fopen(path, "rb");
		if (f) {
			fclose(f);
			if (parse_file(path, norm, wf, err) < 0)
				goto out;
			rc = 0;
			goto out;
		}
	}
	{
		struct adw_buf known;
		struct adw_err lerr = {0};

		adw_buf_init(&known, 0);
		if (adw_workflow_list(cfg, &list, &count, &lerr) == 0) {
			for (int i = 0; i < count; i++) {
				if (adw_buf_addf(&known, "%s%s", i ? ", " : "", list[i].name) < 0)
					break;
			}
		}
		adw_err_set(err, ADW_ERR_INVALID, "unknown workflow '%s' (known: %s)",
			    name ? name : "", count ? adw_buf_str(&known) : "none");
		adw_buf_release(&known);
	}
out:
	adw_workflow_list_free(list, count);
	free(path);
	free(dir);
	free(norm);
	return rc;
}
