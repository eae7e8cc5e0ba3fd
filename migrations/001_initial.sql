-- adw schema, version 1: the original's tables (original.md §2a) with its
-- faults fixed. Applied by `adw migrate` / adw-server in one transaction.

-- The generic updated_at trigger function the original referenced but never defined.
CREATE FUNCTION update_updated_at_column() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.updated_at = now();
	RETURN NEW;
END
$$;

-- UTC ISO-8601 with microseconds, the one timestamp format of the API.
CREATE FUNCTION adw_ts(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

CREATE TABLE orchestrator_agents (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	session_id text UNIQUE,
	system_prompt text,
	status text NOT NULL DEFAULT 'idle'
		CHECK (status IN ('idle', 'executing', 'waiting', 'blocked', 'complete')),
	working_dir text,
	input_tokens bigint NOT NULL DEFAULT 0,
	output_tokens bigint NOT NULL DEFAULT 0,
	total_cost numeric(14, 6) NOT NULL DEFAULT 0,
	archived boolean NOT NULL DEFAULT false,
	metadata jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE orchestrator_agents IS 'the persistent orchestrator: one row, kept across restarts';
CREATE TRIGGER orchestrator_agents_updated_at BEFORE UPDATE ON orchestrator_agents
	FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

-- The one orchestrator record: a restart keeps every agent, ADW and chat message.
INSERT INTO orchestrator_agents (id, system_prompt, status)
VALUES ('00000000-0000-0000-0000-ad0000000000',
	'deterministic command router (start adw: <workflow>: <prompt>)', 'idle');

CREATE TABLE ai_developer_workflows (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	orchestrator_agent_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-ad0000000000'
		REFERENCES orchestrator_agents (id) ON DELETE CASCADE,
	adw_name text NOT NULL CHECK (adw_name <> ''),
	workflow_type text NOT NULL,
	description text,
	status text NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'in_progress', 'paused', 'awaiting_input',
				  'completed', 'failed', 'cancelled')),
	prompt text NOT NULL CHECK (prompt <> ''),
	working_dir text NOT NULL,
	runtime text NOT NULL CHECK (runtime IN ('claude', 'dry-run')),
	model text,
	current_step text,
	total_steps integer NOT NULL DEFAULT 0 CHECK (total_steps >= 0),
	completed_steps integer NOT NULL DEFAULT 0 CHECK (completed_steps >= 0),
	verdict text CHECK (verdict IN ('PASS', 'FAIL')),
	started_at timestamptz,
	completed_at timestamptz,
	duration_ms bigint,
	input_data jsonb NOT NULL DEFAULT '{}',
	output_data jsonb NOT NULL DEFAULT '{}',
	error_message text,
	error_step text,
	error_count integer NOT NULL DEFAULT 0,
	input_tokens bigint NOT NULL DEFAULT 0,
	output_tokens bigint NOT NULL DEFAULT 0,
	cost_usd numeric(14, 6) NOT NULL DEFAULT 0,
	worker_host text,
	worker_pid integer,
	log_path text,
	metadata jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN ai_developer_workflows.output_data IS 'artifacts {plan, review, fix} paths and the verdict';
COMMENT ON COLUMN ai_developer_workflows.cost_usd IS 'USD, the sum of its step agents';
CREATE INDEX ai_developer_workflows_status ON ai_developer_workflows (status);
CREATE INDEX ai_developer_workflows_created ON ai_developer_workflows (created_at DESC);
CREATE INDEX ai_developer_workflows_name ON ai_developer_workflows (adw_name);
CREATE INDEX ai_developer_workflows_pending ON ai_developer_workflows (created_at)
	WHERE status = 'pending';
CREATE TRIGGER ai_developer_workflows_updated_at BEFORE UPDATE ON ai_developer_workflows
	FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

-- Wake supervisors when work arrives, whoever inserted it (API, chat or CLI).
CREATE FUNCTION adw_notify_pending() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('adw_pending', '');
	RETURN NULL;
END
$$;
CREATE TRIGGER ai_developer_workflows_pending AFTER INSERT OR UPDATE OF status
	ON ai_developer_workflows FOR EACH STATEMENT EXECUTE FUNCTION adw_notify_pending();

CREATE TABLE agents (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	orchestrator_agent_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-ad0000000000'
		REFERENCES orchestrator_agents (id) ON DELETE CASCADE,
	name text NOT NULL,
	model text NOT NULL,
	runtime text,
	system_prompt text,
	working_dir text,
	git_worktree text,
	status text NOT NULL DEFAULT 'idle'
		CHECK (status IN ('idle', 'executing', 'waiting', 'blocked', 'complete')),
	session_id text,
	adw_id uuid REFERENCES ai_developer_workflows (id) ON DELETE CASCADE,
	adw_step text,
	input_tokens bigint NOT NULL DEFAULT 0,
	output_tokens bigint NOT NULL DEFAULT 0,
	total_cost numeric(14, 6) NOT NULL DEFAULT 0,
	archived boolean NOT NULL DEFAULT false,
	metadata jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
-- Unique among live agents only: an archived name can be used again.
CREATE UNIQUE INDEX agents_name_live ON agents (orchestrator_agent_id, name) WHERE NOT archived;
CREATE INDEX agents_adw ON agents (adw_id) WHERE adw_id IS NOT NULL;
CREATE INDEX agents_updated ON agents (updated_at DESC);
CREATE TRIGGER agents_updated_at BEFORE UPDATE ON agents
	FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

CREATE TABLE adw_steps (
	adw_id uuid NOT NULL REFERENCES ai_developer_workflows (id) ON DELETE CASCADE,
	position integer NOT NULL CHECK (position >= 0),
	name text NOT NULL,
	status text NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'running', 'completed', 'failed', 'skipped', 'cancelled')),
	agent_id uuid REFERENCES agents (id) ON DELETE SET NULL,
	started_at timestamptz,
	ended_at timestamptz,
	duration_ms bigint,
	verdict text CHECK (verdict IN ('PASS', 'FAIL')),
	artifact text,
	error text,
	PRIMARY KEY (adw_id, position)
);

