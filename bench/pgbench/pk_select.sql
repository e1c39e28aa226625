-- baseline: a plain primary-key read of one profile row
\set n random(1, :profiles)
SELECT profile_id, traits FROM cdp.profiles WHERE tenant_id = :tid AND profile_id = 1000000000::bigint + :n;
