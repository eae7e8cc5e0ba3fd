/* SPDX-License-Identifier: MIT */
/*
 * The "claude" runtime's process side: fork+exec of the CLI with an argv,
 * one poll() loop over its stdout and stderr, timeout and cancel through
 * the child's process group, and the final verdict. The line parsing lives
 * in adw_streamjson.c.
 */
#include "adw_claude.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adw_ask.h"
#include "adw_buf.h"
#include "adw_event.h"
#include "adw_log.h"
#include "adw_mem.h"
#include "adw_proc.h"
#include "adw_streamjson.h"

#define TICK_MS 250	       /* longest poll() wait: timeouts and cancel are checked this often */
#define DRAIN_MS 2000	       /* reading goes on this long after exit (leftovers may hold pipes) */
#define READ_CHUNK (256 << 10) /* bytes per read() */
#define STDERR_KEEP 4096       /* stderr tail kept for messages */
#define STDERR_SHOWN 600       /* at most this much of it in res->error */
#define INTERRUPT_WAIT_MS 10000 /* a pause waits this long for the interrupted query's result */
#define CANCEL_GRACE_MS 2000	/* a cancel waits this long for claude to stop before SIGTERM */
#define RESUME_PROMPT                                                                              \
	"You were paused by the user and have now been resumed. Continue the task where you "      \
	"stopped."

static volatile sig_atomic_t cancel_requested;

struct claude_run {
	const struct adw_step_ctx *ctx;
	struct adw_step_result *res;
	pid_t pid;  /* also the process group id */
	int out_fd; /* claude's stdout, -1 once closed */
	int err_fd; /* claude's stderr, -1 once closed */
	bool reaped;
	int status; /* waitpid status once reaped */
	bool timed_out;
	bool cancelled;
	long long deadline;    /* monotonic ms of the timeout; 0 = none */
	long long kill_at;     /* monotonic ms of the SIGKILL; 0 = not due */
	long long drain_until; /* monotonic ms when we stop reading after exit */
	char *chunk;	       /* READ_CHUNK bytes */
	struct adw_buf err_tail;
	struct adw_streamjson sj;

	/* stream-json input (agent-protocols.md §1.4) and steering */
	int in_fd;	       /* claude's stdin, -1 once closed */
	struct adw_buf in_buf; /* bytes not yet written to it */
	int sent;	       /* user messages written to this process */
	int turns;	       /* instructions of this process whose turn began */
	int inits_base;	       /* sj.inits when this process started */
	int results_base;      /* sj.results when this process started */
	int requests;	       /* control requests sent (their ids) */
	bool pausing;	       /* an interrupt was sent for a pause */
	long long pause_until; /* monotonic ms: stop waiting for the interrupt */
	long long term_at;     /* monotonic ms of a cancel's SIGTERM; 0 = not due */
	bool ask_broken;       /* the ask socket failed: stop polling it */
	long long paused_ms;   /* time spent paused (not counted by the timeout) */
	bool budget_off;       /* over the budget, and told to go on: no --max-budget-usd */
};

void adw_claude_cancel(void)
{
	cancel_requested = 1;
}

const char *adw_claude_allowed_tools(const char *step)
{
	if (step && !strcmp(step, "review"))
		return "Read,Glob,Grep,Bash,Write";
	if (step && !strcmp(step, "fix"))
		return "Read,Glob,Grep,Bash,Write,Edit,Task,TodoWrite";
	return "Read,Glob,Grep,Bash,Write,Edit,Task,TodoWrite,WebFetch,WebSearch";
}

