-- Liveness of running ADWs across machines (issue 5). An adw-run holds a
-- session advisory lock keyed by its ADW (adw_lock_key) on its own
-- connection for as long as it runs: the lock vanishes with its process or,
-- through TCP keepalives, with its machine. Its supervisor refreshes
-- heartbeat_at of all its ADWs in one UPDATE every 2 s. An ADW that is
-- running but whose heartbeat is stale and whose lock nobody holds is lost,
-- and any supervisor resumes it.
ALTER TABLE ai_developer_workflows ADD COLUMN heartbeat_at timestamptz;
COMMENT ON COLUMN ai_developer_workflows.heartbeat_at IS 'last sign of life from the supervisor running it';
CREATE INDEX ai_developer_workflows_running ON ai_developer_workflows (heartbeat_at)
	WHERE status IN ('in_progress', 'paused', 'awaiting_input');

-- The advisory lock key of an ADW: its uuid's first 64 bits.
CREATE FUNCTION adw_lock_key(id uuid) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT ('x' || translate(left(id::text, 18), '-', ''))::bit(64)::bigint
$$;
