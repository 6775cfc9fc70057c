//! The load tool against the in-process shop: a short run with refusals and reads, after which
//! the tool's own books balance (money, stock and messages of everything it created). No figure
//! is asserted: speed is measured with the tool, never in a timed test.

use std::time::Duration;

use shop_load::{Length, Plan, Urls};
use shop_tests::{ADMIN_PASSWORD, TestShop};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_load_run_balances_its_books() {
    let shop = TestShop::spawn().await;
    let api = &shop.api;
    let urls = Urls {
        user: api.user.clone(),
        order: api.order.clone(),
        payment: api.payment.clone(),
        stock: api.stock.clone(),
        delivery: api.delivery.clone(),
        notify: api.notify.clone(),
    };
    let plan = Plan {
        concurrency: 4,
        length: Length::Orders(60),
        rate: None,
        shoppers: 4,
        products: 2,
        couriers: 1,
        mix: true,
        progress: false,
        health: Duration::from_millis(200),
        // The shop runs in this process (with the load): the figure's path, not its size.
        shop_pid: i32::try_from(std::process::id()).ok(),
        // On PostgreSQL, the commits of this test's own databases.
        postgres: match &shop.dbs {
            shop_tests::Databases::Postgres { server, prefix } => {
                Some(shop_load::commits::ShopDatabases {
                    server: server.clone(),
                    prefix: prefix.clone(),
                })
            }
            shop_tests::Databases::Sqlite(_) => None,
        },
    };
    let report = shop_load::run(&urls, ADMIN_PASSWORD, &plan)
        .await
        .expect("the run completes");
    assert!(report.books.balanced(), "{}", report.table());
    assert_eq!(report.errors, 0, "{}", report.table());
    let finished = report.completed + report.accepted + report.refused;
    assert_eq!(finished, report.books.orders, "{}", report.table());
    assert!(report.completed > 0, "{}", report.table());
    assert!(
        report.cpu_ms_per_order.is_some_and(|ms| ms > 0.0),
        "{}",
        report.table()
    );
    assert!(report.health_per_second.is_some_and(|h| h > 0.0));
    // A completed order costs at least a reservation and a confirmation with each of the three
    // participants and its message: seven calls between the services.
    assert!(
        report.calls_per_order.is_some_and(|c| c >= 7.0),
        "{}",
        report.table()
    );
    // Every order commits in several databases; on SQLite nothing is counted.
    assert_eq!(
        report.commits_per_order.is_some_and(|c| c >= 1.0),
        shop.dbs.is_postgres(),
        "{}",
        report.table()
    );
}
