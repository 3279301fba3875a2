-- Streamgate schema: the append-only event log and the tables projected from it.

create table events (
    id bigserial primary key,
    source text not null,
    kind text not null,
    subject text not null,
    dedup_key text not null unique,
    content_hash text not null,
    received_at timestamptz not null,
    payload text not null
);
create index events_subject on events (kind, subject, id);

create table streams (
    name text primary key,
    controller text not null,
    variant text not null,
    kind text not null,
    minor text,
    listed_upstream boolean not null default true,
    first_seen_at timestamptz not null
);

create table releases (
    stream text not null references streams (name),
    name text not null,
    phase text not null,
    pull_spec text not null,
    download_url text not null default '',
    created_at timestamptz not null,
    first_seen_at timestamptz not null,
    phase_changed_at timestamptz not null,
    expired_at timestamptz,
    details_at timestamptz,
    details_phase text,
    changelog text,
    primary key (stream, name)
);
create index releases_by_name on releases (name);
create index releases_by_stream_created on releases (stream, created_at);

create table gates (
    stream text not null,
    release text not null,
    name text not null,
    kind text not null,
    state text not null,
    url text not null,
    retries bigint not null default 0,
    previous_attempt_urls text not null default '[]',
    transition_time timestamptz,
    primary key (stream, release, name),
    foreign key (stream, release) references releases (stream, name)
);

create table upgrades (
    from_tag text not null,
    to_tag text not null,
    success bigint not null,
    failure bigint not null,
    total bigint not null,
    runs text not null default '[]',
    updated_at timestamptz not null,
    primary key (from_tag, to_tag)
);
create index upgrades_by_to on upgrades (to_tag);

-- Small facts about this installation (e.g. the demo data set's anchor time).
create table settings (
    key text primary key,
    value text not null
);
