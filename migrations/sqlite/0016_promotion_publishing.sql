-- What a target does once a promotion has published its payload, besides its webhook:
-- tag the release into an OpenShift image stream (the pipeline's channel update) and
-- publish its notes as a GitHub release. Kept beside the target (configuration, not events);
-- the credentials are the server's, never stored.
create table promotion_target_publishing (
    target text primary key,
    adopt_namespace text,
    adopt_imagestream text,
    github_repo text,
    updated_at text not null
);

-- The outcome of each of those steps for a promotion, projected from `promotion.step`
-- events: the last outcome of a step wins, so a resumed promotion that succeeds where it
-- failed before shows the success.
create table promotion_steps (
    promotion_id integer not null,
    step text not null,
    outcome text not null,
    detail text not null default '',
    reference text,
    recorded_at text not null,
    primary key (promotion_id, step)
);
