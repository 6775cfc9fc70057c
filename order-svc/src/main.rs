//! Runs order-svc alone, configured from the environment.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shop_kit::telemetry::init();
    let service = order_svc::App::build(order_svc::Config::from_env()?).await?;
    tracing::info!(port = service.port(), "order-svc listening");
    service
        .run_until(shop_kit::server::shutdown_signal())
        .await?;
    Ok(())
}
