//! The server's integration tests, in one binary: each module is one story of the real
//! server (its router through `oneshot`, the real binary on an ephemeral port, a real
//! `docker-registry` and PostgreSQL on loopback), and `support` holds their shared set-up.
//! The two `*_bench` modules are benchmarks, ignored unless `bench/run` asks for them.

#![expect(
    clippy::expect_used,
    reason = "a test fails loudly when its set-up fails"
)]

mod support;

mod api;
mod auth;
mod badges;
mod default_streams;
mod demo_registry;
mod deploy;
mod hooks;
mod ingest;
mod integrity;
mod jobs;
mod live;
mod multi_arch;
mod pages;
mod payload;
mod payload_bench;
mod promote;
mod promote_bench;
mod promote_copy;
mod promote_pipeline;
mod promote_resume;
mod promote_signing;
mod provenance;
mod publish;
mod replicas;
mod search;
mod security;
mod upgrade;
