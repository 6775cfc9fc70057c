//! What each service's Ingress routes, and what it never routes. The Helm chart's Ingresses are
//! to be written from this list; the security suite checks every service's spec against it.

/// The path prefixes each service's Ingress routes: its public API (API.md) and its docs.
pub const PUBLIC_PREFIXES: [(&str, &[&str]); 6] = [
    (
        "user-svc",
        &["/users", "/auth/", "/user/docs", "/user/openapi.json"],
    ),
    (
        "order-svc",
        &[
            "/orders",
            "/admin/orders",
            "/order/docs",
            "/order/openapi.json",
        ],
    ),
    (
        "payment-svc",
        &["/balance", "/payment/docs", "/payment/openapi.json"],
    ),
    (
        "stock-svc",
        &["/products", "/stock/docs", "/stock/openapi.json"],
    ),
    (
        "delivery-svc",
        &[
            "/couriers",
            "/deliveries",
            "/delivery/docs",
            "/delivery/openapi.json",
        ],
    ),
    (
        "notify-svc",
        &["/messages", "/notify/docs", "/notify/openapi.json"],
    ),
];

/// Paths no Ingress routes: service-to-service calls, health checks and metrics.
pub const NEVER_ROUTED: [&str; 3] = ["/internal/", "/health/", "/metrics"];

/// Whether `service`'s Ingress routes `path`.
pub fn is_routed(service: &str, path: &str) -> bool {
    !NEVER_ROUTED.iter().any(|p| path.starts_with(p))
        && PUBLIC_PREFIXES
            .iter()
            .filter(|(name, _)| *name == service)
            .flat_map(|(_, prefixes)| prefixes.iter())
            .any(|p| path.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_health_and_metrics_are_never_routed() {
        assert!(is_routed("payment-svc", "/balance/deposit"));
        assert!(!is_routed("payment-svc", "/internal/reservations"));
        assert!(!is_routed("payment-svc", "/metrics"));
        assert!(!is_routed("order-svc", "/health/ready"));
        assert!(
            !is_routed("stock-svc", "/balance"),
            "another service's prefix"
        );
    }
}
