-- Performance: the JSON shape functions of 001 were SQL functions that
-- PostgreSQL could neither inline (sub-SELECTs; adw_ts declared IMMUTABLE
-- around the STABLE to_char) nor cache, so every request re-parsed and
-- re-planned them (docs/PERFORMANCE.md). PL/pgSQL caches their plans per
-- session; adw_ts becomes STABLE so it can be inlined. Same outputs.

CREATE OR REPLACE FUNCTION adw_ts(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

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
		'updated_at', adw_ts(a.updated_at));
END
$$;
