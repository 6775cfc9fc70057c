//! Runs notify-svc alone, configured from the environment (`NOTIFY_SVC_*` and `SHOP_*`).

use shop_kit::config::CommonConfig;
use shop_kit::topology::NOTIFY;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shop_kit::server::run_alone(&NOTIFY, async {
        notify_svc::App::build(CommonConfig::from_env(&NOTIFY)?).await
    })
    .await
}
