-- The event log as a stream (issue 3): ids become visible in id order.
--
-- A sequence value is taken at insert but becomes visible at commit, so two
-- writers can commit out of id order and a reader that remembers "the
-- highest id seen" would skip the late one. Every statement that inserts
-- events first takes one transaction-scoped advisory lock, held until its
-- transaction ends: id assignment and commit are serialised among writers.
-- A transaction becomes visible before it releases its locks, so when a
-- reader sees event N, every event below N is visible already or never
-- will be (rolled back). Readers need no horizon arithmetic: "id > cursor
-- ORDER BY id" is exact. Writers batch (one statement per batch) and keep
-- event inserts last in their transactions, so the lock is held briefly.
--
-- One NOTIFY per inserting statement (PostgreSQL folds duplicates within a
-- transaction), with no payload: it is only a wake-up hint.

CREATE FUNCTION adw_events_lock() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_advisory_xact_lock(7340210954);
	RETURN NULL;
END
$$;

CREATE FUNCTION adw_events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('adw_events', '');
	RETURN NULL;
END
$$;

CREATE TRIGGER events_lock BEFORE INSERT ON events
	FOR EACH STATEMENT EXECUTE FUNCTION adw_events_lock();
CREATE TRIGGER events_notify AFTER INSERT ON events
	FOR EACH STATEMENT EXECUTE FUNCTION adw_events_notify();

-- The batch write path of adw-run: one statement for many events, in order.
CREATE FUNCTION adw_events_append(batch json) RETURNS bigint
LANGUAGE sql AS $$
	WITH ins AS (
		INSERT INTO events (adw_id, agent_id, step, category, type, content, summary, payload)
		SELECT x.adw_id, x.agent_id, x.step, x.category, x.type, COALESCE(x.content, ''),
		       COALESCE(x.summary, ''), COALESCE(x.payload, '{}'::jsonb)
		FROM ROWS FROM (json_to_recordset(batch)
			AS (adw_id uuid, agent_id uuid, step text, category text, type text,
			    content text, summary text, payload jsonb)) WITH ORDINALITY
			AS x(adw_id, agent_id, step, category, type, content, summary, payload, ord)
		ORDER BY x.ord
		RETURNING id)
	SELECT max(id) FROM ins
$$;
