-- The notification outbox (issue #17): every module notifies through it. In-app notifications
-- stay in `notifications`; each external channel (Web Push, e-mail, SMS, WeCom, DingTalk) gets
-- one row per person and thing notified, delivered at most once per channel by the runner.
-- Keep in step with ../sqlite/0017_outbox.sql (a test compares the two).

-- Where a person is reached on a channel: an e-mail address, a mobile number, a WeCom or
-- DingTalk user id, a Web Push subscription (one per device).
CREATE TABLE channel_addresses (
    person_id UUID NOT NULL REFERENCES persons (id),
    channel TEXT NOT NULL CHECK (channel IN ('web_push', 'email', 'sms', 'wecom', 'dingtalk')),
    address TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (person_id, channel, address)
);

-- A person's choices: a kind of notification turned off on a channel (on by default wherever the
-- person has an address).
CREATE TABLE notification_preferences (
    person_id UUID NOT NULL REFERENCES persons (id),
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    PRIMARY KEY (person_id, kind, channel)
);

-- No notification outside the platform between these local times (a message waits).
CREATE TABLE quiet_hours (
    person_id UUID PRIMARY KEY NOT NULL REFERENCES persons (id),
    -- HH:MM in the region's time zone; starts after ends means the quiet time crosses midnight
    starts TEXT NOT NULL,
    ends TEXT NOT NULL
);

CREATE TABLE outbox (
    channel TEXT NOT NULL CHECK (channel IN ('web_push', 'email', 'sms', 'wecom', 'dingtalk')),
    person_id UUID NOT NULL REFERENCES persons (id),
    -- what is notified, once per person and channel: notice:<id>, notice_reminder:<id>:<n>, …
    dedup_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    link TEXT,
    -- pending | sending (leased by a node) | sent | failed (gave up) | skipped (no address any more)
    state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    attempts BIGINT NOT NULL DEFAULT 0,
    -- sends begun and never recorded (a node died in between): counted, and tried again only on
    -- channels that take an idempotency key
    uncertain BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ,
    last_error TEXT,
    -- the provider's id for the message (WeCom msgid, DingTalk task_id, SMS BizId …)
    provider_id TEXT,
    PRIMARY KEY (channel, person_id, dedup_key)
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_dedup ON outbox (dedup_key);
