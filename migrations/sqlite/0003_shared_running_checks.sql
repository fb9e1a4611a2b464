-- Is-running checks (DESIGN §4), the same columns as on PostgreSQL so that both backends answer
-- alike (one instance only here, whose claims always succeed). Timestamps are integer
-- microseconds since the Unix epoch (UTC).
alter table meetings add column check_claimed_at integer;      -- the latest check claimed
alter table meetings add column check_failed boolean;          -- its outcome: null while in flight
create index meetings_slug_check_claimed_at on meetings (slug, check_claimed_at);

create table running_batches (
    slug text primary key,                  -- connector instance
    claimed_at integer not null,            -- the latest getMeetings claimed
    answered boolean not null default false, -- false while that call is in flight
    failed boolean not null default false,  -- BBB could not be asked
    meetings text not null default '{}',    -- JSON object: listed meetingID -> running
    lists_ours boolean not null default false -- the list holds a rendezvous whose join link was followed
);
