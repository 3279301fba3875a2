-- Streamgate schema: the append-only event log and the tables projected from it.

create table events (
    id integer primary key autoincrement,
    source text not null,
    kind text not null,
    subject text not null,
    dedup_key text not null unique,
    content_hash text not null,
    received_at text not null,
    payload text not null
);
create index events_subject on events (kind, subject, id);

create table streams (
    name text primary key,
    controller text not null,
    variant text not null,
    kind text not null,
    minor text,
    listed_upstream integer not null default 1,
    first_seen_at text not null
);

create table releases (
    stream text not null references streams (name),
    name text not null,
    phase text not null,
    pull_spec text not null,
    download_url text not null default '',
    created_at text not null,
    first_seen_at text not null,
    phase_changed_at text not null,
    expired_at text,
    details_at text,
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
    retries integer not null default 0,
    previous_attempt_urls text not null default '[]',
    transition_time text,
    primary key (stream, release, name),
    foreign key (stream, release) references releases (stream, name)
);

create table upgrades (
    from_tag text not null,
    to_tag text not null,
    success integer not null,
    failure integer not null,
    total integer not null,
    runs text not null default '[]',
    updated_at text not null,
    primary key (from_tag, to_tag)
);
create index upgrades_by_to on upgrades (to_tag);

-- Small facts about this installation (e.g. the demo data set's anchor time).
create table settings (
    key text primary key,
    value text not null
);
