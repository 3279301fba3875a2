-- The latest mirror-integrity check of each promoted release: does every digest it
-- references (the payload and each component image) still resolve in its registry?
create table mirror_checks (
    stream text not null,
    release text not null,
    payload_digest text not null,
    checked integer not null,
    missing text not null default '[]',
    unreachable text not null default '[]',
    ok integer not null,
    since text not null,
    primary key (stream, release)
);
create index mirror_checks_failing on mirror_checks (ok);
