-- Promotions: where accepted CI releases may be promoted to (targets, managed by admins and
-- not part of the event log), and each promotion job, projected from `promotion.*` events.
-- A promotion's id is the id of the event that requested it, so a reprojection rebuilds
-- the same ids. `progress`, `lease_owner` and `lease_until` are the worker's running state
-- and are not projected.

create table promotion_targets (
    name text primary key,
    source_stream text not null,
    content_repo text not null,
    release_repo text not null,
    name_template text not null,
    webhook_url text,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create table promotions (
    id bigint primary key,
    target text not null,
    source_stream text not null,
    source_release text not null,
    source_pull_spec text not null,
    source_digest text not null,
    name text not null,
    previous text not null default '[]',
    content_repo text not null,
    release_repo text not null,
    requested_by text not null,
    override_reason text,
    state text not null,
    detail text not null default '',
    plan text not null default '{}',
    signature text,
    result_digest text,
    result_pull_spec text,
    stats text,
    requested_at timestamptz not null,
    started_at timestamptz,
    finished_at timestamptz,
    updated_at timestamptz not null,
    progress text not null default '{}',
    lease_owner text,
    lease_until timestamptz
);
-- one live promotion per target name; a failed one frees the name
create unique index promotions_live_name on promotions (target, name) where state <> 'failed';
create index promotions_by_source on promotions (source_stream, source_release);
create index promotions_by_state on promotions (state, id);

-- Releases a promotion put into a target stream: kept when the upstream listing of that
-- stream does not (yet) carry them.
create table promoted_releases (
    stream text not null,
    release text not null,
    promotion_id bigint not null,
    source_stream text not null,
    source_release text not null,
    primary key (stream, release)
);
create index promoted_releases_by_source on promoted_releases (source_stream, source_release);
