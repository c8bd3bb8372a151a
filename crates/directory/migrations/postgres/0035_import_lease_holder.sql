-- Import jobs are fenced (issue #19): a claim records the node that holds it and a token of its
-- own, and the job's updates (lease renewal, the check's report, the commit's "done" in its
-- transaction) apply only while that claim still holds. A node that stalled past its lease
-- can no longer write over the work of the node that took the job over.
-- Keep in step with ../sqlite/0035_import_lease_holder.sql (a test compares the two).
ALTER TABLE import_jobs ADD COLUMN lease_node TEXT;
ALTER TABLE import_jobs ADD COLUMN lease_token TEXT;
