-- Wake supervisors only when an ADW becomes pending. The statement-level
-- trigger of 001 fired for every status update, including a supervisor's
-- own claim, which woke it again for nothing.
DROP TRIGGER ai_developer_workflows_pending ON ai_developer_workflows;
CREATE TRIGGER ai_developer_workflows_pending AFTER INSERT OR UPDATE OF status
	ON ai_developer_workflows FOR EACH ROW WHEN (NEW.status = 'pending')
	EXECUTE FUNCTION adw_notify_pending();
