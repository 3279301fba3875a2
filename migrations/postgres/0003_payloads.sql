-- Release payload images as read from their registry, projected from `payload.*` events:
-- one row per payload digest, its components, which release names it, and failed reads.

create table payloads (
    digest text primary key,
    pull_spec text not null,
    media_type text not null,
    name text not null,
    version text,
    previous text,
    metadata text not null default '{}',
    platforms text not null default '[]',
    labels text not null default '{}',
    read_at timestamptz not null
);

create table payload_components (
    payload_digest text not null references payloads (digest),
    name text not null,
    image text not null,
    image_digest text not null,
    source_location text not null default '',
    commit_id text not null default '',
    commit_ref text not null default '',
    versions text not null default '',
    primary key (payload_digest, name)
);
create index payload_components_by_image on payload_components (image_digest);

create table release_payloads (
    stream text not null,
    release text not null,
    payload_digest text not null,
    pull_spec text not null,
    bound_at timestamptz not null,
    primary key (stream, release)
);
create index release_payloads_by_digest on release_payloads (payload_digest);

create table payload_failures (
    pull_spec text primary key,
    stream text,
    release text,
    kind text not null,
    message text not null,
    failed_at timestamptz not null
);
create index payload_failures_by_release on payload_failures (stream, release);
