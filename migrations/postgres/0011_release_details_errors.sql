-- Why a release's details could not be read on the last try (a truncated answer, a server
-- error for that one release), kept until a later read succeeds. One release's failure no
-- longer fails its stream's poll: it is recorded here and retried on its own.
alter table releases add column details_error text;
