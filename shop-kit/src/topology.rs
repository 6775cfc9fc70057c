//! The shop's topology in one table: each service's name, docs prefix, environment prefix,
//! default port, and the path prefixes its Ingress routes. The `shop` binary, the standalone
//! binaries, the test harness, the Helm chart's checks and the security suite all read it.

/// One service of the shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceInfo {
    /// Crate, binary and Deployment name, e.g. `order-svc`.
    pub name: &'static str,
    /// Short name: Swagger UI at `/<short>/docs`, spec at `/<short>/openapi.json`, SQLite file
    /// `<short>.sqlite`, PostgreSQL database `<prefix>_<short>`, peers' `SHOP_<SHORT>_URL`.
    pub short: &'static str,
    /// Prefix of its own environment variables, e.g. `ORDER_SVC` for `ORDER_SVC_PORT`.
    pub env_prefix: &'static str,
    /// The port it listens on unless configured otherwise.
    pub default_port: u16,
    /// Its public API's path prefixes (API.md), routed by its Ingress besides its docs.
    pub api_prefixes: &'static [&'static str],
    /// What it does, for its spec's description.
    pub about: &'static str,
}

impl ServiceInfo {
    /// Every path prefix its Ingress routes: the public API, Swagger UI and the spec.
    pub fn public_prefixes(&self) -> Vec<String> {
        let mut prefixes: Vec<String> = self.api_prefixes.iter().map(|p| p.to_string()).collect();
        prefixes.push(format!("/{}/docs", self.short));
        prefixes.push(format!("/{}/openapi.json", self.short));
        prefixes
    }

    /// The environment variable a peer reads this service's base URL from:
    /// `SHOP_<SHORT>_URL`.
    pub fn url_env(&self) -> String {
        format!("SHOP_{}_URL", self.short.to_ascii_uppercase())
    }

    /// Its port when the six run on consecutive ports from `base` in the order of [`SERVICES`]
    /// (the `shop` binary, the load tool); `None` past the last port.
    pub fn consecutive_port(&self, base: u16) -> Option<u16> {
        let offset = SERVICES.iter().position(|s| s == self)?;
        base.checked_add(u16::try_from(offset).ok()?)
    }

    /// Its base URL from [`Self::url_env`], or its default port on `127.0.0.1`.
    pub fn url_from_env(&self) -> String {
        crate::env::env_opt(&self.url_env())
            .unwrap_or_else(|| format!("http://127.0.0.1:{}", self.default_port))
    }
}

/// A service of the shop from its short name (`"user"`: `user-svc`, `USER_SVC`), its default
/// port, its public path prefixes and what it does.
macro_rules! service {
    ($short:literal, $env:literal, $port:literal, $prefixes:expr, $about:literal) => {
        ServiceInfo {
            name: concat!($short, "-svc"),
            short: $short,
            env_prefix: concat!($env, "_SVC"),
            default_port: $port,
            api_prefixes: $prefixes,
            about: $about,
        }
    };
}

/// user-svc: registration, login, tokens.
pub const USER: ServiceInfo = service!(
    "user",
    "USER",
    8081,
    &["/users", "/auth/"],
    "Shoppers and admins: registration, login (bearer tokens, argon2id passwords), profiles and the admin role. Log in with `POST /auth/login`, then Authorize with the `access_token`: it works for every service of the shop."
);
/// order-svc: the saga orchestrator.
pub const ORDER: ServiceInfo = service!(
    "order",
    "ORDER",
    8082,
    &["/orders", "/admin/orders", "/admin/audit"],
    "Orders and their saga: placing an order reserves funds, stock and a courier, then confirms all three, or gives everything back and cancels it. Shoppers place, read and cancel their orders; admins list every order, read its saga history and re-drive orders set aside as `needs_attention`."
);
/// payment-svc: balances and fund reservations.
pub const PAYMENT: ServiceInfo = service!(
    "payment",
    "PAYMENT",
    8083,
    &["/balance"],
    "Balances: deposits (with an `Idempotency-Key`), the balance and what is held for orders in flight, and the statement of every movement."
);
/// stock-svc: the catalogue and stock reservations.
pub const STOCK: ServiceInfo = service!(
    "stock",
    "STOCK",
    8084,
    &["/products"],
    "The catalogue: products with their price and units in stock. Anyone reads it; admins add, change and restock products."
);
/// delivery-svc: couriers and bookings.
pub const DELIVERY: ServiceInfo = service!(
    "delivery",
    "DELIVERY",
    8085,
    &["/couriers", "/deliveries"],
    "Couriers and deliveries: admins add couriers with their daily capacity; a shopper reads the delivery booked for an order."
);
/// notify-svc: messages to users.
pub const NOTIFY: ServiceInfo = service!(
    "notify",
    "NOTIFY",
    8086,
    &["/messages"],
    "Messages to users about their orders: read them page by page, or live as Server-Sent Events with `Last-Event-ID` to resume."
);

/// The six services, in the order of their default ports.
pub const SERVICES: [ServiceInfo; 6] = [USER, ORDER, PAYMENT, STOCK, DELIVERY, NOTIFY];

/// Paths no Ingress routes: service-to-service calls, health checks and metrics.
pub const NEVER_ROUTED: [&str; 3] = ["/internal/", "/health/", "/metrics"];

/// The service named `name` (`order-svc`).
pub fn service(name: &str) -> Option<&'static ServiceInfo> {
    SERVICES.iter().find(|s| s.name == name)
}

/// Whether the Ingress of the service named `service` routes `path`.
pub fn is_routed(service: &str, path: &str) -> bool {
    !NEVER_ROUTED.iter().any(|p| path.starts_with(p))
        && self::service(service).is_some_and(|s| {
            s.public_prefixes()
                .iter()
                .any(|p| path.starts_with(p.as_str()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_health_and_metrics_are_never_routed() {
        assert!(is_routed("payment-svc", "/balance/deposit"));
        assert!(is_routed("payment-svc", "/payment/docs/"));
        assert!(!is_routed("payment-svc", "/internal/reservations"));
        assert!(!is_routed("payment-svc", "/metrics"));
        assert!(!is_routed("order-svc", "/health/ready"));
        assert!(
            !is_routed("stock-svc", "/balance"),
            "another service's prefix"
        );
    }

    #[test]
    fn consecutive_ports_follow_the_default_ports() {
        for s in SERVICES {
            assert_eq!(s.consecutive_port(8081), Some(s.default_port), "{}", s.name);
        }
        assert_eq!(NOTIFY.consecutive_port(u16::MAX - 2), None);
    }

    #[test]
    fn names_ports_and_prefixes_are_unique() {
        for (i, a) in SERVICES.iter().enumerate() {
            for b in &SERVICES[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.short, b.short);
                assert_ne!(a.default_port, b.default_port);
                assert!(a.api_prefixes.iter().all(|p| !b.api_prefixes.contains(p)));
            }
        }
    }
}
