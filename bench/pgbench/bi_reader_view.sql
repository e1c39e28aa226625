-- The BI query through the view cdp.event_stream, as a granted reader.
SELECT event_name, count(*) FROM cdp.event_stream WHERE event_time > now() - interval '30 days' GROUP BY 1 ORDER BY 1;
