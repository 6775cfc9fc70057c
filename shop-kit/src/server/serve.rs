//! The connection loop every service runs: hyper serving the poem endpoint, with the bounds a
//! server that faces any client needs. A cap on open connections (beyond it a new connection
//! gets a 503 with `Retry-After` and is closed, counted and logged), a deadline for a request's
//! head to arrive, and an idle timeout for kept-alive connections, so that neither idle nor slow
//! clients can hold a service's descriptors. (poem's own `Server` has only an idle timeout,
//! which a client sending a byte now and then never meets.)

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use poem::endpoint::BoxEndpoint;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use super::ServerLimits;

/// The connection gauges and counters of one service.
#[derive(Clone)]
pub struct ConnectionMetrics {
    open: prometheus::IntGauge,
    refused: prometheus::IntCounter,
    idle: prometheus::IntCounter,
    slow: prometheus::IntCounter,
}

impl ConnectionMetrics {
    /// Registers `shop_http_connections_open`, `shop_http_connections_refused_total` and
    /// `shop_http_connections_closed_total{reason}` on `registry`.
    pub fn new(registry: &prometheus::Registry) -> prometheus::Result<Self> {
        let open = prometheus::IntGauge::new(
            "shop_http_connections_open",
            "HTTP connections open on this service.",
        )?;
        let refused = prometheus::IntCounter::new(
            "shop_http_connections_refused_total",
            "Connections answered 503 and closed at once: the service had its most open.",
        )?;
        let closed = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "shop_http_connections_closed_total",
                "Connections the service closed: `idle` (nothing for the idle timeout) or \
                 `slow_head` (a request's head not complete within the header timeout).",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(open.clone()))?;
        registry.register(Box::new(refused.clone()))?;
        registry.register(Box::new(closed.clone()))?;
        Ok(Self {
            open,
            refused,
            idle: closed.with_label_values(&["idle"]),
            slow: closed.with_label_values(&["slow_head"]),
        })
    }
}

/// What a connection beyond the cap is told before it is closed.
fn refusal() -> &'static [u8] {
    static REFUSAL: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
        let problem = crate::problem::Problem::new(
            poem::http::StatusCode::SERVICE_UNAVAILABLE,
            "too many connections are open: retry later",
        );
        let body = serde_json::to_string(&problem).unwrap_or_default();
        format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\n\
             retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    });
    &REFUSAL
}

/// Serves `endpoint` on `listener` until `stop` turns true; then stops accepting, lets the
/// requests in flight finish (up to `grace`) and returns.
pub(super) async fn serve(
    name: &'static str,
    listener: TcpListener,
    endpoint: BoxEndpoint<'static, Response>,
    limits: ServerLimits,
    metrics: ConnectionMetrics,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) {
    let endpoint: Arc<BoxEndpoint<'static, Response>> = Arc::new(endpoint);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let local = listener.local_addr().ok();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // hyper's own head timer also runs while a kept-alive connection waits for its next
        // request: it is the idle timeout here; the head's own deadline starts at its first
        // byte (`Activity`).
        .header_read_timeout(limits.idle_timeout + Duration::from_secs(1))
        .keep_alive(true)
        // A connection buffers at most this much of what it reads (hyper's default is ~400 KiB).
        .max_buf_size(64 * 1024);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.idle_timeout / 2))
        .max_concurrent_streams(256);
    let builder = Arc::new(builder);
    let mut last_refusal_log: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => break,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors (EMFILE) or the like: say so, and give the process a
                // moment instead of spinning on the error.
                tracing::warn!(service = name, error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics.refused.inc();
            if last_refusal_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                last_refusal_log = Some(Instant::now());
                tracing::warn!(
                    service = name,
                    max_connections = limits.max_connections,
                    "connection refused: the service has its most connections open \
                     (SHOP_MAX_CONNECTIONS)"
                );
            }
            // A fresh socket's send buffer is empty: the answer fits without waiting.
            let _ = stream.try_write(refusal());
            continue;
        };
        let _ = stream.set_nodelay(true);
        let endpoint = endpoint.clone();
        let builder = builder.clone();
        let metrics = metrics.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            metrics.open.inc();
            connection(
                stream,
                (local, remote),
                endpoint,
                &builder,
                &limits,
                stop,
                &metrics,
            )
            .await;
            metrics.open.dec();
            drop(slot);
        });
    }
    drop(listener);
    // Wait (up to `grace`) until every connection has finished its requests and closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(grace, slots.acquire_many(all)).await;
}

