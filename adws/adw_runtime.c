/* SPDX-License-Identifier: MIT */
/* Shared parts of the agent runtime interface. */
#include "adw_runtime.h"

#include <stdlib.h>
#include <string.h>

void adw_step_result_release(struct adw_step_result *r)
{
	if (!r)
		return;
	free(r->error);
	free(r->session_id);
	free(r->result_text);
	free(r->subtype);
	memset(r, 0, sizeof(*r));
}
