-- Idempotent starts (issue 5): an optional key on a new ADW. While an ADW
-- with that key is unfinished, another start with the same key is refused
-- by this partial unique index alone (no locks, no read-then-write race);
-- once it has ended, the key may be used again.
ALTER TABLE ai_developer_workflows
	ADD COLUMN idempotency_key text
		CHECK (idempotency_key <> '' AND octet_length(idempotency_key) <= 200);
CREATE UNIQUE INDEX ai_developer_workflows_idempotency ON ai_developer_workflows (idempotency_key)
	WHERE idempotency_key IS NOT NULL
		AND status NOT IN ('completed', 'failed', 'cancelled');
