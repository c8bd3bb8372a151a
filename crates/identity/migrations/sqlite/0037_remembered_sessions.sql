-- "Keep me signed in on this device": how many days a remembered session lasts in a region
-- (0: not offered), and which sessions were opened so.
ALTER TABLE auth_policies ADD COLUMN remember_days BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN remembered BOOLEAN NOT NULL DEFAULT FALSE;
