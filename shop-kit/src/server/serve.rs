//! The connection loop every service runs: hyper serving the poem endpoint, with the bounds a
//! server that faces any client needs. A cap on open connections, kept for the living: near it
//! idle connections are closed sooner, at it the longest idle make room for a new one, and only
//! when every place is busy serving is a new connection refused (503 with `Retry-After`, or
//! probes and scrapes only for a few); a deadline from the accept for a request's head (so a
//! connection that says nothing is closed as soon as a slow head); an idle timeout for
//! kept-alive connections. Neither silent, idle nor slow clients can hold a service's
//! descriptors. (poem's own `Server` has only an idle timeout, which a client sending a byte now
//! and then never meets.)

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use poem::endpoint::BoxEndpoint;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint, EndpointExt, IntoResponse, Response};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_util::sync::CancellationToken;

use super::ServerLimits;
use super::activity::{Activity, Expired, Watched};

/// The connection gauges and counters of one service.
#[derive(Clone)]
pub struct ConnectionMetrics {
    open: prometheus::IntGauge,
    refused: prometheus::IntCounter,
    idle: prometheus::IntCounter,
    slow: prometheus::IntCounter,
    silent: prometheus::IntCounter,
    evicted: prometheus::IntCounter,
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
            "Connections answered 503 and closed at once: every place was busy serving.",
        )?;
        let closed = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "shop_http_connections_closed_total",
                "Connections the service closed: `idle` (nothing for the idle timeout), \
                 `silent` (no byte within the header timeout of the accept), `slow_head` (a \
                 request's head not complete within the header timeout) or `evicted` (idle \
                 while the service was near its cap).",
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
            silent: closed.with_label_values(&["silent"]),
            evicted: closed.with_label_values(&["evicted"]),
        })
    }
}

/// Connections beyond the cap that wait to say something (the oldest are closed for newer
/// ones beyond this): a client's fresh connection sends its request at once, a silent one never.
const WAITING: usize = 256;

/// How long a connection beyond the cap may take to send its first byte.
const SPEAK_WITHIN: Duration = Duration::from_secs(1);

/// How long a connection that spoke waits for the place an idle connection closed for it gives
/// back; after that it is served probes and scrapes only.
const PLACE_WAIT: Duration = Duration::from_millis(250);

/// Near the cap (nine tenths of it), connections idle this long are closed to keep room: the
/// idle timeout shrinks to this while the service is crowded.
const CROWDED_IDLE: Duration = Duration::from_secs(5);

/// Idle connections closed at once near the cap.
const EVICT_AT_ONCE: usize = 4;

/// One log line per cause at most this often.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Serves `endpoint` on `listener` until `stop` turns true; then stops accepting, lets the
/// requests in flight finish (up to `grace`) and returns.
///
/// At most `max_connections` connections are served. Near that cap the connections idle for
/// [`CROWDED_IDLE`] are closed; at it, the longest idle are closed to make room, so that
/// connections which say nothing never lock the living out. A connection that still finds no
/// place is served probes and scrapes only (503 for the rest) while [`OVERFLOW`] allows, and
/// beyond that answered 503 and closed.
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
    let probes_only: Arc<BoxEndpoint<'static, Response>> =
        Arc::new(endpoint.clone().around(only_probes).boxed());
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let open = Arc::new(OpenConnections::default());
    let waiting = Arc::new(OpenConnections::default());
    let refusals = Arc::new(Refusals::default());
    let local = listener.local_addr().ok();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // hyper's own head timer also runs while a kept-alive connection waits for its next
        // request: it is the idle timeout here; the head's own deadline is `Activity`'s.
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
    let crowded = limits.max_connections - limits.max_connections / 10;
    let mut eviction_log = Every::default();
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
        let in_use = limits.max_connections - slots.available_permits();
        let mut evicted = 0;
        if in_use >= crowded {
            evicted += open.evict(EVICT_AT_ONCE, CROWDED_IDLE);
        }
        let place = match slots.clone().try_acquire_owned() {
            Ok(slot) => Place::Slot(slot),
            // At the cap: the connection waits to speak, the oldest of those waiting making room
            // for it when they are too many (they have said nothing yet).
            Err(_) => {
                evicted += waiting.evict_oldest(WAITING);
                Place::Waiting(waiting.track())
            }
        };
        if evicted > 0 {
            metrics.evicted.inc_by(evicted as u64);
            if eviction_log.due() {
                tracing::warn!(
                    service = name,
                    max_connections = limits.max_connections,
                    closed = evicted,
                    "near the connection cap: idle connections closed to make room for new ones \
                     (many clients connecting and saying nothing?)"
                );
            }
        }
        let _ = stream.set_nodelay(true);
        let (endpoint, probes_only) = (endpoint.clone(), probes_only.clone());
        let (builder, metrics, stop) = (builder.clone(), metrics.clone(), stop.clone());
        let (slots, open, waiting) = (slots.clone(), open.clone(), waiting.clone());
        let refusals = refusals.clone();
        tokio::spawn(async move {
            let (slot, endpoint) = match place {
                Place::Slot(slot) => (Some(slot), endpoint),
                Place::Waiting(entry) => {
                    let found = find_place(&stream, &entry, &slots, &open).await;
                    waiting.forget(&entry);
                    match found {
                        Found::Place(slot, made_room) => {
                            metrics.evicted.inc_by(made_room as u64);
                            (Some(slot), endpoint)
                        }
                        // Every place is busy serving: probes and scrapes only.
                        Found::Busy => {
                            metrics.refused.inc();
                            refusals.say(name, limits.max_connections);
                            (None, probes_only)
                        }
                        Found::Silent => {
                            metrics.silent.inc();
                            return;
                        }
                        Found::Evicted => return,
                    }
                }
            };
            metrics.open.inc();
            let tracked = open.track();
            connection(
                stream,
                (local, remote),
                endpoint,
                &builder,
                &limits,
                stop,
                (&metrics, &tracked),
            )
            .await;
            open.forget(&tracked);
            metrics.open.dec();
            drop(slot);
        });
    }
    drop(listener);
    // Wait (up to `grace`) until every connection has finished its requests and closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(grace, slots.acquire_many(all)).await;
}

