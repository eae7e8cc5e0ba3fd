-- GET /api/adws/{id}: the statement adw_store_adw_get() (backend/adw_store.c) sends,
-- for pgbench -M extended / -M prepared. pgbench makes every :var occurrence its
-- own $n, so the second use of :id carries an explicit ::uuid (the server's
-- "$1 IS NULL" gets that type from "$1::uuid"); same plan, same result.
SELECT json_build_object('adw', adw_json(a)), a.id FROM ai_developer_workflows a WHERE a.id = :id::uuid OR (:id::uuid IS NULL AND a.adw_name = :name) ORDER BY a.created_at DESC LIMIT 1;
