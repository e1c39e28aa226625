#!/usr/bin/env bash
# The first SQL example of README.md is exactly what sql/47_readme_first_session.sql
# runs (its expected output is checked by pg_regress), so the newcomer's
# first session fails the suite the day it stops working.
cd "$(dirname "$0")/../.."
echo "1..1"
readme_example() { awk '/^```sql$/ && !done {on=1; next} /^```$/ && on {on=0; done=1} on' README.md; }
if diff <(readme_example) <(grep -v '^-- The "first session"\|^-- checks that the two' sql/47_readme_first_session.sql) >/dev/null; then
  echo "ok 1 - README's first session is sql/47_readme_first_session.sql"
else
  echo "not ok 1 - README's first session differs from sql/47_readme_first_session.sql"
  diff <(readme_example) <(grep -v '^-- The "first session"\|^-- checks that the two' sql/47_readme_first_session.sql) | sed 's/^/# /'
fi
