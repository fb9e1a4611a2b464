-- Recordings BBB said are ready (the recording-ready callback): one row per rendezvous and
-- record id, keeping the time of the first notification; deleted with their rendezvous.
create table recordings_ready (
    guid text not null references meetings (guid) on delete cascade,
    record_id text not null,                -- BBB's recordID
    notified_at timestamptz not null,       -- first notification
    primary key (guid, record_id)
);
