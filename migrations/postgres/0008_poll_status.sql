-- Each controller's polling status, written by the replica that holds its poll lock, so
-- every replica's pages, badges and /readyz tell how fresh the data is.
create table poll_status (
    controller text primary key,
    holder text not null,
    last_success_at timestamptz,
    last_attempt_at timestamptz,
    last_error text,
    consecutive_failures integer not null default 0,
    updated_at timestamptz not null
);
