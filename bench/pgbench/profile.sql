\set n random(1, :profiles)
SELECT cdp.profile('lookup', 1000000000::bigint + :n);
