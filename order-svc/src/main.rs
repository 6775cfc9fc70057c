//! Runs order-svc alone, configured from the environment (`ORDER_SVC_*` and `SHOP_*`).

use shop_kit::topology::ORDER;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shop_kit::server::run_alone(&ORDER, async {
        order_svc::App::build(order_svc::Config::from_env()?).await
    })
    .await
}
