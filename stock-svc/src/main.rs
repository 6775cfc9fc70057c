//! Runs stock-svc alone, configured from the environment (`STOCK_SVC_*` and `SHOP_*`); `stock-svc migrate` applies its migrations and exits, `stock-svc check URL…` asks URLs (`shop_kit::server::main_of`).

use shop_kit::config::CommonConfig;
use shop_kit::topology::STOCK;

/// mimalloc gives back what a password hash (19 MiB) freed; glibc's malloc kept each one.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shop_kit::server::main_of::<stock_svc::store::Migrator>(&STOCK, async {
        stock_svc::App::build(CommonConfig::from_env(&STOCK)?).await
    })
    .await
}
