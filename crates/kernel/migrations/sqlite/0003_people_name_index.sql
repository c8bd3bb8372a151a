-- A region's people search walks the names in order and checks each one's node: cover it
-- from the index so no name costs a table lookup.
DROP INDEX persons_name;
CREATE INDEX persons_name ON persons (name, id, org_id, active);
