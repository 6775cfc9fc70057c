//! The HTTP client of the load: one connection pool, JSON in and out.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A client with a connection per concurrent request kept alive.
#[derive(Clone)]
pub struct Http(reqwest::Client);

/// An answer: status and JSON body (`Null` when there is none).
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    /// `Retry-After`, in seconds, on 429 and 503.
    pub retry_after: Option<u64>,
}

impl Http {
    pub fn new(concurrency: usize) -> anyhow::Result<Self> {
        Ok(Self(
            reqwest::Client::builder()
                .pool_max_idle_per_host(concurrency.max(8))
                .timeout(Duration::from_secs(30))
                .build()?,
        ))
    }

    /// Sends a request; a transport failure is an `Err`.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> reqwest::Result<Answer> {
        let mut req = self.0.request(method, url);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let bytes = resp.bytes().await?;
        Ok(Answer {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            retry_after,
        })
    }

    /// Sends until the shop answers something other than 429/503 (waiting as `Retry-After`
    /// says, up to 20 times), and insists on `expected`.
    pub async fn expect(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<&Value>,
        expected: StatusCode,
    ) -> anyhow::Result<Value> {
        for _ in 0..20 {
            let a = self.send(method.clone(), url, token, body).await?;
            if a.status == expected {
                return Ok(a.body);
            }
            if a.status == StatusCode::TOO_MANY_REQUESTS
                || a.status == StatusCode::SERVICE_UNAVAILABLE
            {
                tokio::time::sleep(Duration::from_secs(a.retry_after.unwrap_or(1))).await;
                continue;
            }
            anyhow::bail!(
                "{method} {url}: expected {expected}, got {}: {}",
                a.status,
                a.body
            );
        }
        anyhow::bail!("{method} {url}: the shop kept shedding load")
    }

    /// Every item of a paginated list (`?limit=100&cursor=…`).
    pub async fn all_pages(&self, url: &str, token: &str) -> anyhow::Result<Vec<Value>> {
        let sep = if url.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page_url = match &cursor {
                Some(c) => format!("{url}{sep}limit=100&cursor={c}"),
                None => format!("{url}{sep}limit=100"),
            };
            let page = self
                .expect(Method::GET, &page_url, Some(token), None, StatusCode::OK)
                .await?;
            if let Some(list) = page["items"].as_array() {
                items.extend(list.iter().cloned());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return Ok(items),
            }
        }
    }
}
