-- Steering a running ADW (issue 4): a message thread per ADW, pause /
-- resume / cancel / redirect, instructions for the running agent and
-- decision questions answered by a person.
--
-- Control messages wake the ADW's adw-run through its own channel
-- adw_control_<uuid without dashes> (LISTENed on by that child only), and
-- every message or question insert and status change is also an event.

ALTER TABLE ai_developer_workflows
	ADD COLUMN paused_at timestamptz,
	ADD COLUMN pause_reason text,
	ADD COLUMN cancel_reason text,
	ADD COLUMN cancelled_by text,
	ADD COLUMN redirected_from uuid REFERENCES ai_developer_workflows (id) ON DELETE SET NULL,
	ADD COLUMN redirected_to uuid REFERENCES ai_developer_workflows (id) ON DELETE SET NULL;
COMMENT ON COLUMN ai_developer_workflows.cancelled_by IS 'who asked: "user via api", "user via chat", "user via cli", or "adw-run" (timeouts)';

CREATE TABLE adw_questions (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	adw_id uuid NOT NULL REFERENCES ai_developer_workflows (id) ON DELETE CASCADE,
	agent_id uuid REFERENCES agents (id) ON DELETE SET NULL,
	step text,
	question text NOT NULL CHECK (question <> ''),
	options jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(options) = 'array'),
	context text,
	default_answer text,
	status text NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'answered', 'timed_out', 'cancelled')),
	answer text,
	answered_by text,
	timeout_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	answered_at timestamptz
);
COMMENT ON COLUMN adw_questions.default_answer IS 'taken when the question times out; NULL = the ADW is cancelled instead';
CREATE INDEX adw_questions_adw ON adw_questions (adw_id, created_at);
CREATE INDEX adw_questions_pending ON adw_questions (created_at) WHERE status = 'pending';

CREATE TABLE adw_messages (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	adw_id uuid NOT NULL REFERENCES ai_developer_workflows (id) ON DELETE CASCADE,
	sender text NOT NULL CHECK (sender IN ('user', 'agent', 'system')),
	action_type text NOT NULL DEFAULT 'comment'
		CHECK (action_type IN ('comment', 'instruction', 'pause', 'resume', 'cancel',
				       'redirect', 'answer', 'question')),
	action_status text NOT NULL DEFAULT 'pending'
		CHECK (action_status IN ('pending', 'acknowledged', 'processed', 'ignored')),
	status_reason text,
	content text NOT NULL,
	metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
	step text,
	question_id uuid REFERENCES adw_questions (id) ON DELETE SET NULL,
	created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	acknowledged_at timestamptz,
	processed_at timestamptz
);
COMMENT ON TABLE adw_messages IS 'the thread of each ADW: user, agent and system messages, with the state of each control action';
CREATE INDEX adw_messages_adw ON adw_messages (adw_id, id);
CREATE INDEX adw_messages_pending ON adw_messages (adw_id, id) WHERE action_status = 'pending';

CREATE FUNCTION message_json(m adw_messages) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN json_build_object(
		'id', m.id, 'adw_id', m.adw_id, 'sender', m.sender,
		'action_type', m.action_type, 'action_status', m.action_status,
		'status_reason', m.status_reason, 'content', m.content, 'metadata', m.metadata,
		'step', m.step, 'question_id', m.question_id,
		'created_at', adw_ts(m.created_at), 'acknowledged_at', adw_ts(m.acknowledged_at),
		'processed_at', adw_ts(m.processed_at));
END
$$;

CREATE FUNCTION question_json(q adw_questions) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN json_build_object(
		'id', q.id, 'adw_id', q.adw_id,
		'adw_name', (SELECT a.adw_name FROM ai_developer_workflows a WHERE a.id = q.adw_id),
		'agent_id', q.agent_id, 'step', q.step, 'question', q.question,
		'options', q.options, 'context', q.context, 'default_answer', q.default_answer,
		'status', q.status, 'answer', q.answer, 'answered_by', q.answered_by,
		'timeout_at', adw_ts(q.timeout_at), 'created_at', adw_ts(q.created_at),
		'answered_at', adw_ts(q.answered_at));
