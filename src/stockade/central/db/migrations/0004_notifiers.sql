-- Notifiers (the product's JSON, secrets removed) and the delivery queue.

CREATE TABLE notifiers (
    id              text PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    type            text NOT NULL,
    doc             jsonb NOT NULL,     -- the notifier as the product's JSON, secret fields empty
    sealed_secrets  bytea,              -- CredentialVault.seal(id, JSON of the secret fields)
    health_status   text NOT NULL DEFAULT 'UNINITIALIZED',  -- HEALTHY, UNHEALTHY
    health_error    text NOT NULL DEFAULT '',
    health_at       timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- One row per (notifier, event): enqueueing the same event twice adds nothing.
-- A worker claims due PENDING rows with FOR UPDATE SKIP LOCKED and moves next_attempt_at
-- past the delivery timeout (a lease), delivers without holding a lock, then marks the row
-- DELIVERED, reschedules it with backoff, or marks it FAILED after the last attempt.
CREATE TABLE notification_queue (
    id               uuid PRIMARY KEY,
    notifier_id      text NOT NULL REFERENCES notifiers (id) ON DELETE CASCADE,
    event_key        text NOT NULL,
    payload          jsonb NOT NULL,
    state            text NOT NULL DEFAULT 'PENDING',  -- PENDING, DELIVERED, FAILED
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    last_error       text NOT NULL DEFAULT '',
    CONSTRAINT notification_queue_dedupe UNIQUE (notifier_id, event_key)
);

CREATE INDEX notification_queue_due
    ON notification_queue (next_attempt_at) WHERE state = 'PENDING';
CREATE INDEX notification_queue_delivered
    ON notification_queue (delivered_at) WHERE state = 'DELIVERED';
