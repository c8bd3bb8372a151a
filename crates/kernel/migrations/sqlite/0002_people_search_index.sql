-- People search sorts matches by name before fetching the page's rows: cover it from the index
-- so no match costs a table lookup.
DROP INDEX persons_org_name;
CREATE INDEX persons_org_name ON persons (org_id, name, active, id);
