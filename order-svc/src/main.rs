//! Runs order-svc alone, configured from the environment (`ORDER_SVC_*` and `SHOP_*`); `order-svc migrate` applies its migrations and exits, `order-svc check URL…` asks URLs (`shop_kit::server::main_of`).

use shop_kit::topology::ORDER;

/// mimalloc gives back what a password hash (19 MiB) freed; glibc's malloc kept each one.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shop_kit::server::main_of::<order_svc::store::Migrator>(&ORDER, async {
        order_svc::App::build(order_svc::Config::from_env()?).await
    })
    .await
}
