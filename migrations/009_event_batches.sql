-- Exactly-once event batches (issue 5). adw-run writes its events in
-- batches; a batch whose COMMIT reached the server but whose answer was
-- lost with the connection is sent again, and a batch spilled to a file
-- during an outage may be written back by adw-run and by its supervisor.
-- Each batch carries a key (a uuid chosen when its first row was added);
-- the key is taken in the same transaction as the rows, so a second write
-- of the same batch inserts nothing. Keys live as long as their ADW.
CREATE TABLE event_batches (
	key uuid PRIMARY KEY,
	adw_id uuid REFERENCES ai_developer_workflows (id) ON DELETE CASCADE,
	rows integer NOT NULL CHECK (rows >= 0),
	written_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_batches_adw ON event_batches (adw_id);
COMMENT ON TABLE event_batches IS 'keys of event batches already written (adw_events_append(batch, key))';

-- Appends a batch once: the id of its last event, or NULL when this key
-- was written before (nothing is inserted then). Rows may carry "ts", the
-- time the event happened (kept for events written late, after an outage).
CREATE FUNCTION adw_events_append(batch json, batch_key uuid) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	last bigint;
BEGIN
	INSERT INTO event_batches (key, adw_id, rows)
	VALUES (batch_key, (batch -> 0 ->> 'adw_id')::uuid, json_array_length(batch))
	ON CONFLICT (key) DO NOTHING;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	WITH ins AS (
		INSERT INTO events (adw_id, agent_id, step, category, type, content, summary, payload,
				    created_at)
		SELECT x.adw_id, x.agent_id, x.step, x.category, x.type, COALESCE(x.content, ''),
		       COALESCE(x.summary, ''), COALESCE(x.payload, '{}'::jsonb),
		       COALESCE(x.ts, clock_timestamp())
		FROM ROWS FROM (json_to_recordset(batch)
			AS (adw_id uuid, agent_id uuid, step text, category text, type text,
			    content text, summary text, payload jsonb, ts timestamptz)) WITH ORDINALITY
			AS x(adw_id, agent_id, step, category, type, content, summary, payload, ts, ord)
		ORDER BY x.ord
		RETURNING id)
	SELECT max(id) INTO last FROM ins;
	RETURN last;
END
$$;
