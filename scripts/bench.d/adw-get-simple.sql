-- GET /api/adws/{id} for pgbench -M simple: the variables are pasted into the
-- text, so they are quoted here as literals.
SELECT json_build_object('adw', adw_json(a)), a.id FROM ai_developer_workflows a WHERE a.id = ':id'::uuid OR (':id'::uuid IS NULL AND a.adw_name = ':name') ORDER BY a.created_at DESC LIMIT 1;
