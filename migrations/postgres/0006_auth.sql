-- Who may do what: local and proxy users, browser sessions and API tokens. These are
-- credentials, not events: they are never written to the event log, and reprojecting the
-- log leaves them alone. Secrets are stored only as hashes.

create table users (
    id bigserial primary key,
    name text not null unique,
    -- argon2 PHC string; null for users who only sign in through the trusted proxy
    password_hash text,
    role text not null,
    -- JSON array of promotion targets a maintainer is limited to; null: every target
    targets text,
    disabled boolean not null default false,
    -- the CSRF token of requests this user makes through the trusted proxy
    proxy_csrf text not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create table sessions (
    -- sha256 of the session id in the cookie
    id_hash text primary key,
    user_id bigint not null references users (id) on delete cascade,
    csrf text not null,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    last_seen_at timestamptz not null
);
create index sessions_by_user on sessions (user_id);
create index sessions_by_expiry on sessions (expires_at);

create table api_tokens (
    id bigserial primary key,
    user_id bigint not null references users (id) on delete cascade,
    name text not null,
    -- sha256 of the whole token
    token_hash text not null unique,
    -- the token's first characters, to tell tokens apart
    prefix text not null,
    created_at timestamptz not null,
    last_used_at timestamptz,
    revoked_at timestamptz
);
create index api_tokens_by_user on api_tokens (user_id, id);
