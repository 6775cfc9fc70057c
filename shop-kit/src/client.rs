//! The HTTP client services use to call each other: reqwest-middleware with tracing, retries
//! of transient failures (connect errors, timeouts, 5xx, 429) with capped exponential backoff
//! and jitter, a per-call timeout, and the internal token.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use reqwest_retry::RetryTransientMiddleware;
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_tracing::TracingMiddleware;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::env::Secret;

/// How a client retries and times out.
#[derive(Debug, Clone, Copy)]
pub struct RetrySettings {
    /// Timeout of one attempt.
    pub attempt_timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The wait before the first retry; doubled for each next one.
    pub min_backoff: Duration,
    /// The longest wait between two attempts.
    pub max_backoff: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            attempt_timeout: Duration::from_secs(2),
            max_retries: 3,
            min_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
        }
    }
}

/// The service a call goes to, carried in the request's extensions for the attempt counter.
#[derive(Debug, Clone, Copy)]
struct Peer(&'static str);

/// Counts every attempt of every call, retries included:
/// `shop_http_client_attempts_total{peer, outcome}` (outcome: the status class `2xx`…`5xx`,
/// or `error` when no answer came). Attempts beyond the calls are the retries.
#[derive(Clone)]
pub struct AttemptMetrics {
    attempts: prometheus::IntCounterVec,
}

impl AttemptMetrics {
    /// Registers the counter on `registry`.
    pub fn new(registry: &prometheus::Registry) -> prometheus::Result<Self> {
        let attempts = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "shop_http_client_attempts_total",
                "Attempts of calls to other services, retries included, by peer and outcome.",
            ),
            &["peer", "outcome"],
        )?;
        registry.register(Box::new(attempts.clone()))?;
        Ok(Self { attempts })
    }
}

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for AttemptMetrics {
    async fn handle(
        &self,
        req: reqwest::Request,
        extensions: &mut poem::http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let peer = extensions.get::<Peer>().map_or("other", |p| p.0);
        let answer = next.run(req, extensions).await;
        let outcome = match &answer {
            Ok(r) if r.status().is_success() => "2xx",
            Ok(r) if r.status().is_redirection() => "3xx",
            Ok(r) if r.status().is_client_error() => "4xx",
            Ok(_) => "5xx",
            Err(_) => "error",
        };
        self.attempts.with_label_values(&[peer, outcome]).inc();
        answer
    }
}

/// The protocol of the calls between services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// HTTP/1.1 on pooled keep-alive connections, one call at a time on each: a service behind
    /// a Kubernetes Service gets the calls spread over its replicas, connection by connection.
    #[default]
    Http1,
    /// HTTP/2 over cleartext, known in advance (every service serves it): the calls to a
    /// service share one connection. Less work per call (the README's performance section has
    /// the figures), but every call of a caller's replica goes to the one replica that
    /// connection reached.
    Http2,
}

impl Protocol {
    /// HTTP/2 when `http2` (the `SHOP_CALLS_HTTP2` setting), else HTTP/1.1.
    pub fn chosen(http2: bool) -> Self {
        if http2 { Self::Http2 } else { Self::Http1 }
    }
}

/// Builds the middleware client; fails (at start-up) rather than fall back to a client without
/// the configured timeouts. With `attempts`, every attempt is counted.
pub fn http_client(
    settings: RetrySettings,
    protocol: Protocol,
    attempts: Option<AttemptMetrics>,
) -> Result<ClientWithMiddleware, reqwest::Error> {
    let policy = ExponentialBackoff::builder()
        .retry_bounds(settings.min_backoff, settings.max_backoff)
        .build_with_max_retries(settings.max_retries);
    let mut inner = reqwest::Client::builder()
        .timeout(settings.attempt_timeout)
        .connect_timeout(settings.attempt_timeout)
        .pool_idle_timeout(Duration::from_secs(30));
    if protocol == Protocol::Http2 {
        inner = inner.http2_prior_knowledge();
    }
    let inner = inner.build()?;
    let builder = ClientBuilder::new(inner)
        .with(TracingMiddleware::default())
        .with(RetryTransientMiddleware::new_with_policy(policy));
    Ok(match attempts {
        Some(counter) => builder.with(counter).build(),
        None => builder.build(),
    })
}

