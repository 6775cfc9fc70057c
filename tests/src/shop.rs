//! Spawning the shop in-process.

use std::sync::Arc;
use std::time::Duration;

use shop_kit::auth::{AuthConfig, SigningKey};
use shop_kit::config::{CommonConfig, Secret};
use shop_kit::server::Service;
use shop_kit::topology::{DELIVERY, NOTIFY, ORDER, PAYMENT, STOCK, USER};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::client::Api;
use crate::databases::Databases;
use crate::faults::{Faults, start_proxy};

/// A running service.
pub struct Running {
    /// The service's name.
    pub name: &'static str,
    /// Its base URL.
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    run: Run,
}

/// Where a service runs.
enum Run {
    /// A task on the test's runtime.
    Task(JoinHandle<std::io::Result<()>>),
    /// A thread of its own with a single-threaded runtime (order-svc): a kill stops it between
    /// two polls and drops every task it spawned without polling any of them again, as a
    /// crashed process would.
    Thread {
        kill: Option<oneshot::Sender<()>>,
        gone: oneshot::Receiver<()>,
    },
}

impl Running {
    /// Runs a built service in the background, on the test's runtime.
    pub fn start(service: Service) -> Self {
        let (tx, rx) = oneshot::channel::<()>();
        let name = service.name();
        let url = format!("http://127.0.0.1:{}", service.port());
        let task = tokio::spawn(service.run_until(async move {
            let _ = rx.await;
        }));
        Self {
            name,
            url,
            stop: Some(tx),
            run: Run::Task(task),
        }
    }

    /// Builds and runs order-svc on a thread and runtime of its own, on `config.common.port`
    /// (waiting for the port to come free when a crashed instance held it).
    pub async fn start_order(config: order_svc::Config) -> Self {
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (kill_tx, kill_rx) = oneshot::channel::<()>();
        let (gone_tx, gone_rx) = oneshot::channel::<()>();
        let (bound_tx, bound_rx) = oneshot::channel::<u16>();
        std::thread::Builder::new()
            .name("order-svc".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("order-svc runtime");
                runtime.block_on(async move {
                    let mut tries = 0;
                    let service = loop {
                        match order_svc::App::build(config.clone()).await {
                            Ok(s) => break s,
                            Err(e) if tries < 200 => {
                                tries += 1;
                                tracing::debug!(error = %e, "order-svc: waiting for its port");
                                tokio::time::sleep(Duration::from_millis(25)).await;
                            }
                            Err(e) => panic!("order-svc does not start: {e}"),
                        }
                    };
                    let _ = bound_tx.send(service.port());
                    let serve = service.run_until(async move {
                        let _ = stop_rx.await;
                    });
                    tokio::select! {
                        _ = serve => {}
                        _ = kill_rx => {}
                    }
                });
                drop(runtime); // every task left is dropped here, unpolled
                let _ = gone_tx.send(());
            })
            .expect("order-svc thread");
        let port = bound_rx.await.expect("order-svc starts");
        Self {
            name: "order-svc",
            url: format!("http://127.0.0.1:{port}"),
            stop: Some(stop_tx),
            run: Run::Thread {
                kill: Some(kill_tx),
                gone: gone_rx,
            },
        }
    }

    /// Stops it gracefully and waits until it has.
    pub async fn stop(mut self) {
        self.halt().await;
    }

    /// Stops it gracefully and waits until it has, leaving the handle of a stopped service.
    async fn halt(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match &mut self.run {
            Run::Task(task) => {
                let _ = task.await;
            }
            Run::Thread { gone, .. } => {
                let _ = gone.await;
            }
        }
    }

    /// Kills it at once, wherever it is (a crash): in-flight requests and sagas are dropped.
    pub async fn kill(mut self) {
        match &mut self.run {
            Run::Task(task) => {
                task.abort();
                let _ = task.await;
            }
            Run::Thread { kill, gone } => {
                if let Some(kill) = kill.take() {
                    let _ = kill.send(());
                }
                let _ = gone.await;
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Run::Thread { kill, .. } = &mut self.run
            && let Some(kill) = kill.take()
        {
            let _ = kill.send(());
        }
    }
}

/// One handle per running service.
pub struct Services {
    /// user-svc.
    pub user: Running,
    /// payment-svc.
    pub payment: Running,
    /// stock-svc.
    pub stock: Running,
    /// delivery-svc.
    pub delivery: Running,
    /// notify-svc.
    pub notify: Running,
    /// order-svc: `None` only while a restart replaces it.
    pub order: Option<Running>,
    /// The test-only loyalty participant, in a shop whose saga has it.
    pub loyalty: Option<Running>,
}

/// The whole shop, in-process. When a test is done with it (and has not failed), dropping it
/// waits for the shop to settle and checks its invariants (see [`Databases::check_invariants`]):
/// no test has to remember to.
pub struct TestShop {
    /// The services' databases.
    pub dbs: Databases,
    /// A client of the public and internal APIs.
    pub api: Api,
    /// order-svc's configuration, to start it again on the same database.
    pub order_config: order_svc::Config,
    /// The running services.
    pub services: Services,
    /// The fault layer between order-svc and the services it calls.
    pub faults: Arc<Faults>,
    /// The key user-svc signs tokens with, for tests that forge tokens.
    pub signing_key: SigningKey,
    /// payment-svc's configuration, to start it again on the same database and port.
    payment_config: CommonConfig,
    /// Whether dropping it checks the invariants.
    audit: bool,
}

impl Drop for TestShop {
    fn drop(&mut self) {
        if std::thread::panicking() || !self.audit {
            return; // a failed test's own message is the one to read
        }
        self.faults.clear();
        let dbs = &self.dbs;
        let loyalty = self.services.loyalty.is_some();
        // The services run on the test's runtime: its other workers go on while this waits.
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(dbs.check_invariants_of(loyalty))
        });
    }
}

