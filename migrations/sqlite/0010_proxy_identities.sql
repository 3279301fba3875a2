-- The people a trusted proxy vouches for are their own namespace: the proxy's `ada` is the
-- user `proxy:ada` (origin 'proxy'), never the local account `ada`, and their role comes
-- from the proxy's groups on every request, never from this table. Users without a
-- password were documented as signing in through the proxy only, so they become those
-- identities, and the roles written for them (by an admin, or by the last group sync)
-- are dropped: a proxy identity keeps only its id, CSRF token and disabled flag.

alter table users add column origin text not null default 'local';

update users
   set origin = 'proxy',
       name = 'proxy:' || name,
       role = 'none',
       targets = null
 where password_hash is null;
