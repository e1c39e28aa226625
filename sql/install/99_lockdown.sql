-- Functions are executable by PUBLIC by default: take that back from every
-- function in the schema. Roles keep only what the files above granted them.
DO $lockdown$
DECLARE
  f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'cdp'::regnamespace LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
  END LOOP;
END
$lockdown$;
