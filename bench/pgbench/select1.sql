-- baseline: the round trip alone
SELECT 1;
