-- Is-running checks shared by the instances on this database (DESIGN §4): the instance that
-- claims a rendezvous' check (a conditional update of check_claimed_at) asks BBB and stores the
-- answer; the others read it and keep it until that check's time plus one period.
alter table meetings add column check_claimed_at timestamptz;  -- the latest check claimed
alter table meetings add column check_failed boolean;          -- its outcome: null while in flight
-- The count of a connector's rendezvous checked within a period (whether to batch).
create index meetings_slug_check_claimed_at on meetings (slug, check_claimed_at);

-- One getMeetings per connector per period answers every rendezvous of the connector once
-- more than `is_running_batch_threshold` of them are checked within a period.
create table running_batches (
    slug text primary key,                  -- connector instance
    claimed_at timestamptz not null,        -- the latest getMeetings claimed
    answered boolean not null default false, -- false while that call is in flight
    failed boolean not null default false,  -- BBB could not be asked
    meetings text not null default '{}',    -- JSON object: listed meetingID -> running
    lists_ours boolean not null default false -- the list holds a rendezvous whose join link was followed
);
