//! Plumbing shared by every shop service: server bootstrap (bind, health, metrics, docs),
//! telemetry, problem+json errors, bearer and internal-token authentication, the HTTP client
//! used between services, database connection helpers, pagination, and the wire contracts of
//! the `/internal/` calls. It holds no entity, no migration and no domain rule.
#![forbid(unsafe_code)]

pub mod auth;
pub mod body;
pub mod client;
pub mod config;
pub mod contract;
pub mod date;
pub mod db;
pub mod disk;
pub mod env;
pub mod health;
pub mod idempotency;
pub mod ledger;
pub mod limits;
pub mod metrics;
pub mod money;
pub mod page;
pub mod problem;
pub mod proxies;
pub mod server;
pub mod telemetry;
pub mod text;
pub mod topology;

pub use body::JsonBody;
pub use problem::{
    ApiError, ApiResult, FieldError, FieldErrors, Problem, ProblemBody, ProblemExtension,
};
