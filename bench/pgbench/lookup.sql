\set n random(1, :profiles)
SELECT cdp.lookup('lookup', 'user_id', 'lk-user-' || :n);
