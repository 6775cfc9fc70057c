//! Runs payment-svc alone, configured from the environment (`PAYMENT_SVC_*` and `SHOP_*`); `payment-svc migrate` applies its migrations and exits, `payment-svc check URL…` asks URLs (`shop_kit::server::main_of`).

use shop_kit::config::CommonConfig;
use shop_kit::topology::PAYMENT;

/// mimalloc gives back what a password hash (19 MiB) freed; glibc's malloc kept each one.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shop_kit::server::main_of::<payment_svc::store::Migrator>(&PAYMENT, async {
        payment_svc::App::build(CommonConfig::from_env(&PAYMENT)?).await
    })
    .await
}