CREATE TABLE prompts (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	agent_id uuid REFERENCES agents (id) ON DELETE CASCADE,
	adw_id uuid REFERENCES ai_developer_workflows (id) ON DELETE CASCADE,
	task_slug text,
	author text NOT NULL CHECK (author IN ('engineer', 'orchestrator_agent', 'adw_runner')),
	prompt_text text NOT NULL,
	summary text,
	session_id text,
	timestamp timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX prompts_agent ON prompts (agent_id);

-- The event log: every event of every ADW, agent, chat and system. The id
-- is the stream cursor (agent_logs + system_logs of the original in one).
CREATE TABLE events (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	adw_id uuid REFERENCES ai_developer_workflows (id) ON DELETE CASCADE,
	agent_id uuid REFERENCES agents (id) ON DELETE SET NULL,
	step text,
	category text NOT NULL
		CHECK (category IN ('adw_step', 'response', 'hook', 'system', 'chat',
				    'control', 'file_tracking')),
	type text NOT NULL CHECK (type <> ''),
	content text NOT NULL DEFAULT '',
	summary text NOT NULL DEFAULT '',
	payload jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX events_adw ON events (adw_id, id) WHERE adw_id IS NOT NULL;
CREATE INDEX events_agent ON events (agent_id, id) WHERE agent_id IS NOT NULL;

CREATE TABLE orchestrator_chat (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	orchestrator_agent_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-ad0000000000'
		REFERENCES orchestrator_agents (id) ON DELETE CASCADE,
	sender_type text NOT NULL CHECK (sender_type IN ('user', 'orchestrator', 'agent')),
	receiver_type text NOT NULL CHECK (receiver_type IN ('user', 'orchestrator', 'agent')),
	message text NOT NULL,
	summary text,
	agent_id uuid REFERENCES agents (id) ON DELETE CASCADE,
	adw_id uuid REFERENCES ai_developer_workflows (id) ON DELETE SET NULL,
	metadata jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT agent_id_required_for_agents
		CHECK ((sender_type = 'agent' OR receiver_type = 'agent') = (agent_id IS NOT NULL))
);
CREATE TRIGGER orchestrator_chat_updated_at BEFORE UPDATE ON orchestrator_chat
	FOR EACH ROW EXECUTE FUNCTION update_updated_at_column();

-- JSON shapes of the API, built in one place (INTERFACE.md).
CREATE FUNCTION event_json(e events) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_build_object(
		'id', e.id, 'adw_id', e.adw_id, 'agent_id', e.agent_id, 'step', e.step,
		'category', e.category, 'type', e.type, 'content', e.content,
		'summary', e.summary, 'payload', e.payload, 'created_at', adw_ts(e.created_at))
$$;

CREATE FUNCTION agent_json(g agents) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_build_object(
		'id', g.id, 'name', g.name, 'model', g.model, 'runtime', g.runtime,
		'status', g.status, 'session_id', g.session_id, 'working_dir', g.working_dir,
		'adw_id', g.adw_id, 'adw_step', g.adw_step,
		'input_tokens', g.input_tokens, 'output_tokens', g.output_tokens,
		'cost_usd', g.total_cost::float8, 'archived', g.archived, 'metadata', g.metadata,
		'created_at', adw_ts(g.created_at), 'updated_at', adw_ts(g.updated_at))
$$;

CREATE FUNCTION chat_json(c orchestrator_chat) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_build_object(
		'id', c.id, 'sender', c.sender_type, 'receiver', c.receiver_type,
		'message', c.message, 'adw_id', c.adw_id, 'metadata', c.metadata,
		'created_at', adw_ts(c.created_at))
$$;

CREATE FUNCTION adw_json(a ai_developer_workflows) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_build_object(
		'id', a.id, 'name', a.adw_name, 'workflow', a.workflow_type,
		'description', a.description, 'status', a.status, 'prompt', a.prompt,
		'working_dir', a.working_dir, 'runtime', a.runtime, 'model', a.model,
		'current_step', a.current_step, 'total_steps', a.total_steps,
		'completed_steps', a.completed_steps,
		'steps', COALESCE((
			SELECT json_agg(json_build_object(
				'name', s.name, 'status', s.status,
				'started_at', adw_ts(s.started_at), 'ended_at', adw_ts(s.ended_at),
				'duration_ms', s.duration_ms, 'agent_id', s.agent_id,
				'verdict', s.verdict, 'artifact', s.artifact, 'error', s.error)
				ORDER BY s.position)
			FROM adw_steps s WHERE s.adw_id = a.id), '[]'::json),
		'verdict', a.verdict,
		'artifacts', COALESCE(a.output_data -> 'artifacts', '{}'::jsonb),
		'input_tokens', a.input_tokens, 'output_tokens', a.output_tokens,
		'cost_usd', a.cost_usd::float8,
		'error', a.error_message, 'error_step', a.error_step, 'error_count', a.error_count,
		'worker_host', a.worker_host, 'worker_pid', a.worker_pid, 'log_path', a.log_path,
		'created_at', adw_ts(a.created_at), 'started_at', adw_ts(a.started_at),
		'completed_at', adw_ts(a.completed_at),
		'duration_ms', COALESCE(a.duration_ms,
			CASE WHEN a.started_at IS NOT NULL
			THEN (extract(epoch FROM clock_timestamp() - a.started_at) * 1000)::bigint END),
		'updated_at', adw_ts(a.updated_at))
$$;
