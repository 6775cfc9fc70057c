//! The fault layer: an HTTP proxy in front of each service order-svc calls (payment, stock,
//! delivery, notify). It forwards every call unchanged unless a rule, or the seeded chaos mode,
//! picks a fault for it (reserve, confirm, release, cancel, message): fail with 5xx, refuse,
//! deliver it late, commit it and drop the
//! answer, deliver it twice, deliver the order's release before it, or crash order-svc just
//! before or just after it reaches the participant.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem::http::{HeaderMap, Method, StatusCode};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Endpoint, Request, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::Notify;

/// Which call of the saga protocol a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Call {
    /// `POST /internal/reservations`.
    Reserve,
    /// `POST /internal/reservations/{order_id}/confirm`.
    Confirm,
    /// `DELETE /internal/reservations/{order_id}`.
    Release,
    /// `POST /internal/reservations/{order_id}/cancel`.
    Cancel,
    /// `POST /internal/messages`.
    Message,
    /// Anything else (catalogue reads).
    Other,
}

impl Call {
    fn of(method: &Method, path: &str) -> Self {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method.as_str(), parts.as_slice()) {
            ("POST", ["internal", "reservations"]) => Self::Reserve,
            ("POST", ["internal", "reservations", _, "confirm"]) => Self::Confirm,
            ("DELETE", ["internal", "reservations", _]) => Self::Release,
            ("POST", ["internal", "reservations", _, "cancel"]) => Self::Cancel,
            ("POST", ["internal", "messages"]) => Self::Message,
            _ => Self::Other,
        }
    }
}

/// What happens to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status (5xx: a failure; 4xx: a refusal) without forwarding.
    Answer(u16),
    /// Hold the call this long, then forward it even if the caller has given up.
    Delay(Duration),
    /// Forward the call (the participant commits) and never answer it: the caller's attempt
    /// times out.
    DropAnswer,
    /// Forward the call twice; answer the second answer.
    Twice,
    /// Deliver the order's release first, then the reserve itself.
    ReleaseFirst,
    /// Crash order-svc while its call has not reached the participant.
    CrashBefore,
    /// Crash order-svc after its call reached the participant, before the answer gets back.
    CrashAfter,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Self::Answer(s) if s >= 500 => "5xx",
            Self::Answer(_) => "refusal",
            Self::Delay(_) => "delay",
            Self::DropAnswer => "dropped answer",
            Self::Twice => "delivered twice",
            Self::ReleaseFirst => "release before reserve",
            Self::CrashBefore => "crash before call",
            Self::CrashAfter => "crash after call",
        }
    }
}

/// A fault for the next `times` calls of one kind to one service.
#[derive(Debug, Clone)]
struct Rule {
    target: &'static str,
    call: Call,
    fault: Fault,
    times: u32,
}

/// Random faults: each protocol call gets one of `menu` with probability `rate`; at most
/// `crashes` of them are crashes.
#[derive(Debug)]
struct Chaos {
    rng: StdRng,
    rate: f64,
    menu: Vec<Fault>,
    crashes: u32,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    chaos: Option<Chaos>,
    injected: BTreeMap<&'static str, u64>,
    /// Calls that reached each target's proxy.
    calls: BTreeMap<&'static str, u64>,
    /// Calls each target's proxy delayed.
    delayed: BTreeMap<&'static str, u64>,
    /// Delayed calls that reached each target itself and were answered.
    landed: BTreeMap<&'static str, u64>,
}

/// The fault plan shared by every proxy of a test shop.
#[derive(Debug, Default)]
pub struct Faults {
    state: Mutex<State>,
    crash: Notify,
    released: Notify,
    called: Notify,
}

