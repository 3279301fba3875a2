-- The releases a stream's controller still lists: every tag list is compared with them, so
-- finding them must not read the stream's whole history.
create index releases_live on releases (stream, name) where expired_at is null;