END
$$;

-- Wakes the ADW's adw-run when a person's message needs its action.
CREATE FUNCTION adw_messages_control() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('adw_control_' || replace(NEW.adw_id::text, '-', ''), NEW.id::text);
	RETURN NULL;
END
$$;
CREATE TRIGGER adw_messages_control AFTER INSERT ON adw_messages
	FOR EACH ROW WHEN (NEW.action_status = 'pending')
	EXECUTE FUNCTION adw_messages_control();

-- Every message, and every change of its action_status, is an event.
CREATE FUNCTION adw_messages_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	kind text := CASE WHEN TG_OP = 'INSERT' THEN 'ThreadMessage' ELSE 'ThreadMessageUpdated' END;
	line text := CASE WHEN TG_OP = 'INSERT'
		THEN NEW.sender || ' ' || NEW.action_type || ': ' || left(NEW.content, 160)
		ELSE NEW.action_type || ' message ' || NEW.id || ' ' || NEW.action_status
			|| COALESCE(' (' || left(NEW.status_reason, 120) || ')', '') END;
BEGIN
	INSERT INTO events (adw_id, step, category, type, content, summary, payload)
	VALUES (NEW.adw_id, NEW.step, 'control', kind, NEW.content, line,
		json_build_object('message', message_json(NEW))::jsonb);
	RETURN NULL;
END
$$;
CREATE TRIGGER adw_messages_event AFTER INSERT OR UPDATE OF action_status ON adw_messages
	FOR EACH ROW EXECUTE FUNCTION adw_messages_event();

-- Every question asked, and every change of its status, is an event.
CREATE FUNCTION adw_questions_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	kind text := CASE WHEN TG_OP = 'INSERT' THEN 'QuestionAsked'
		WHEN NEW.status = 'answered' THEN 'QuestionAnswered' ELSE 'QuestionClosed' END;
	line text := CASE WHEN TG_OP = 'INSERT' THEN 'Question: ' || left(NEW.question, 180)
		ELSE 'Question ' || NEW.status || COALESCE(': ' || left(NEW.answer, 160), '') END;
BEGIN
	INSERT INTO events (adw_id, agent_id, step, category, type, content, summary, payload)
	VALUES (NEW.adw_id, NEW.agent_id, NEW.step, 'control', kind,
		CASE WHEN TG_OP = 'INSERT' THEN NEW.question ELSE COALESCE(NEW.answer, NEW.status) END,
		line, json_build_object('question', question_json(NEW))::jsonb);
	RETURN NULL;
END
$$;
CREATE TRIGGER adw_questions_event AFTER INSERT OR UPDATE OF status ON adw_questions
	FOR EACH ROW EXECUTE FUNCTION adw_questions_event();

CREATE OR REPLACE FUNCTION adw_json(a ai_developer_workflows) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN json_build_object(
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
		'updated_at', adw_ts(a.updated_at),
		'paused_at', adw_ts(a.paused_at), 'pause_reason', a.pause_reason,
		'cancel_reason', a.cancel_reason, 'cancelled_by', a.cancelled_by,
		'redirected_from', a.redirected_from,
		'redirected_from_name', (SELECT r.adw_name FROM ai_developer_workflows r
			WHERE r.id = a.redirected_from),
		'redirected_to', a.redirected_to,
		'redirected_to_name', (SELECT r.adw_name FROM ai_developer_workflows r
			WHERE r.id = a.redirected_to),
		'question', (SELECT question_json(q) FROM adw_questions q
			WHERE q.adw_id = a.id AND q.status = 'pending'
			ORDER BY q.created_at DESC LIMIT 1));
END
$$;
