-- scripts/bench --diagnose, section 3c, throwaway database only: adw_events_append()
-- with the JSON parsed before the INSERT. The INSERT's BEFORE STATEMENT trigger
-- (events_lock, migration 003) takes the advisory lock that serialises writers,
-- and in the migrated LANGUAGE sql version json_to_recordset() runs inside the
-- INSERT, so every batch is parsed while the lock is held. Here the rows are
-- built first (PL/pgSQL also caches the plans per session); the INSERT then
-- only reads an array. Same rows, same order, same lock and NOTIFY, the same
-- batch key (migration 009).
CREATE OR REPLACE FUNCTION adw_events_append(batch json, batch_key uuid) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	r events[];
	last bigint;
BEGIN
	INSERT INTO event_batches (key, adw_id, rows)
	VALUES (batch_key, (batch -> 0 ->> 'adw_id')::uuid, json_array_length(batch))
	ON CONFLICT (key) DO NOTHING;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	SELECT array_agg(ROW(NULL, x.adw_id, x.agent_id, x.step, x.category, x.type,
			     COALESCE(x.content, ''), COALESCE(x.summary, ''),
			     COALESCE(x.payload, '{}'::jsonb), COALESCE(x.ts, clock_timestamp()))::events
			 ORDER BY x.ord)
	INTO r
	FROM ROWS FROM (json_to_recordset(batch)
		AS (adw_id uuid, agent_id uuid, step text, category text, type text,
		    content text, summary text, payload jsonb, ts timestamptz)) WITH ORDINALITY
		AS x(adw_id, agent_id, step, category, type, content, summary, payload, ts, ord);
	WITH ins AS (
		INSERT INTO events (adw_id, agent_id, step, category, type, content, summary, payload,
				    created_at)
		SELECT u.adw_id, u.agent_id, u.step, u.category, u.type, u.content, u.summary, u.payload,
		       u.created_at
		FROM unnest(r) WITH ORDINALITY AS u
		ORDER BY u.ordinality
		RETURNING id)
	SELECT max(id) INTO last FROM ins;
	RETURN last;
END
$$;
