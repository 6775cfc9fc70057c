//! Runs user-svc alone, configured from the environment (`USER_SVC_*` and `SHOP_*`); `user-svc migrate` applies its migrations and exits, `user-svc check URL…` asks URLs (`shop_kit::server::main_of`).

use shop_kit::topology::USER;

/// mimalloc gives back what a password hash (19 MiB) freed; glibc's malloc kept each one.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shop_kit::server::main_of::<user_svc::store::Migrator>(&USER, async {
        user_svc::App::build(user_svc::Config::from_env()?).await
    })
    .await
}