fn random_secret() -> Secret {
    Secret::new(hex::encode(rand::random::<[u8; 32]>()))
}

/// The admin's password in every test shop.
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

impl TestShop {
    /// Spawns the shop with order-svc's test timings.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns the shop, letting the test adjust order-svc's configuration.
    pub async fn spawn_with(tune: impl FnOnce(&mut order_svc::Config)) -> Self {
        Self::spawn_saga(None, tune).await
    }

    /// Spawns the shop with the test-only loyalty participant in its saga at `position` (0:
    /// before payment), letting the test adjust order-svc's configuration.
    pub async fn spawn_loyal(position: usize, tune: impl FnOnce(&mut order_svc::Config)) -> Self {
        Self::spawn_saga(Some(position), tune).await
    }

    async fn spawn_saga(
        loyalty_at: Option<usize>,
        tune: impl FnOnce(&mut order_svc::Config),
    ) -> Self {
        if std::env::var_os("RUST_LOG").is_some() {
            // Logs (and spans) only when asked for; the guard lives as long as the test binary.
            static TELEMETRY: std::sync::OnceLock<shop_kit::telemetry::Telemetry> =
                std::sync::OnceLock::new();
            TELEMETRY.get_or_init(|| shop_kit::telemetry::init("shop"));
        }
        let dbs = Databases::fresh().await;
        let signing_key = SigningKey::generate();
        let auth = AuthConfig::signing(signing_key.clone(), &[], 900);
        let internal_token = random_secret();
        let mut common = Vec::new();
        for service in [USER, PAYMENT, STOCK, DELIVERY, NOTIFY, ORDER] {
            common.push(CommonConfig::in_process(
                &service,
                "127.0.0.1",
                0,
                dbs.url(service.short).await,
                &auth,
                &internal_token,
            ));
        }
        let mut common = common.into_iter();
        let mut next = || common.next().expect("six configurations");
        let (user, payment, stock, delivery, notify, order) =
            (next(), next(), next(), next(), next(), next());
        let payment_config = payment.clone();
        let payment = Running::start(payment_svc::App::build(payment).await.expect("payment-svc"));
        let user = Running::start(
            user_svc::App::build(user_svc::Config {
                common: user,
                payment_url: payment.url.clone(),
                admin_password: Some(Secret::new(ADMIN_PASSWORD)),
                hashing: user_svc::HashLimits::default(),
            })
            .await
            .expect("user-svc"),
        );
        let stock = Running::start(stock_svc::App::build(stock).await.expect("stock-svc"));
        let delivery = Running::start(
            delivery_svc::App::build(delivery)
                .await
                .expect("delivery-svc"),
        );
        let notify = Running::start(notify_svc::App::build(notify).await.expect("notify-svc"));
        let faults = Arc::new(Faults::default());
        let mut urls = order_svc::ServiceUrls {
            payment: start_proxy("payment", &payment.url, faults.clone()).await,
            stock: start_proxy("stock", &stock.url, faults.clone()).await,
            delivery: start_proxy("delivery", &delivery.url, faults.clone()).await,
            notify: start_proxy("notify", &notify.url, faults.clone()).await,
            others: Vec::new(),
        };
        let mut definition = order_svc::domain::SagaDefinition::shop();
        let mut loyalty = None;
        if let Some(position) = loyalty_at {
            let config = CommonConfig::in_process(
                &crate::loyalty::LOYALTY,
                "127.0.0.1",
                0,
                dbs.url(crate::loyalty::LOYALTY.short).await,
                &auth,
                &internal_token,
            );
            let running = Running::start(crate::loyalty::build(&config).await.expect("loyalty"));
            let name = crate::loyalty::LOYALTY.name;
            urls.others
                .push((name, start_proxy(name, &running.url, faults.clone()).await));
            definition = definition
                .with(position, crate::loyalty::definition())
                .expect("loyalty joins the saga");
            loyalty = Some(running);
        }
        let mut order_config = order_svc::Config::new(order, urls);
        order_config.definition = Arc::new(definition);
        order_config.saga.recovery_interval = Duration::from_millis(200);
        order_config.saga.lease_ttl = Duration::from_secs(3);
        order_config.saga.call_retries = 2;
        order_config.saga.retry_backoff = Duration::from_millis(100);
        order_config.saga.retry_backoff_max = Duration::from_secs(1);
        tune(&mut order_config);
        let order = Running::start_order(order_config.clone()).await;
        // A restart comes back on the same port, as a restarted pod behind its Service would.
        order_config.common.port = order
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("order-svc port");
        let api = Api::new(
            [&user, &order, &payment, &stock, &delivery, &notify].map(|r| r.url.clone()),
            internal_token,
        );
        Self {
            dbs,
            api,
            order_config,
            services: Services {
                user,
                payment,
                stock,
                delivery,
                notify,
                order: Some(order),
                loyalty,
            },
            faults,
            signing_key,
            payment_config,
            audit: true,
        }
    }

