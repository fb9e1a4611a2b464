-- Rendezvous: one row per (connector slug, idempotent_id); the BBB meeting itself is ephemeral
-- and re-created from this row whenever a join link is followed.
create table meetings (
    guid text primary key,                  -- 32 hex digits, also the BBB meetingID
    slug text not null,                     -- connector instance
    idempotent_id text not null,            -- caller's identity of the rendezvous
    name text not null,
    create_parameters jsonb not null,       -- normalised BBB create parameters
    join_user_parameters jsonb not null,
    join_agent_parameters jsonb not null,
    user_full_name text,
    agent_full_name text,
    metadata jsonb not null,                -- caller's object, returned as is
    agent_key text not null,                -- join keys: unguessable, per role
    user_key text not null,
    attendee_pw text not null,              -- sent on every BBB create so re-creation is idempotent
    moderator_pw text not null,
    running boolean not null default false,
    last_time_running timestamptz,
    last_checked timestamptz,
    join_followed_at timestamptz,           -- never followed: cannot be running
    bbb_create_answer jsonb,                -- last BBB create answer (bbb_meeting_info)
    created timestamptz not null,
    updated timestamptz not null,
    constraint meetings_slug_idempotent_id unique (slug, idempotent_id)
);

create index meetings_created on meetings (created);

-- Publik signature nonces, remembered past the 30 s acceptance window so a replay is refused
-- by every instance sharing the database.
create table nonces (
    nonce text primary key,
    expires_at timestamptz not null
);

create index nonces_expires_at on nonces (expires_at);

-- Service-wide settings, e.g. the generated secret_key shared by all instances.
create table settings (
    name text primary key,
    value text not null
);
