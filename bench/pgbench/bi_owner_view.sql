-- The BI query through the view cdp.event_stream, by the owner with an explicit tenant filter.
SELECT event_name, count(*) FROM cdp.event_stream WHERE tenant_id = :tid AND event_time > now() - interval '30 days'
 GROUP BY 1 ORDER BY 1;
