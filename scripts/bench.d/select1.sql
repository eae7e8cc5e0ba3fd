-- Round-trip floor: what GET /healthz asks PostgreSQL.
SELECT 1;
