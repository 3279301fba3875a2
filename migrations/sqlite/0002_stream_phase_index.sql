-- Badges and feeds ask for a stream's newest release of one phase; keep that a seek.
create index releases_by_stream_phase_created on releases (stream, phase, created_at);
