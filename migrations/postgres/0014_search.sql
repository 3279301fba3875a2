-- Search (`/search?q=`): what each release's changelog names — pull requests, bugs and the
-- commits its images were built from — looked up by key, and pull request titles by word
-- (a GIN full-text index). Components, image and payload digests are looked up in the
-- payload tables, by name and digest. Prefix searches compare bytes (collation "C"), as
-- SQLite does, so `4.21.` finds what starts with it whatever the database's locale.
create table changelog_refs (
    id bigserial primary key,
    stream text not null,
    release text not null,
    kind text not null,
    key text collate "C" not null,
    title text not null,
    url text not null default '',
    unique (stream, release, kind, key),
    foreign key (stream, release) references releases (stream, name)
);
create index changelog_refs_by_key on changelog_refs (kind, key);
-- fastupdate off: each insert updates the index itself, so a search never scans a pending
-- list of recent titles (changelogs arrive at the poller's pace, searches at the users')
create index changelog_titles on changelog_refs
    using gin (to_tsvector('simple', title)) with (fastupdate = off) where kind = 'pull';

create index releases_by_name_bytes on releases ((name collate "C"));
create index payload_components_by_name on payload_components ((name collate "C"));
create index payload_components_by_commit on payload_components ((commit_id collate "C"));
