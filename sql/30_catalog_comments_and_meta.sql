-- Every public object explains itself in \df+ and \d+: functions, tables,
-- views, columns-bearing relations and sequences of the cdp schema all carry
-- a COMMENT. Lists what lacks one (expected: nothing).
SELECT p.oid::regprocedure AS function_without_comment
  FROM pg_proc p
 WHERE p.pronamespace = 'cdp'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL
 ORDER BY 1::text;
SELECT c.oid::regclass AS relation_without_comment
  FROM pg_class c
 WHERE c.relnamespace = 'cdp'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
   AND NOT c.relispartition AND obj_description(c.oid, 'pg_class') IS NULL
   -- identity and serial sequences belong to their column
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
 ORDER BY 1::text;
SELECT t.oid::regtype AS type_without_comment
  FROM pg_type t
 WHERE t.typnamespace = 'cdp'::regnamespace AND t.typtype = 'c'
   AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')
   AND obj_description(t.oid, 'pg_type') IS NULL;
SELECT r.rolname AS role_without_comment
  FROM pg_roles r
 WHERE r.rolname LIKE 'cdp\_%' AND shobj_description(r.oid, 'pg_authid') IS NULL;

-- META.json (PGXN) states the same version as the control file: a release
-- must not ship with the two drifting apart.
\set meta_version `grep -m1 -o '"version": "[^"]*"' META.json | cut -d'"' -f4`
SELECT :'meta_version' = extversion AS meta_json_matches_control, :'meta_version' <> '' AS meta_version_found
  FROM pg_extension WHERE extname = 'cdp';
