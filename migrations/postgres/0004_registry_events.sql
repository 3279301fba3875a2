-- Registry notifications as projected from `registry.event` (CNCF distribution) and
-- `quay.push` (Quay repo_push) events: one row per pushed or deleted manifest or tag.
-- Quay pushes name tags only, so their digest is null.

create table registry_events (
    source text not null,
    event_key text not null,
    position integer not null,
    action text not null,
    repository text not null,
    tag text,
    digest text,
    media_type text,
    host text,
    occurred_at timestamptz not null,
    received_at timestamptz not null,
    primary key (source, event_key, position)
);
create index registry_events_by_repository on registry_events (repository, tag);
create index registry_events_by_digest on registry_events (digest);
