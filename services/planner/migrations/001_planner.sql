-- Rule-set versions (the files as checked), the activation history, plans and their strata.
CREATE TABLE rule_versions (
    version     text PRIMARY KEY,              -- SHA-256 of the rule files
    files       jsonb NOT NULL,                -- {relative path: UTF-8 text}
    summary     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE activations (
    seq              bigserial PRIMARY KEY,
    version          text NOT NULL REFERENCES rule_versions(version),
    previous_version text,
    activated_by     text NOT NULL,
    activated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE plans (
    plan_id        text PRIMARY KEY,
    status         text NOT NULL CHECK (status IN ('approved', 'rejected')),
    year           integer NOT NULL,
    departments    text[] NOT NULL,
    submission     jsonb NOT NULL,
    rules_version  text,
    approved       jsonb,                      -- the plan.approved event as published
    reasons        jsonb,
    flags          text[] NOT NULL DEFAULT '{}',
    submitted_by   text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE plan_strata (
    plan_id      text NOT NULL REFERENCES plans(plan_id),
    stratum_id   text NOT NULL,
    excluded     boolean NOT NULL,
    bp           integer,
    k_estimate   integer,
    explanation  jsonb NOT NULL,
    PRIMARY KEY (plan_id, stratum_id)
);