static const char *step_name(const struct adw_step_ctx *ctx)
{
	return ctx->step ? ctx->step : "?";
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void emit_system(struct claude_run *cr, const char *type, const char *content)
{
	struct adw_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.category = ADW_CAT_SYSTEM;
	ev.type = type;
	ev.content = content;
	if (cr->ctx->emit)
		(void)cr->ctx->emit(cr->ctx->emit_ud, &ev);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * In the child, between fork and exec. adw-run is single-threaded, so libc
 * is consistent here, but keep to plain system calls. On failure writes
 * {stage, errno} to report (0: chdir, 1: exec) and exits 127.
 */
__attribute__((noreturn)) static void child_exec(const char *path, const char *const *argv,
						 const char *cwd, int in_r, int out_w, int err_w,
						 int report, pid_t parent, const char *tool_timeout)
{
	static const int reset[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD};
	int msg[2] = {0, 0};
	sigset_t none;
	int in;

	setpgid(0, 0);
	/* Die with adw-run; if it is already gone, do not run at all. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (size_t i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
		signal(reset[i], SIG_DFL);
	if (chdir(cwd) < 0)
		goto fail;
	msg[0] = 1;
	/* Lift the sources above 2 first so no dup2 clobbers another. */
	in = fcntl(in_r, F_DUPFD_CLOEXEC, 3);
	out_w = fcntl(out_w, F_DUPFD_CLOEXEC, 3);
	err_w = fcntl(err_w, F_DUPFD_CLOEXEC, 3);
	if (in < 0 || out_w < 0 || err_w < 0 || dup2(in, 0) < 0 || dup2(out_w, 1) < 0 ||
	    dup2(err_w, 2) < 0)
		goto fail;
	/* A claude started from inside a Claude Code session refuses to run. */
	unsetenv("CLAUDECODE");
	/* A question may wait for a person far longer than an MCP tool usually runs. */
	if (tool_timeout)
		setenv("MCP_TOOL_TIMEOUT", tool_timeout, 1);
	execv(path, (char *const *)argv);
fail:
	msg[1] = errno;
	if (write(report, msg, sizeof(msg)) < 0) {
		/* nothing left to tell */
	}
	_exit(127);
}

/*
 * Forks and execs; fills cr->pid and the read ends. Returns 0, or -1 with
 * res->error set (and no child left behind).
 */
static int start(struct claude_run *cr, const char *path, const char *const *argv)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, rep[2] = {-1, -1};
	int msg[2];
	pid_t parent = getpid(), pid;
	char tool_timeout[32];
	ssize_t n;
	int rc = -1;

	snprintf(tool_timeout, sizeof(tool_timeout), "%lld",
		 cr->ctx->cfg ? (cr->ctx->cfg->question_timeout_s + 60) * 1000LL : 3600000LL);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    pipe2(rep, O_CLOEXEC) < 0) {
		cr->res->error = adw_xasprintf("cannot start claude: pipe: %s", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		cr->res->error = adw_xasprintf("cannot start claude: fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		child_exec(path, argv, cr->ctx->working_dir, in[0], out[1], err[1], rep[1], parent,
			   tool_timeout);
	/* Both sides set the group, so a kill right after fork already reaches it. */
	setpgid(pid, pid);
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&err[1]);
	close_fd(&rep[1]);
	do {
		n = read(rep[0], msg, sizeof(msg));
	} while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(msg)) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
		}
		if (msg[0] == 0)
			cr->res->error = adw_xasprintf("cannot start claude: working dir '%s': %s",
						       cr->ctx->working_dir, strerror(msg[1]));
		else
			cr->res->error =
			    adw_xasprintf("cannot start claude '%s': %s", path, strerror(msg[1]));
		goto out;
	}
	cr->pid = pid;
	cr->in_fd = in[1];
	cr->out_fd = out[0];
	cr->err_fd = err[0];
	in[1] = out[0] = err[0] = -1;
	fcntl(cr->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(cr->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(cr->err_fd, F_SETFL, O_NONBLOCK);
	rc = 0;
out:
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	close_fd(&rep[0]);
	close_fd(&rep[1]);
	return rc;
}

/* SIGTERM to the whole group now, SIGKILL after the grace period. */
static void stop_group(struct claude_run *cr, const char *why)
{
	char *msg = adw_xasprintf("%s: stopping claude (process group %d)", why, (int)cr->pid);

	adw_log_warn("claude: step %s: %s", step_name(cr->ctx), msg);
	emit_system(cr, "SystemWarning", msg);
	free(msg);
	kill(-cr->pid, SIGTERM);
	cr->kill_at = now_ms() + ADW_CLAUDE_KILL_GRACE_S * 1000LL;
}

static void read_stdout(struct claude_run *cr)
{
	ssize_t n = read(cr->out_fd, cr->chunk, READ_CHUNK);

	if (n > 0)
		adw_streamjson_feed(&cr->sj, cr->chunk, (size_t)n);
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		close_fd(&cr->out_fd);
}

static void read_stderr(struct claude_run *cr)
{
	ssize_t n = read(cr->err_fd, cr->chunk, READ_CHUNK);
	size_t off = 0;

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		close_fd(&cr->err_fd);
		return;
	}
	if (n < 0)
		return;
	/* Pass it through to our stderr (the ADW's log file). */
	while (off < (size_t)n) {
		ssize_t w = write(STDERR_FILENO, cr->chunk + off, (size_t)n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (adw_buf_add(&cr->err_tail, cr->chunk, (size_t)n) == 0 &&
	    cr->err_tail.len > 2 * STDERR_KEEP)
		adw_buf_consume(&cr->err_tail, cr->err_tail.len - STDERR_KEEP);
}

static void check_child(struct claude_run *cr)
{
	pid_t r;

	if (cr->reaped)
		return;
	do {
		r = waitpid(cr->pid, &cr->status, WNOHANG);
	} while (r < 0 && errno == EINTR);
	if (r == cr->pid || (r < 0 && errno == ECHILD)) {
		cr->reaped = true;
		cr->drain_until = now_ms() + DRAIN_MS;
	}
}

/* Queues one stream-json input line (a JSON object) for claude's stdin. */
static void queue_line(struct claude_run *cr, cJSON *obj)
{
	char *line = cJSON_PrintUnformatted(obj);

	if (cr->in_fd >= 0 && line &&
	    (adw_buf_adds(&cr->in_buf, line) < 0 || adw_buf_adds(&cr->in_buf, "\n") < 0))
		adw_log_error("claude: step %s: input line dropped", step_name(cr->ctx));
	free(line);
	cJSON_Delete(obj);
}

/* A user message: {"type":"user","message":{"role":"user","content":text},...}. */
static void queue_user(struct claude_run *cr, const char *text)
{
	cJSON *o = cJSON_CreateObject(), *m;

	cJSON_AddStringToObject(o, "type", "user");
	m = cJSON_AddObjectToObject(o, "message");
	cJSON_AddStringToObject(m, "role", "user");
	cJSON_AddStringToObject(m, "content", text);
	cJSON_AddNullToObject(o, "parent_tool_use_id");
	cJSON_AddStringToObject(o, "session_id", cr->ctx->session_id);
	queue_line(cr, o);
	cr->sent++;
}

/* A control request {"type":"control_request","request_id":…,"request":{"subtype":…}}. */
static void queue_control(struct claude_run *cr, const char *subtype)
{
	cJSON *o = cJSON_CreateObject(), *r;
	char id[32];

	snprintf(id, sizeof(id), "adw-%d", ++cr->requests);
	cJSON_AddStringToObject(o, "type", "control_request");
	cJSON_AddStringToObject(o, "request_id", id);
	r = cJSON_AddObjectToObject(o, "request");
	cJSON_AddStringToObject(r, "subtype", subtype);
	queue_line(cr, o);
}

/* Writes what claude's stdin can take; closes it once drained when asked to. */
static void write_stdin(struct claude_run *cr)
{
	while (cr->in_fd >= 0 && cr->in_buf.len) {
		ssize_t w = write(cr->in_fd, cr->in_buf.data, cr->in_buf.len);

		if (w > 0) {
			adw_buf_consume(&cr->in_buf, (size_t)w);
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && errno == EAGAIN) {
			return;
		} else {
			/* claude closed its stdin or exited: nothing more reaches it */
			adw_buf_consume(&cr->in_buf, cr->in_buf.len);
			close_fd(&cr->in_fd);
		}
	}
}

/* Gives claude the instructions waiting; each becomes a user message. */
static void deliver(struct claude_run *cr)
{
	const struct adw_step_ctx *ctx = cr->ctx;
	struct adw_instruction in;

	while (cr->in_fd >= 0 && ctx->next_instruction &&
	       ctx->next_instruction(ctx->emit_ud, &in) == 0) {
		char *text = adw_xasprintf("Instruction from the user (sent through adw while you "
					   "work): %s",
					   in.text ? in.text : "");

		queue_user(cr, text);
		write_stdin(cr);
		if (ctx->delivered)
			ctx->delivered(ctx->emit_ud, in.id);
		free(text);
		free(in.text);
	}
}

/* Follows the queries' starts and ends: turns for instructions, end of input. */
static void follow_queries(struct claude_run *cr)
{
	const struct adw_step_ctx *ctx = cr->ctx;
	int delivered = cr->sent - 1; /* the first message is the prompt */
	int results = cr->sj.results - cr->results_base;

	/* Each query after the first is the turn of the next instruction. */
	while (cr->turns < delivered && cr->sj.inits - cr->inits_base - 1 > cr->turns) {
		cr->turns++;
		if (ctx->turn_started)
			ctx->turn_started(ctx->emit_ud);
	}
	if (cr->in_fd < 0 || results < cr->sent || cr->in_buf.len)
		return;
	/* Every message written has its result: the CLI may end. */
	close_fd(&cr->in_fd);
	/* The queries that ended have seen whatever was delivered, own init or not. */
	while (cr->turns < delivered) {
		cr->turns++;
		if (ctx->turn_started)
			ctx->turn_started(ctx->emit_ud);
	}
}

/* Carries out the runner's order: pause (interrupt), cancel (interrupt, then signals). */
static void obey(struct claude_run *cr, enum adw_step_order order, long long now)
{
	if (cr->reaped || cr->cancelled || cr->timed_out)
		return;
	if (order == ADW_STEP_CANCEL) {
		cr->cancelled = true;
		emit_system(cr, "SystemWarning", "step cancelled: interrupting claude");
		if (cr->in_fd >= 0) {
			queue_control(cr, "interrupt");
			write_stdin(cr);
			close_fd(&cr->in_fd);
		}
		cr->term_at = now + CANCEL_GRACE_MS;
	} else if (order == ADW_STEP_PAUSE && !cr->pausing && cr->in_fd >= 0) {
		cr->pausing = true;
		emit_system(cr, "SystemInfo", "pause requested: interrupting claude at its turn");
		queue_control(cr, "interrupt");
		write_stdin(cr);
		cr->pause_until = now + INTERRUPT_WAIT_MS;
	}
}

/* Reads until claude has exited and its pipes are closed, enforcing limits. */
static void supervise(struct claude_run *cr)
{
	const struct adw_step_ctx *ctx = cr->ctx;

	for (;;) {
		struct pollfd p[5];
		nfds_t np = 0;
		long long now;
		int wait_ms = TICK_MS;

		/* Write the buffered events and read control messages before obeying. */
		if (ctx->idle)
			ctx->idle(ctx->emit_ud);
		check_child(cr);
		now = now_ms();
		if (cr->reaped && cr->out_fd < 0 && cr->err_fd < 0)
			break;
		if (cr->reaped && now >= cr->drain_until) {
			/* Something it started still holds the pipes: end it. */
			adw_log_warn("claude: step %s: output open after exit; killing group %d",
				     step_name(ctx), (int)cr->pid);
			kill(-cr->pid, SIGKILL);
			break;
		}
		if (!cr->reaped && !cr->cancelled && !cr->timed_out) {
			if (cancel_requested) {
				cr->cancelled = true;
				stop_group(cr, "step cancelled");
			} else if (cr->deadline && now >= cr->deadline + cr->paused_ms) {
				char why[64];

				cr->timed_out = true;
				snprintf(why, sizeof(why), "step timed out after %d s",
					 ctx->timeout_s);
				stop_group(cr, why);
			} else if (ctx->control) {
				obey(cr, ctx->control(ctx->emit_ud), now);
			}
		}
		if (!cr->reaped && cr->term_at && now >= cr->term_at) {
			cr->term_at = 0;
			stop_group(cr, "step cancelled");
		}
		if (!cr->reaped && cr->pausing && cr->pause_until && now >= cr->pause_until) {
			cr->pause_until = 0;
			close_fd(&cr->in_fd);
			stop_group(cr, "pause: claude did not stop at its turn");
		}
		if (!cr->reaped && cr->kill_at && now >= cr->kill_at) {
			kill(-cr->pid, SIGKILL);
			cr->kill_at = 0;
		}
		if (!cr->pausing && !cr->cancelled)
			deliver(cr);
		follow_queries(cr);
		if (cr->out_fd >= 0)
			p[np++] = (struct pollfd){.fd = cr->out_fd, .events = POLLIN};
		if (cr->err_fd >= 0)
			p[np++] = (struct pollfd){.fd = cr->err_fd, .events = POLLIN};
		if (cr->in_fd >= 0 && cr->in_buf.len)
			p[np++] = (struct pollfd){.fd = cr->in_fd, .events = POLLOUT};
		if (ctx->control && ctx->control_fd) {
			int cfd = ctx->control_fd(ctx->emit_ud);

			if (cfd >= 0)
				p[np++] = (struct pollfd){.fd = cfd, .events = POLLIN};
		}
		if (ctx->ask && ctx->ask_fd >= 0 && !cr->ask_broken)
			p[np++] = (struct pollfd){.fd = ctx->ask_fd, .events = POLLIN};
		if (cr->out_fd < 0 && cr->err_fd < 0)
			wait_ms = 20; /* pipes closed: only waiting for the exit */
		if (poll(p, np, wait_ms) < 0 && errno != EINTR) {
			adw_log_error("claude: poll: %s", strerror(errno));
			break;
		}
		for (nfds_t i = 0; i < np; i++) {
			if (!p[i].revents)
				continue;
			if (p[i].fd == cr->out_fd)
				read_stdout(cr);
			else if (p[i].fd == cr->err_fd)
				read_stderr(cr);
			else if (p[i].fd == cr->in_fd)
				write_stdin(cr);
			else if (p[i].fd == ctx->ask_fd && !cr->ask_broken &&
				 adw_ask_serve(ctx->ask_fd, ctx->ask, ctx->emit_ud) < 0)
				cr->ask_broken = true;
		}
	}
	if (!cr->reaped) {
		while (waitpid(cr->pid, &cr->status, 0) < 0 && errno == EINTR) {
		}
		cr->reaped = true;
	}
	close_fd(&cr->in_fd);
	adw_buf_consume(&cr->in_buf, cr->in_buf.len);
	adw_streamjson_finish(&cr->sj);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * The last three stderr lines that hold text, trimmed and joined with
 * " | ", at most STDERR_SHOWN bytes from the end. Returns a new string
 * ("" when there was no stderr).
 */
static char *stderr_tail(const struct adw_buf *b)
{
	const char *s = adw_buf_str(b);
	const char *line[3];
	size_t len[3], end = b->len, start;
	int n = 0;
	struct adw_buf out;
	char *cut;

	while (n < 3 && end > 0) {
		start = end;
		while (start > 0 && s[start - 1] != '\n')
			start--;
		len[n] = end - start;
		line[n] = s + start;
		while (len[n] && is_space(line[n][len[n] - 1]))
			len[n]--;
		while (len[n] && is_space(*line[n])) {
			line[n]++;
			len[n]--;
		}
		if (len[n])
			n++;
		end = start ? start - 1 : 0;
	}
	adw_buf_init(&out, 0);
	for (int i = n - 1; i >= 0; i--) {
		if (out.len && adw_buf_adds(&out, " | ") < 0)
			break;
		if (adw_buf_add(&out, line[i], len[i]) < 0)
			break;
	}
	if (out.len <= STDERR_SHOWN)
		return adw_buf_detach(&out);
	start = out.len - STDERR_SHOWN;
	while (start < out.len && ((unsigned char)out.data[start] & 0xC0) == 0x80)
		start++;
	cut = adw_xasprintf("...%s", out.data + start);
	adw_buf_release(&out);
	return cut;
}

static void verdict(struct claude_run *cr)
{
	struct adw_step_result *res = cr->res;
	char desc[128];

	adw_proc_describe(cr->status, desc, sizeof(desc));
	/* The sums of every query of every process of the step. */
	res->input_tokens = cr->sj.total.input_tokens;
	res->output_tokens = cr->sj.total.output_tokens;
	res->cost_usd = cr->sj.total.cost_usd;
	res->duration_ms = cr->sj.total.duration_ms;
	res->num_turns = cr->sj.total.num_turns;
	if (cr->cancelled) {
		res->ok = false;
		free(res->error);
		res->error = adw_xstrdup("step cancelled");
		return;
	}
	if (cr->sj.got_result) {
		/* The result decides, even when the CLI hung or failed after it. */
		if (res->ok && !(WIFEXITED(cr->status) && WEXITSTATUS(cr->status) == 0))
			adw_log_warn("claude: step %s: successful result, but claude %s",
				     step_name(cr->ctx), desc);
		return;
	}
	res->ok = false;
	free(res->error);
	if (cr->timed_out) {
		res->error = adw_xasprintf("step timed out after %d s", cr->ctx->timeout_s);
	} else {
		char *tail = stderr_tail(&cr->err_tail);

		res->error =
		    adw_xasprintf("claude %s without a result%s%s", desc, *tail ? ": " : "", tail);
		free(tail);
	}
}

/* adw-mcp, the MCP server through which the agent asks questions; NULL when absent. */
static char *mcp_bin(const struct adw_config *cfg)
{
	const char *env = getenv("ADW_MCP_BIN");
	char *path, *slash;

	if (env && *env)
		return access(env, X_OK) == 0 ? adw_xstrdup(env) : NULL;
	if (!cfg || !cfg->run_bin)
		return NULL;
	path = adw_xasprintf("%s", cfg->run_bin);
	slash = strrchr(path, '/');
	if (slash) {
		*slash = '\0';
		slash = adw_xasprintf("%s/adw-mcp", path);
		free(path);
		path = slash;
	} else {
		free(path);
		path = adw_xstrdup("adw-mcp");
	}
	if (access(path, X_OK) != 0) {
		free(path);
		return NULL;
	}
	return path;
}

/* --mcp-config's JSON: the "adw" server, told where the runner listens. */
static char *mcp_config(const char *bin, const char *socket)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *srv = cJSON_AddObjectToObject(cJSON_AddObjectToObject(root, "mcpServers"), "adw");
	cJSON *env;
	char *s;

	cJSON_AddStringToObject(srv, "type", "stdio");
	cJSON_AddStringToObject(srv, "command", bin);
	cJSON_AddItemToObject(srv, "args", cJSON_CreateArray());
	env = cJSON_AddObjectToObject(srv, "env");
	cJSON_AddStringToObject(env, "ADW_ASK_SOCKET", socket);
	s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return s;
}

/*
 * Starts one claude process of the step: the first with --session-id, a
 * resumed one (after a pause) with --resume; the prompt and then any
 * waiting instructions go in as stream-json user messages.
 */
static int launch(struct claude_run *cr, const char *path, bool resumed, const char *prompt)
{
	const struct adw_step_ctx *ctx = cr->ctx;
	const char *argv[24];
	char *tools = NULL, *mcp = NULL, *config = NULL;
	char budget[32];
	int argc = 0, rc;

	if (ctx->ask && ctx->ask_socket && (mcp = mcp_bin(ctx->cfg)) != NULL) {
		config = mcp_config(mcp, ctx->ask_socket);
		tools = adw_xasprintf("%s,mcp__adw__ask_user", adw_claude_allowed_tools(ctx->step));
	} else if (ctx->ask && ctx->ask_socket) {
		adw_log_warn("claude: step %s: adw-mcp not found: the agent cannot ask questions",
			     step_name(ctx));
	}
	argv[argc++] = path;
	argv[argc++] = "-p";
	argv[argc++] = "--input-format";
	argv[argc++] = "stream-json";
	argv[argc++] = "--output-format";
	argv[argc++] = "stream-json";
	argv[argc++] = "--verbose";
	argv[argc++] = resumed ? "--resume" : "--session-id";
	argv[argc++] = ctx->session_id;
	argv[argc++] = "--permission-mode";
	argv[argc++] = "acceptEdits";
	argv[argc++] = "--allowedTools";
	argv[argc++] = tools ? tools : adw_claude_allowed_tools(ctx->step);
	if (config) {
		argv[argc++] = "--mcp-config";
		argv[argc++] = config;
	}
	if (ctx->model && *ctx->model) {
		argv[argc++] = "--model";
		argv[argc++] = ctx->model;
	}
	if (ctx->budget_usd > 0 && !cr->budget_off) {
		/* What is left of it: earlier processes of this step spent the rest. */
		double left = ctx->budget_usd - cr->sj.total.cost_usd;

		snprintf(budget, sizeof(budget), "%.6f", left > 0.000001 ? left : 0.000001);
		argv[argc++] = "--max-budget-usd";
		argv[argc++] = budget;
	}
	argv[argc] = NULL;
	adw_log_info("claude: step %s: %s %s (session %s, model %s) in %s", step_name(ctx),
		     resumed ? "resuming" : "starting", path, ctx->session_id,
		     ctx->model ? ctx->model : "default", ctx->working_dir);
	cr->reaped = false;
	cr->kill_at = cr->term_at = cr->pause_until = cr->drain_until = 0;
	cr->pausing = false;
	cr->sent = cr->turns = 0;
	cr->inits_base = cr->sj.inits;
	cr->results_base = cr->sj.results;
	rc = start(cr, path, argv);
	if (rc == 0)
		queue_user(cr, prompt);
	free(tools);
	free(mcp);
	free(config);
	return rc;
}

int adw_claude_run_step(const struct adw_step_ctx *ctx, struct adw_step_result *res)
{
	const struct adw_config *cfg = ctx->cfg;
	const char *bin = cfg && cfg->claude_bin && *cfg->claude_bin ? cfg->claude_bin : "claude";
	struct claude_run cr;
	char *path = NULL, *resume_prompt = NULL;
	bool resumed = ctx->resume_session;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	memset(&cr, 0, sizeof(cr));
	cr.ctx = ctx;
	cr.res = res;
	cr.out_fd = cr.err_fd = cr.in_fd = -1;
	adw_buf_init(&cr.err_tail, 0);
	adw_buf_init(&cr.in_buf, 0);
	adw_streamjson_init(&cr.sj, ctx->emit, ctx->emit_ud, res);
	res->session_id = adw_xstrdup(ctx->session_id);

	if (!ctx->prompt || !ctx->session_id || !ctx->working_dir) {
		res->error = adw_xstrdup("cannot start claude: prompt, session id and working dir "
					 "are required");
		goto out;
	}
	if (cancel_requested) {
		res->error = adw_xstrdup("step cancelled");
		rc = 0;
		goto out;
	}
	path = adw_config_which(bin);
	if (!path) {
		res->error =
		    strchr(bin, '/')
			? adw_xasprintf("cannot start claude: '%s' is not an executable", bin)
			: adw_xasprintf("cannot start claude: '%s' not found on PATH", bin);
		goto out;
	}
	cr.chunk = adw_xmalloc(READ_CHUNK);
	if (ctx->timeout_ms > 0)
		cr.deadline = now_ms() + ctx->timeout_ms;
	else if (ctx->timeout_s > 0)
		cr.deadline = now_ms() + ctx->timeout_s * 1000LL;
	/* The resumed session has the task; the reminder keeps the contract in view. */
	resume_prompt = ctx->artifact
			    ? adw_xasprintf("%s\n\nOutput file: %s\n", RESUME_PROMPT, ctx->artifact)
			    : adw_xstrdup(RESUME_PROMPT);
	for (;;) {
		if (launch(&cr, path, resumed, resumed ? resume_prompt : ctx->prompt) < 0) {
			adw_log_error("claude: step %s: %s", step_name(ctx), res->error);
			goto out;
		}
		supervise(&cr);
		close_fd(&cr.out_fd);
		close_fd(&cr.err_fd);
		/* Interrupted for a pause: wait, then resume the same session. */
		if (cr.pausing && !cr.cancelled && !cr.timed_out && !res->ok && ctx->pause) {
			long long t0 = now_ms();
			enum adw_step_order order = ctx->pause(ctx->emit_ud);

			cr.paused_ms += now_ms() - t0;
			if (order == ADW_STEP_RUN) {
				resumed = true;
				continue;
			}
			cr.cancelled = true;
		}
		/* The CLI stopped at the budget: a person decides (session kept). */
		if (!cr.cancelled && !cr.timed_out && !res->ok && !cr.budget_off &&
		    ctx->over_budget && res->subtype &&
		    strcmp(res->subtype, "error_max_budget_usd") == 0) {
			long long t0 = now_ms();
			enum adw_step_order order =
			    ctx->over_budget(ctx->emit_ud, cr.sj.total.cost_usd);

			cr.paused_ms += now_ms() - t0;
			if (order == ADW_STEP_RUN) {
				cr.budget_off = true;
				resumed = true;
				continue;
			}
		}
		break;
	}
	verdict(&cr);
	if (res->ok)
		adw_log_info("claude: step %s: succeeded (%d turns, %lld/%lld tokens, $%.4f)",
			     step_name(ctx), res->num_turns, res->input_tokens, res->output_tokens,
			     res->cost_usd);
	else
		adw_log_warn("claude: step %s: failed: %s", step_name(ctx),
			     res->error ? res->error : "?");
	rc = 0;
out:
	close_fd(&cr.out_fd);
	close_fd(&cr.err_fd);
	close_fd(&cr.in_fd);
	free(cr.chunk);
	adw_buf_release(&cr.err_tail);
	adw_buf_release(&cr.in_buf);
	adw_streamjson_release(&cr.sj);
	free(resume_prompt);
	free(path);
	return rc;
}
