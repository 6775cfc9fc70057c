//! Runs notify-svc alone, configured from the environment (`NOTIFY_SVC_*` and `SHOP_*`); `notify-svc migrate` applies its migrations and exits, `notify-svc check URL…` asks URLs (`shop_kit::server::main_of`).

use shop_kit::config::CommonConfig;
use shop_kit::topology::NOTIFY;

/// mimalloc gives back what a password hash (19 MiB) freed; glibc's malloc kept each one.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shop_kit::server::main_of::<notify_svc::store::Migrator>(&NOTIFY, async {
        notify_svc::App::build(CommonConfig::from_env(&NOTIFY)?).await
    })
    .await
}