/// Where a new connection stands.
enum Place {
    /// It has one of the service's places.
    Slot(OwnedSemaphorePermit),
    /// Beyond the cap, it waits to speak.
    Waiting(Arc<Tracked>),
}

/// What a connection beyond the cap found.
enum Found {
    /// A place, given back by this many idle connections closed for it.
    Place(OwnedSemaphorePermit, usize),
    /// It spoke, and every place is busy serving.
    Busy,
    /// It said nothing in time, or went away.
    Silent,
    /// It was closed for a newer one (counted as evicted).
    Evicted,
}

/// Waits for a connection beyond the cap to send its first byte, then closes the longest idle
/// open connection for it and takes the place that gives back.
async fn find_place(
    stream: &TcpStream,
    entry: &Tracked,
    slots: &Arc<Semaphore>,
    open: &OpenConnections,
) -> Found {
    let mut first = [0u8; 1];
    tokio::select! {
        peeked = tokio::time::timeout(SPEAK_WITHIN, stream.peek(&mut first)) => {
            if !matches!(peeked, Ok(Ok(n)) if n > 0) {
                return Found::Silent;
            }
        }
        _ = entry.evict.cancelled() => return Found::Evicted,
    }
    if let Ok(slot) = slots.clone().try_acquire_owned() {
        return Found::Place(slot, 0);
    }
    let made_room = open.evict(1, Duration::ZERO);
    match tokio::time::timeout(PLACE_WAIT, slots.clone().acquire_owned()).await {
        Ok(Ok(slot)) => Found::Place(slot, made_room),
        _ => Found::Busy,
    }
}

/// The rate-limited log of connections that found every place busy serving.
#[derive(Default)]
struct Refusals(Mutex<Every>);

impl Refusals {
    fn say(&self, service: &'static str, max_connections: usize) {
        let due = self.0.lock().map(|mut e| e.due()).unwrap_or(false);
        if due {
            tracing::warn!(
                service,
                max_connections,
                "every connection is busy serving a request: new ones are answered 503 \
                 (SHOP_MAX_CONNECTIONS)"
            );
        }
    }
}

/// Answers a request on a connection beyond the cap: probes and scrapes as ever, anything
/// else 503 with `Retry-After`, closing the connection.
async fn only_probes<E: Endpoint<Output = Response>>(
    ep: Arc<E>,
    req: poem::Request,
) -> poem::Result<Response> {
    if crate::metrics::is_probe_or_scrape(req.uri().path()) {
        return ep.call(req).await;
    }
    let mut answer =
        crate::problem::ApiError::busy("too many connections are open: retry later", 1)
            .into_response();
    answer.headers_mut().insert(
        poem::http::header::CONNECTION,
        poem::http::HeaderValue::from_static("close"),
    );
    Ok(answer)
}

/// Whether a rate-limited log line may be written now.
#[derive(Default)]
struct Every(Option<Instant>);

impl Every {
    fn due(&mut self) -> bool {
        let due = self.0.is_none_or(|t| t.elapsed() >= LOG_EVERY);
        if due {
            self.0 = Some(Instant::now());
        }
        due
    }
}

/// One open connection as the accept loop sees it.
struct Tracked {
    id: u64,
    activity: Arc<Activity>,
    /// Cancelled to close it (it is idle and its place is needed).
    evict: CancellationToken,
}

/// The open connections, for the accept loop to close idle ones when places run short.
#[derive(Default)]
struct OpenConnections {
    next: AtomicU64,
    all: Mutex<HashMap<u64, Arc<Tracked>>>,
}