impl Faults {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `fault` to the next `times` `call`s to `target` (`payment`, `stock`,
    /// `delivery`, `notify`).
    pub fn inject(&self, target: &'static str, call: Call, fault: Fault, times: u32) {
        self.state().rules.push(Rule {
            target,
            call,
            fault,
            times,
        });
    }

    /// From now on, every protocol call (reserve, confirm, release, message) gets a fault from
    /// `menu` with probability `rate`, drawn from a generator seeded with `seed`; after
    /// `crashes` crashes, crash faults are skipped.
    pub fn chaos(&self, seed: u64, rate: f64, menu: &[Fault], crashes: u32) {
        self.state().chaos = Some(Chaos {
            rng: StdRng::seed_from_u64(seed),
            rate,
            menu: menu.to_vec(),
            crashes,
        });
    }

    /// Forwards every call unchanged from now on; calls held for a crash that did not come
    /// fail with 502.
    pub fn clear(&self) {
        let mut state = self.state();
        state.rules.clear();
        state.chaos = None;
        self.released.notify_waiters();
    }

    /// Holds a call that is never to be answered (502 once the faults are cleared).
    async fn hold(&self) -> Response {
        tokio::select! {
            _ = tokio::time::sleep(HELD) => {}
            _ = self.released.notified() => {}
        }
        Response::builder().status(StatusCode::BAD_GATEWAY).finish()
    }

    /// How many faults of each kind were injected so far.
    pub fn injected(&self) -> BTreeMap<&'static str, u64> {
        self.state().injected.clone()
    }

    /// How many calls reached `target`'s proxy so far.
    pub fn calls(&self, target: &str) -> u64 {
        self.state().calls.get(target).copied().unwrap_or(0)
    }

    /// How many delayed calls reached `target` itself, late, and were answered.
    pub fn landed(&self, target: &str) -> u64 {
        self.state().landed.get(target).copied().unwrap_or(0)
    }

    /// Resolves once `n` calls in all have reached `target`'s proxy; panics after a minute
    /// without them (a test never hangs on calls that do not come).
    pub async fn wait_for_calls(&self, target: &str, n: u64) {
        self.wait_until(
            || self.calls(target) >= n,
            &format!("{n} calls to {target}"),
        )
        .await;
    }

    /// Resolves once every call to `target` delayed so far has landed there and been
    /// answered: what a late call did is done. Panics after a minute without them.
    pub async fn wait_for_delayed(&self, target: &str) {
        let n = self.state().delayed.get(target).copied().unwrap_or(0);
        let what = format!("{n} delayed calls to {target}");
        self.wait_until(|| self.landed(target) >= n, &what).await;
    }

    /// Resolves once `done` holds, looked at after each counted call; panics after a minute.
    async fn wait_until(&self, done: impl Fn() -> bool, what: &str) {
        let waiting = async {
            loop {
                let called = self.called.notified();
                tokio::pin!(called);
                called.as_mut().enable();
                if done() {
                    return;
                }
                called.await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(60), waiting)
            .await
            .is_err()
        {
            panic!("{what} did not come within a minute");
        }
    }

    fn count_call(&self, target: &'static str) {
        *self.state().calls.entry(target).or_default() += 1;
        self.called.notify_waiters();
    }

    fn count_landed(&self, target: &'static str) {
        *self.state().landed.entry(target).or_default() += 1;
        self.called.notify_waiters();
    }

    /// Resolves when a fault asks for order-svc to crash (at once if one asked since the last
    /// call).
    pub async fn crash_asked(&self) {
        self.crash.notified().await;
    }

    fn pick(&self, target: &'static str, call: Call) -> Option<Fault> {
        let mut state = self.state();
        let ruled = state
            .rules
            .iter_mut()
            .find(|r| r.target == target && r.call == call && r.times > 0)
            .map(|r| {
                r.times -= 1;
                r.fault
            });
        let fault = ruled.or_else(|| {
            let chaos = state.chaos.as_mut()?;
            if call == Call::Other || !chaos.rng.random_bool(chaos.rate) {
                return None;
            }
            let i = chaos.rng.random_range(0..chaos.menu.len());
            let fault = chaos.menu[i];
            if matches!(fault, Fault::CrashBefore | Fault::CrashAfter) {
                if chaos.crashes == 0 {
                    return None;
                }
                chaos.crashes -= 1;
            }
            // Only a reserve can be preceded by its release.
            (fault != Fault::ReleaseFirst || call == Call::Reserve).then_some(fault)
        })?;
        *state.injected.entry(fault.name()).or_default() += 1;
        Some(fault)
    }

    fn ask_crash(&self) {
        self.crash.notify_one();
    }
}

/// A proxy in front of one service.
struct Proxy {
    target: &'static str,
    upstream: String,
    http: reqwest::Client,
    faults: Arc<Faults>,
}

/// A request, read whole so that it can be sent more than once.
#[derive(Clone)]
struct Forward {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// How long a call that is never to be answered is held (its caller is gone by then).
const HELD: Duration = Duration::from_secs(30);

impl Proxy {
    async fn send(&self, f: &Forward) -> Response {
        let method = reqwest::Method::from_bytes(f.method.as_str().as_bytes())
            .unwrap_or(reqwest::Method::GET);
        let mut req = self
            .http
            .request(method, format!("{}{}", self.upstream, f.path))
            .body(f.body.clone());
        for (name, value) in &f.headers {
            if name == "authorization" || name == "content-type" {
                req = req.header(name.as_str(), value.as_bytes());
            }
        }
        match req.send().await {
            Ok(resp) => {
                let status =
                    StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
                let content_type = resp
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let bytes = resp.bytes().await.unwrap_or_default();
                let mut out = Response::builder().status(status);
                if let Some(ct) = content_type {
                    out = out.content_type(ct);
                }
                out.body(bytes.to_vec())
            }
            Err(_) => Response::builder().status(StatusCode::BAD_GATEWAY).finish(),
        }
    }

