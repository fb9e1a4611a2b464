-- Rendezvous: one row per (connector slug, idempotent_id); the BBB meeting itself is ephemeral
-- and re-created from this row whenever a join link is followed.
-- Timestamps are integer microseconds since the Unix epoch (UTC), JSON columns are text.
create table meetings (
    guid text primary key,                  -- 32 hex digits, also the BBB meetingID
    slug text not null,                     -- connector instance
    idempotent_id text not null,            -- caller's identity of the rendezvous
    name text not null,
    create_parameters text not null,        -- normalised BBB create parameters (JSON)
    join_user_parameters text not null,
    join_agent_parameters text not null,
    user_full_name text,
    agent_full_name text,
    metadata text not null,                 -- caller's object, returned as is (JSON)
    agent_key text not null,                -- join keys: unguessable, per role
    user_key text not null,
    attendee_pw text not null,              -- sent on every BBB create so re-creation is idempotent
    moderator_pw text not null,
    running integer not null default 0,
    last_time_running integer,
    last_checked integer,
    join_followed_at integer,               -- never followed: cannot be running
    bbb_create_answer text,                 -- last BBB create answer (bbb_meeting_info, JSON)
    created integer not null,
    updated integer not null,
    unique (slug, idempotent_id)
);

create index meetings_created on meetings (created);

-- Publik signature nonces, remembered past the 30 s acceptance window so a replay is refused.
create table nonces (
    nonce text primary key,
    expires_at integer not null
);

create index nonces_expires_at on nonces (expires_at);

-- Service-wide settings, e.g. the generated secret_key.
create table settings (
    name text primary key,
    value text not null
);
