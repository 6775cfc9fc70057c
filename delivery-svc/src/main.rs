//! Runs delivery-svc alone, configured from the environment (`DELIVERY_SVC_*` and `SHOP_*`).

use shop_kit::config::CommonConfig;
use shop_kit::topology::DELIVERY;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shop_kit::server::run_alone(&DELIVERY, async {
        delivery_svc::App::build(CommonConfig::from_env(&DELIVERY)?).await
    })
    .await
}
