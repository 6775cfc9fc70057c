//! Runs delivery-svc alone, configured from the environment (`DELIVERY_SVC_*` and `SHOP_*`); `delivery-svc migrate` applies its migrations and exits, `delivery-svc check URL…` asks URLs (`shop_kit::server::main_of`).

use shop_kit::config::CommonConfig;
use shop_kit::topology::DELIVERY;

/// mimalloc gives back what a password hash (19 MiB) freed; glibc's malloc kept each one.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shop_kit::server::main_of::<delivery_svc::store::Migrator>(&DELIVERY, async {
        delivery_svc::App::build(CommonConfig::from_env(&DELIVERY)?).await
    })
    .await
}