/// Serves one connection until it closes, its client is too slow to send a request's head,
/// it has been idle for the idle timeout, or the service stops (then the request in flight, if
/// any, is finished first).
async fn connection(
    stream: TcpStream,
    (local, remote): (Option<SocketAddr>, SocketAddr),
    endpoint: Arc<BoxEndpoint<'static, Response>>,
    builder: &auto::Builder<TokioExecutor>,
    limits: &ServerLimits,
    mut stop: watch::Receiver<bool>,
    metrics: &ConnectionMetrics,
) {
    let local = LocalAddr(local.map_or(Addr::Custom("unknown", "".into()), Addr::SocketAddr));
    let remote = RemoteAddr(Addr::SocketAddr(remote));
    let activity = Arc::new(Activity::new());
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let endpoint = endpoint.clone();
            let serving = activity.request_began();
            let req = poem::Request::from((
                req,
                local.clone(),
                remote.clone(),
                poem::http::uri::Scheme::HTTP,
            ));
            async move {
                let resp = endpoint.get_response(req).await;
                drop(serving);
                Ok::<_, Infallible>(hyper::Response::<
                    http_body_util::combinators::BoxBody<Bytes, std::io::Error>,
                >::from(resp))
            }
        })
    };
    let io = Watched {
        inner: stream,
        activity: activity.clone(),
    };
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        why = activity.expired(limits) => match why {
            // A request's head that trickles in: drop the connection, no answer owed.
            Expired::SlowHead => {
                metrics.slow.inc();
                return;
            }
            Expired::Idle => metrics.idle.inc(),
        },
        _ = stop.wait_for(|s| *s) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

/// Why a connection is closed by the server.
enum Expired {
    /// A request's head began arriving and was not complete within the header timeout.
    SlowHead,
    /// No byte either way and no request in flight for the idle timeout.
    Idle,
}

/// What a connection has been doing, in milliseconds since it opened.
struct Activity {
    opened: Instant,
    /// The last byte read or written.
    last: AtomicU64,
    /// When the first byte of a request's head arrived, while no request is being served.
    head_since: AtomicU64,
    /// Requests being served (HTTP/2 has several at once).
    serving: AtomicUsize,
    /// Wakes the watch when a head begins.
    head_began: tokio::sync::Notify,
}

/// `head_since` when no head is arriving.
const NO_HEAD: u64 = u64::MAX;

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            last: AtomicU64::new(0),
            head_since: AtomicU64::new(NO_HEAD),
            serving: AtomicUsize::new(0),
            head_began: tokio::sync::Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    fn read(&self) {
        let now = self.now();
        self.last.store(now, Ordering::Relaxed);
        if self.serving.load(Ordering::Relaxed) == 0 {
            let began = self.head_since.compare_exchange(
                NO_HEAD,
                now,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            if began.is_ok() {
                self.head_began.notify_one();
            }
        }
    }

    fn wrote(&self) {
        self.last.store(self.now(), Ordering::Relaxed);
    }

    /// A request's head is complete: it is being served until the guard drops.
    fn request_began(self: &Arc<Self>) -> Serving {
        self.serving.fetch_add(1, Ordering::Relaxed);
        self.head_since.store(NO_HEAD, Ordering::Relaxed);
        Serving(self.clone())
    }

    /// Resolves when the connection has outlived one of its limits.
    async fn expired(&self, limits: &ServerLimits) -> Expired {
        let header = u64::try_from(limits.header_read_timeout.as_millis()).unwrap_or(u64::MAX);
        let idle = u64::try_from(limits.idle_timeout.as_millis()).unwrap_or(u64::MAX);
        loop {
            let now = self.now();
            let head_since = self.head_since.load(Ordering::Relaxed);
            let mut next = now.saturating_add(idle);
            if head_since != NO_HEAD {
                let due = head_since.saturating_add(header);
                if now >= due {
                    return Expired::SlowHead;
                }
                next = next.min(due);
            }
            if self.serving.load(Ordering::Relaxed) == 0 {
                let due = self.last.load(Ordering::Relaxed).saturating_add(idle);
                if now >= due {
                    return Expired::Idle;
                }
                next = next.min(due);
            }
            let wait = next.saturating_sub(now).max(20);
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
                _ = self.head_began.notified() => {}
            }
        }
    }
}

/// A request being served.
struct Serving(Arc<Activity>);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.serving.fetch_sub(1, Ordering::Relaxed);
        self.0.wrote();
    }
}

/// A connection's socket that notes when it reads and writes.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Protocol, RetrySettings, http_client};
    use poem::EndpointExt;

    /// Each protocol a caller chooses is the one its calls travel in, on the services' own
    /// connection loop: HTTP/2 without negotiation needs a server that takes it as such.
    #[tokio::test]
    async fn a_service_is_called_in_the_protocol_its_caller_chose() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = format!("http://{}/", listener.local_addr().expect("its address"));
        let endpoint = poem::endpoint::make_sync(|req| format!("{:?}", req.version()))
            .map_to_response()
            .boxed();
        let metrics = ConnectionMetrics::new(&prometheus::Registry::new()).expect("metrics");
        let (stop, stopped) = watch::channel(false);
        let server = tokio::spawn(serve(
            "test",
            listener,
            endpoint,
            ServerLimits::default(),
            metrics,
            stopped,
            Duration::from_secs(1),
        ));
        for (protocol, version) in [(Protocol::Http1, "HTTP/1.1"), (Protocol::Http2, "HTTP/2.0")] {
            let client = http_client(RetrySettings::default(), protocol, None).expect("client");
            let answer = client.get(&url).send().await.expect("an answer");
            assert_eq!(format!("{:?}", answer.version()), version);
            assert_eq!(
                answer.text().await.expect("a body"),
                version,
                "as the server saw it"
            );
        }
        let _ = stop.send(true);
        server.await.expect("the server stops");
    }
}
