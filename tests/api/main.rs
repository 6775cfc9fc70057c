//! The public surface of every service: health, docs, metrics, problem+json errors, users and
//! login, authorization, pagination and request limits.
#![allow(clippy::unwrap_used)]

mod auth;
mod docs;
mod load;
mod metrics;
mod stream;
mod surface;