impl OpenConnections {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Tracked>>> {
        self.all.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn track(&self) -> Arc<Tracked> {
        let tracked = Arc::new(Tracked {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            activity: Arc::new(Activity::new()),
            evict: CancellationToken::new(),
        });
        self.lock().insert(tracked.id, tracked.clone());
        tracked
    }

    fn forget(&self, tracked: &Tracked) {
        self.lock().remove(&tracked.id);
    }

    /// Closes the oldest connections until fewer than `keep` are left; how many.
    fn evict_oldest(&self, keep: usize) -> usize {
        let mut all = self.lock();
        let mut closed = 0;
        while all.len() >= keep {
            let Some(oldest) = all.keys().min().copied() else {
                break;
            };
            if let Some(t) = all.remove(&oldest) {
                t.evict.cancel();
                closed += 1;
            }
        }
        closed
    }

    /// Closes up to `n` connections idle for at least `idle`, the longest idle first; how many.
    fn evict(&self, n: usize, idle: Duration) -> usize {
        let all = self.lock();
        let mut idle: Vec<(Duration, &Arc<Tracked>)> = all
            .values()
            .filter(|t| !t.evict.is_cancelled())
            .filter_map(|t| Some((t.activity.idle_for()?, t)))
            .filter(|(for_, _)| *for_ >= idle)
            .collect();
        let n = n.min(idle.len());
        if n == 0 {
            return 0;
        }
        idle.select_nth_unstable_by(n - 1, |a, b| b.0.cmp(&a.0));
        for (_, t) in &idle[..n] {
            t.evict.cancel();
        }
        n
    }
}

/// Serves one connection until it closes, its client says nothing or is too slow to send a
/// request's head, it has been idle for the idle timeout, its place is needed while it is idle,
/// or the service stops (then the request in flight, if any, is finished first).
async fn connection(
    stream: TcpStream,
    (local, remote): (Option<SocketAddr>, SocketAddr),
    endpoint: Arc<BoxEndpoint<'static, Response>>,
    builder: &auto::Builder<TokioExecutor>,
    limits: &ServerLimits,
    mut stop: watch::Receiver<bool>,
    (metrics, tracked): (&ConnectionMetrics, &Tracked),
) {
    let local = LocalAddr(local.map_or(Addr::Custom("unknown", "".into()), Addr::SocketAddr));
    let remote = RemoteAddr(Addr::SocketAddr(remote));
    let activity = tracked.activity.clone();
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
            // Nothing said, or a head that trickles in: drop the connection, no answer owed.
            Expired::Silent => {
                metrics.silent.inc();
                return;
            }
            Expired::SlowHead => {
                metrics.slow.inc();
                return;
            }
            Expired::Idle => metrics.idle.inc(),
        },
        // Idle when chosen: nothing is lost by closing it (a request that began meanwhile is
        // finished first).
        _ = tracked.evict.cancelled() => {}
        _ = stop.wait_for(|s| *s) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
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

    /// When every place is busy serving, a new connection still gets its probe answered, and
    /// anything else a 503 with `Retry-After`.
    #[tokio::test]
    async fn probes_are_answered_when_every_place_is_busy() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let release = Arc::new(tokio::sync::Notify::new());
        let held = release.clone();
        let endpoint = poem::endpoint::make(move |req: poem::Request| {
            let held = held.clone();
            async move {
                if req.uri().path() == "/slow" {
                    held.notified().await;
                }
                "ok"
            }
        })
        .map_to_response()
        .boxed();
        let metrics = ConnectionMetrics::new(&prometheus::Registry::new()).expect("metrics");
        let (stop, stopped) = watch::channel(false);
        let limits = ServerLimits {
            max_connections: 1,
            ..ServerLimits::default()
        };
        let server = tokio::spawn(serve(
            "test",
            listener,
            endpoint,
            limits,
            metrics,
            stopped,
            Duration::from_secs(1),
        ));
        let busy = reqwest::get(format!("{url}/slow"));
        let busy = tokio::spawn(busy);
        let fresh = || reqwest::Client::builder().pool_max_idle_per_host(0).build();
        let client = fresh().expect("a client");
        // Once the one place is taken, the others find it busy.
        let mut refused = None;
        for _ in 0..100 {
            let answer = client.get(format!("{url}/other")).send().await;
            if let Ok(a) = answer
                && a.status() == 503
            {
                refused = Some(a);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let refused = refused.expect("a 503 while the place is busy");
        assert_eq!(refused.headers()["retry-after"], "1");
        let probe = client.get(format!("{url}/health/live")).send().await;
        assert_eq!(probe.expect("a probe's answer").status(), 200);
        release.notify_waiters();
        assert_eq!(busy.await.expect("joined").expect("answered").status(), 200);
        let _ = stop.send(true);
        server.await.expect("the server stops");
    }
}
