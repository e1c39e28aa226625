-- BI query as a granted reader: row-level security picks the tenant and the consented customers.
SELECT event_name, count(*) FROM cdp.events WHERE event_time > now() - interval '30 days' GROUP BY 1 ORDER BY 1;
