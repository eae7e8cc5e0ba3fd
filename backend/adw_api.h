/* SPDX-License-Identifier: MIT */
/*
 * The JSON API of adw-server (INTERFACE.md "HTTP API"): one handler per
 * route, chosen by adw_api_handle(). Runs on the HTTP pool threads.
 */
#ifndef ADW_API_H
#define ADW_API_H

#include <stdbool.h>

#include "adw_http.h"

/**
 * Answers req when its path is an API path (/healthz, /api/...): fills
 * reply and returns true. Returns false for other paths (static files).
 */
bool adw_api_handle(const struct adw_request *req, struct adw_reply *reply);

#endif
