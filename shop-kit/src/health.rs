//! What readiness is made of, shared by the database helpers that build the check, the server
//! that answers `/health/ready` with it and the metrics that report it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Answers whether a service can take traffic (its database answers, migrations applied).
pub type ReadinessCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;
