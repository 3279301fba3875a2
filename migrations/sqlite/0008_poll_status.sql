-- Each controller's polling status, written by the process that polls it, so pages, badges
-- and /readyz tell how fresh the data is (shared by every replica on PostgreSQL).
create table poll_status (
    controller text primary key,
    holder text not null,
    last_success_at text,
    last_attempt_at text,
    last_error text,
    consecutive_failures integer not null default 0,
    updated_at text not null
);
