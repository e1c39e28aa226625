-- A point read by raw identifier, as whoever runs it (reader: under the through_views policies).
\set n random(1, :people)
SELECT cdp.lookup('rls_a', 'user_id', 'crowd-' || :n);