/// Why a call got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The service could not be reached or kept failing (after retries).
    #[error("{service} unreachable: {source}")]
    Unreachable {
        /// Which service.
        service: &'static str,
        /// The transport error.
        #[source]
        source: reqwest_middleware::Error,
    },
    /// The service answered with a status the caller does not expect.
    #[error("{service} answered {status}: {body}")]
    Unexpected {
        /// Which service.
        service: &'static str,
        /// The status.
        status: StatusCode,
        /// The body, for the log.
        body: String,
    },
    /// The call, retries included, did not finish within its deadline.
    #[error("{service} did not answer within {deadline:?}")]
    Deadline {
        /// Which service.
        service: &'static str,
        /// The deadline.
        deadline: Duration,
    },
    /// The request's body could not be written (nothing was sent).
    #[error("{service}: the request does not serialize: {source}")]
    Unsendable {
        /// Which service.
        service: &'static str,
        /// The serialization error.
        #[source]
        source: serde_json::Error,
    },
    /// The service answered with a body that does not parse.
    #[error("{service} answered an unparsable body: {source}")]
    BadBody {
        /// Which service.
        service: &'static str,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
}

impl CallError {
    /// Whether the failure may go away on its own (unreachable, 5xx, 429): worth retrying later.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::Deadline { .. } => true,
            Self::Unexpected { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            Self::BadBody { .. } | Self::Unsendable { .. } => false,
        }
    }
}

/// An answer: its status and raw body.
#[derive(Debug)]
pub struct Reply {
    /// Which service answered.
    pub service: &'static str,
    /// The status.
    pub status: StatusCode,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// Parses the body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, CallError> {
        serde_json::from_slice(&self.body).map_err(|source| CallError::BadBody {
            service: self.service,
            source,
        })
    }

    /// The error for a status the caller did not expect.
    pub fn unexpected(&self) -> CallError {
        CallError::Unexpected {
            service: self.service,
            status: self.status,
            body: String::from_utf8_lossy(&self.body)
                .chars()
                .take(500)
                .collect(),
        }
    }
}

/// A client of one service's `/internal/` API (and its public reads).
#[derive(Clone)]
pub struct ServiceClient {
    service: &'static str,
    http: ClientWithMiddleware,
    base_url: String,
    token: Secret,
    deadline: Option<Duration>,
}

impl ServiceClient {
    /// A client of `service` at `base_url` (e.g. `http://127.0.0.1:8083`).
    pub fn new(
        service: &'static str,
        http: ClientWithMiddleware,
        base_url: &str,
        token: Secret,
    ) -> Self {
        Self {
            service,
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token,
            deadline: None,
        }
    }

    /// The service it calls.
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// The same client, giving up on a call (all its attempts) after `deadline`.
    pub fn with_deadline(self, deadline: Duration) -> Self {
        Self {
            deadline: Some(deadline),
            ..self
        }
    }

    /// Sends `method path` with an optional JSON body and the internal token, within the
    /// client's deadline when it has one.
    pub async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Reply, CallError> {
        let call = self.attempts(method, path, body);
        match self.deadline {
            None => call.await,
            Some(deadline) => {
                tokio::time::timeout(deadline, call)
                    .await
                    .unwrap_or(Err(CallError::Deadline {
                        service: self.service,
                        deadline,
                    }))
            }
        }
    }

    async fn attempts<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Reply, CallError> {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.base_url, path))
            .with_extension(Peer(self.service))
            .bearer_auth(self.token.expose());
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.map_err(|source| CallError::Unreachable {
            service: self.service,
            source,
        })?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| CallError::Unreachable {
                service: self.service,
                source: e.into(),
            })?
            .to_vec();
        Ok(Reply {
            service: self.service,
            status,
            body,
        })
    }
}
