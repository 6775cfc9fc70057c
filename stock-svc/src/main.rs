//! Runs stock-svc alone, configured from the environment (`STOCK_SVC_*` and `SHOP_*`).

use shop_kit::config::CommonConfig;
use shop_kit::topology::STOCK;

/// mimalloc gives back what a password hash (19 MiB) freed; glibc's malloc kept each one.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shop_kit::server::run_alone(&STOCK, async {
        stock_svc::App::build(CommonConfig::from_env(&STOCK)?).await
    })
    .await
}
