//! Runs delivery-svc alone, configured from the environment (`DELIVERY_SVC_*` and `SHOP_*`).

use shop_kit::config::CommonConfig;
use shop_kit::topology::DELIVERY;

/// mimalloc gives back what a password hash (19 MiB) freed; glibc's malloc kept each one.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shop_kit::server::run_alone(&DELIVERY, async {
        delivery_svc::App::build(CommonConfig::from_env(&DELIVERY)?).await
    })
    .await
}