    /// The release of the order a reserve is for, sent before the reserve itself.
    fn release_of(f: &Forward) -> Option<Forward> {
        let body: serde_json::Value = serde_json::from_slice(&f.body).ok()?;
        let order_id = body.get("order_id")?.as_str()?;
        Some(Forward {
            method: Method::DELETE,
            path: format!("/internal/reservations/{order_id}"),
            headers: f.headers.clone(),
            body: Vec::new(),
        })
    }

    async fn handle(self: Arc<Self>, f: Forward) -> Response {
        let call = Call::of(&f.method, &f.path);
        let Some(fault) = self.faults.pick(self.target, call) else {
            return self.send(&f).await;
        };
        match fault {
            Fault::Answer(status) => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
                let problem = serde_json::json!({
                    "type": "about:blank",
                    "title": status.canonical_reason().unwrap_or("fault"),
                    "status": status.as_u16(),
                    "detail": "injected by the fault layer",
                });
                Response::builder()
                    .status(status)
                    .content_type("application/problem+json")
                    .body(problem.to_string())
            }
            Fault::Delay(d) => {
                *self.faults.state().delayed.entry(self.target).or_default() += 1;
                let proxy = self.clone();
                let late = tokio::spawn(async move {
                    tokio::time::sleep(d).await;
                    let answer = proxy.send(&f).await;
                    proxy.faults.count_landed(proxy.target);
                    answer
                });
                late.await.unwrap_or_else(|_| {
                    Response::builder().status(StatusCode::BAD_GATEWAY).finish()
                })
            }
            Fault::DropAnswer => {
                let _ = self.send(&f).await;
                self.faults.hold().await
            }
            Fault::Twice => {
                let _ = self.send(&f).await;
                self.send(&f).await
            }
            Fault::ReleaseFirst => {
                if let Some(release) = Self::release_of(&f) {
                    let _ = self.send(&release).await;
                }
                self.send(&f).await
            }
            Fault::CrashBefore => {
                self.faults.ask_crash();
                self.faults.hold().await
            }
            Fault::CrashAfter => {
                let _ = self.send(&f).await;
                self.faults.ask_crash();
                self.faults.hold().await
            }
        }
    }
}

struct ProxyEndpoint(Arc<Proxy>);

impl Endpoint for ProxyEndpoint {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let path = req
            .uri()
            .path_and_query()
            .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
        let body = req.take_body().into_vec().await.unwrap_or_default();
        let f = Forward {
            method: req.method().clone(),
            path,
            headers: req.headers().clone(),
            body,
        };
        self.0.faults.count_call(self.0.target);
        Ok(self.0.clone().handle(f).await)
    }
}

/// Starts a proxy for `target` in front of `upstream`; returns its base URL.
pub async fn start_proxy(target: &'static str, upstream: &str, faults: Arc<Faults>) -> String {
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .expect("proxy port");
    let port = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().map(|s| s.port()))
        .expect("proxy address");
    let proxy = Arc::new(Proxy {
        target,
        upstream: upstream.to_owned(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("proxy client"),
        faults,
    });
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(ProxyEndpoint(proxy)));
    format!("http://127.0.0.1:{port}")
}
