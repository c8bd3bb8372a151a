-- Listening items (听力题, issue #18): an item's recording from the library, played above its
-- question; an assignment's copy of the item keeps it.
-- Keep in step with ../postgres/0032_listening.sql (a test compares the two).
ALTER TABLE items ADD COLUMN audio_id BLOB REFERENCES resources (id);
ALTER TABLE assignment_items ADD COLUMN audio_id BLOB REFERENCES resources (id);
