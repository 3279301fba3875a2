-- Search (`/search?q=`): what each release's changelog names — pull requests, bugs and the
-- commits its images were built from — looked up by key, and pull request titles by word
-- (FTS5, kept in step by triggers). Components, image and payload digests are looked up in
-- the payload tables, by name and digest.
create table changelog_refs (
    id integer primary key,
    stream text not null,
    release text not null,
    kind text not null,
    key text not null,
    title text not null,
    url text not null default '',
    unique (stream, release, kind, key),
    foreign key (stream, release) references releases (stream, name)
);
create index changelog_refs_by_key on changelog_refs (kind, key);

create virtual table changelog_titles using fts5 (
    title, content = 'changelog_refs', content_rowid = 'id'
);
create trigger changelog_refs_titled after insert on changelog_refs when new.kind = 'pull'
begin
    insert into changelog_titles (rowid, title) values (new.id, new.title);
end;
create trigger changelog_refs_untitled after delete on changelog_refs when old.kind = 'pull'
begin
    insert into changelog_titles (changelog_titles, rowid, title)
    values ('delete', old.id, old.title);
end;

create index payload_components_by_name on payload_components (name);
create index payload_components_by_commit on payload_components (commit_id);
