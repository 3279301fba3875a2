-- Pages, badges and feeds ask for a stream's newest releases, optionally of one phase,
-- ordered by (created_at, name): keep both a seek, whatever the stream's length.
drop index releases_by_stream_created;
create index releases_by_stream_created on releases (stream, created_at, name);
create index releases_by_stream_phase_created on releases (stream, phase, created_at, name);
