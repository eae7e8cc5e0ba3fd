-- Limits of a run (issue 5): wall-clock timeouts of the whole run and of
-- each step, and a cost budget. NULL = no limit. The ADW JSON also shows
-- the idempotency key (006), how often it was retried, and its git branch,
-- worktree and diff stat (output_data.git) when it ran in a repository.
ALTER TABLE ai_developer_workflows
	ADD COLUMN timeout_s integer CHECK (timeout_s > 0),
	ADD COLUMN step_timeout_s integer CHECK (step_timeout_s > 0),
	ADD COLUMN max_cost_usd numeric(14, 6) CHECK (max_cost_usd > 0);
COMMENT ON COLUMN ai_developer_workflows.timeout_s IS 'seconds one run (adw-run) may take, pauses and questions included';
COMMENT ON COLUMN ai_developer_workflows.step_timeout_s IS 'seconds one step may take, pauses excluded';
COMMENT ON COLUMN ai_developer_workflows.max_cost_usd IS 'USD; when spent, a person is asked whether to go on';

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
			ORDER BY q.created_at DESC LIMIT 1),
		'idempotency_key', a.idempotency_key,
		'timeout_s', a.timeout_s, 'step_timeout_s', a.step_timeout_s,
		'max_cost_usd', a.max_cost_usd::float8,
		'retries', COALESCE((a.metadata ->> 'retries')::int, 0),
		'git', a.output_data -> 'git');
END
$$;
