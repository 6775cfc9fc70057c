//! Runs delivery-svc alone, configured from the environment.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shop_kit::telemetry::init();
    let service = delivery_svc::App::build(delivery_svc::Config::from_env()?).await?;
    tracing::info!(port = service.port(), "delivery-svc listening");
    service
        .run_until(shop_kit::server::shutdown_signal())
        .await?;
    Ok(())
}
