#!/usr/bin/env bash
# The psql examples of docs/ingestion.md and docs/identity.md are exactly the
# statements that sql/46_docs_examples.sql runs (and expected/ checks), so a
# documented example that stops working fails the suite.
cd "$(dirname "$0")/../.."
echo "1..1"
extract() { awk '/^```sql$/ {on=1; next} /^```$/ {on=0} on' docs/ingestion.md docs/identity.md; }
if diff <(extract) <(grep -v '^-- ' sql/46_docs_examples.sql) >/tmp/docs_examples.$$.diff; then
  echo "ok 1 - docs examples are sql/46_docs_examples.sql"
else
  echo "not ok 1 - docs examples differ from sql/46_docs_examples.sql"
  sed 's/^/# /' /tmp/docs_examples.$$.diff
fi
rm -f /tmp/docs_examples.$$.diff
