-- cdp install script, assembled by the Makefile from sql/install/*.sql in
-- file-name order. Edit the parts, never the assembled cdp--<version>.sql.

\echo Use "CREATE EXTENSION cdp CASCADE" to load this file. \quit

COMMENT ON SCHEMA cdp IS
  'cdp: Customer Data Platform. Public API functions and BI views live here; base tables are reachable only through them.';
