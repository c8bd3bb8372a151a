-- Items shared through the library (issue #18): an item shared becomes an `exercise` resource
-- on its chapter and goes the library's review (school → district → city); teachers and
-- students the resource reaches use the item as it was shared (the version it was shared at:
-- an edit takes it out of sharing until it is shared, and reviewed, again).
-- Keep in step with ../sqlite/0033_item_sharing.sql (a test compares the two).
ALTER TABLE items ADD COLUMN resource_id UUID REFERENCES resources (id);
ALTER TABLE items ADD COLUMN shared_version BIGINT;
CREATE INDEX items_resource ON items (resource_id);