    /// Skips the invariants at the end: only for a test that calls the participants directly,
    /// with orders order-svc never recorded.
    pub fn skip_invariants(&mut self) {
        self.audit = false;
    }
}

impl TestShop {
    /// Kills order-svc (a crash) and starts a new instance on the same database and port.
    pub async fn restart_order(&mut self) {
        self.replace_order(true).await;
    }

    /// Stops order-svc gracefully (SIGTERM) and starts a new instance on the same database and
    /// port.
    pub async fn redeploy_order(&mut self) {
        self.replace_order(false).await;
    }

    async fn replace_order(&mut self, crash: bool) {
        if let Some(old) = self.services.order.take() {
            if crash {
                old.kill().await;
            } else {
                old.stop().await;
            }
        }
        let order = Running::start_order(self.order_config.clone()).await;
        self.api.order = order.url.clone();
        self.services.order = Some(order);
    }

    /// Stops payment-svc gracefully (SIGTERM), leaves it down for `down`, and starts it again on
    /// the same database and port, as a restarted pod behind its Service.
    pub async fn restart_payment(&mut self, down: Duration) {
        let port = self
            .services
            .payment
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok());
        let mut config = self.payment_config.clone();
        config.port = port.expect("payment-svc's port");
        self.services.payment.halt().await;
        tokio::time::sleep(down).await;
        let again = payment_svc::App::build(config).await.expect("payment-svc");
        self.services.payment = Running::start(again);
    }

    /// Waits until every order is terminal and every message delivered, for a test that looks
    /// at the settled books before the harness checks the invariants.
    pub async fn settle(&self) {
        self.dbs.settle().await;
    }

    /// A second notify-svc instance on the same database, as another replica would be.
    pub async fn another_notify(&self) -> Running {
        let auth = AuthConfig::signing(self.signing_key.clone(), &[], 900);
        let common = CommonConfig::in_process(
            &NOTIFY,
            "127.0.0.1",
            0,
            self.dbs.url(NOTIFY.short).await,
            &auth,
            &Secret::new(self.api.internal_token()),
        );
        Running::start(notify_svc::App::build(common).await.expect("notify-svc"))
    }

    /// A second order-svc instance on the same database, on a port of its own, as another
    /// replica would be: it shares the first's background work (recovery, the outbox).
    pub async fn another_order(&self) -> Running {
        let mut config = self.order_config.clone();
        config.common.port = 0;
        Running::start_order(config).await
    }

    /// order-svc's store, for tests that set up saga states by hand.
    pub async fn order_store(&self) -> order_svc::store::OrderStore {
        order_svc::store::OrderStore::of(
            self.dbs.connect("order").await,
            self.order_config.definition.clone(),
        )
    }

    /// Gives `shopper` `points` loyalty points (a shop whose saga has loyalty).
    pub async fn grant_points(&self, shopper: &crate::Shopper, points: i64) {
        let db = self.dbs.connect(crate::loyalty::LOYALTY.short).await;
        crate::loyalty::grant(&db, shopper.id, points)
            .await
            .expect("points granted");
    }

    /// `shopper`'s loyalty points: free and reserved.
    pub async fn points(&self, shopper: &crate::Shopper) -> (i64, i64) {
        let db = self.dbs.connect(crate::loyalty::LOYALTY.short).await;
        let accounts = crate::loyalty::accounts(&db)
            .await
            .expect("loyalty accounts");
        accounts
            .iter()
            .find(|a| a.user_id == shopper.id)
            .map_or((0, 0), |a| (a.balance, a.reserved))
    }
}
