-- The same BI query by the owner (no row-level security), with an explicit tenant filter.
SELECT event_name, count(*) FROM cdp.events WHERE tenant_id = :tid AND event_time > now() - interval '30 days'
 GROUP BY 1 ORDER BY 1;
