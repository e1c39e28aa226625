-- One customer's row of cdp.profile_360, as whoever runs it.
\set n random(1, :people)
\set pid :base + :n
SELECT * FROM cdp.profile_360 WHERE tenant_id = :tid AND profile_id = :pid;
