//! The shop's front door: one port that sends each request, by its path prefix, to the service
//! the chart's Ingress sends it to (`shop_kit::topology`), so that the local shop has one base
//! URL and one docs page for all six services, as a cluster behind its Ingress has. Paths no
//! Ingress routes (`/internal/`, health, metrics) are 404 here too; `/` leads to the docs page.

use futures_util::TryStreamExt;
use std::net::IpAddr;

use poem::http::{HeaderName, HeaderValue, StatusCode, header};
use poem::{Body, Endpoint, IntoResponse, Request, Response};
use shop_kit::ApiError;
use shop_kit::proxies::TrustedProxies;
use shop_kit::topology::{NEVER_ROUTED, SERVICES};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Where `/` leads: the docs page of all six services, on user-svc's spec (where a visit begins,
/// with a login).
pub const DOCS_PAGE: &str = "/user/docs";

/// Headers that belong to one hop, never forwarded.
const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::HOST,
];

/// Routes by path prefix to the services' base URLs.
pub struct FrontDoor {
    http: reqwest::Client,
    /// The proxies in front of it, whose `X-Forwarded-For` it passes on; from anyone else it
    /// drops the header and names the peer it saw.
    proxies: TrustedProxies,
    /// Each routed prefix with the base URL of its service, longest prefix first.
    routes: Vec<(String, String)>,
}

impl FrontDoor {
    /// The front door of the services whose base URLs `base_of` gives, in the order of
    /// `SERVICES`, behind `proxies`.
    pub fn new(
        base_of: impl Fn(&shop_kit::topology::ServiceInfo) -> String,
        proxies: TrustedProxies,
    ) -> anyhow::Result<Self> {
        let mut routes: Vec<(String, String)> = SERVICES
            .iter()
            .flat_map(|s| {
                let base = base_of(s);
                s.public_prefixes()
                    .into_iter()
                    .map(move |p| (p, base.clone()))
            })
            .collect();
        routes.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            http,
            proxies,
            routes,
        })
    }

    /// The base URL a path goes to; `None`: no Ingress routes it.
    fn route(&self, path: &str) -> Option<&str> {
        if NEVER_ROUTED.iter().any(|p| path.starts_with(p)) {
            return None;
        }
        self.routes
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix.as_str()))
            .map(|(_, base)| base.as_str())
    }
}

impl Endpoint for FrontDoor {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let path = req.uri().path();
        if path == "/" {
            // The shop's first page: the docs of all six services.
            return Ok(Response::builder()
                .status(StatusCode::SEE_OTHER)
                .header(header::LOCATION, DOCS_PAGE)
                .finish());
        }
        let Some(base) = self.route(path) else {
            return Ok(ApiError::not_found(format!("no service answers {path}")).into_response());
        };
        let target = match req.uri().path_and_query() {
            Some(pq) => format!("{base}{pq}"),
            None => format!("{base}{path}"),
        };
        let method = req.method().clone();
        let mut headers = req.headers().clone();
        for h in &HOP_BY_HOP {
            headers.remove(h);
        }
        // The services trust this door's word on the client: the peer it saw, after the chain
        // of the proxies it trusts itself.
        let peer = req
            .remote_addr()
            .as_socket_addr()
            .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
        let chain = self.proxies.forward(peer, req.headers());
        headers.remove(header::FORWARDED);
        match HeaderValue::from_str(&chain) {
            Ok(chain) => headers.insert(X_FORWARDED_FOR, chain),
            Err(_) => headers.remove(X_FORWARDED_FOR),
        };
        let body = reqwest::Body::wrap_stream(req.into_body().into_bytes_stream());
        let sent = self
            .http
            .request(method, target)
            .headers(headers)
            .body(body)
            .send()
            .await;
        let answer = match sent {
            Ok(answer) => answer,
            Err(e) => {
                tracing::warn!(error = %e, "front door: the service did not answer");
                return Ok(ApiError::busy("the service did not answer", 1).into_response());
            }
        };
        let mut response = Response::builder().status(
            StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY),
        );
        for (name, value) in answer.headers() {
            if !HOP_BY_HOP.contains(name) {
                response = response.header(name, value);
            }
        }
        // Streamed as it comes: Server-Sent Events go through as they are sent.
        let stream = answer.bytes_stream().map_err(std::io::Error::other);
        Ok(response.body(Body::from_bytes_stream(stream)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_routes_as_the_ingress_does() {
        let Ok(front) =
            FrontDoor::new(|s| format!("http://{}", s.short), TrustedProxies::default())
        else {
            panic!("a front door")
        };
        assert_eq!(front.route("/orders/1"), Some("http://order"));
        assert_eq!(front.route("/admin/orders"), Some("http://order"));
        assert_eq!(front.route("/admin/audit/repair"), Some("http://order"));
        assert_eq!(front.route("/auth/login"), Some("http://user"));
        assert_eq!(front.route("/payment/docs/"), Some("http://payment"));
        assert_eq!(front.route("/balance/deposit"), Some("http://payment"));
        assert_eq!(front.route("/internal/reservations"), None);
        assert_eq!(front.route("/payment/internal/docs"), None);
        assert_eq!(front.route("/metrics"), None);
        assert_eq!(front.route("/nowhere"), None);
    }
}
