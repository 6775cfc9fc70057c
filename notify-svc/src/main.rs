//! Runs notify-svc alone, configured from the environment (`NOTIFY_SVC_*` and `SHOP_*`).

use shop_kit::config::CommonConfig;
use shop_kit::topology::NOTIFY;

/// mimalloc gives back what a password hash (19 MiB) freed; glibc's malloc kept each one.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shop_kit::server::run_alone(&NOTIFY, async {
        notify_svc::App::build(CommonConfig::from_env(&NOTIFY)?).await
    })
    .await
}
