//! The calls the shop's services make to each other (order-svc to the participants and
//! notify-svc, user-svc to payment-svc, the token checks' key fetches), counted by the services
//! themselves: `shop_http_client_attempts_total` summed over the six `/metrics`, read before and
//! after the orders phase. Every attempt counts, retries included.

use crate::Urls;

/// The attempts the six services have made so far; `None` when a `/metrics` does not answer.
pub async fn so_far(urls: &Urls) -> Option<f64> {
    let http = reqwest::Client::new();
    let mut total = 0.0;
    for base in [
        &urls.user,
        &urls.order,
        &urls.payment,
        &urls.stock,
        &urls.delivery,
        &urls.notify,
    ] {
        let text = http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        total += attempts(&text);
    }
    Some(total)
}

/// The sum of `shop_http_client_attempts_total` in one scrape.
fn attempts(text: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with("shop_http_client_attempts_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    #[test]
    fn attempts_sum_every_series_and_nothing_else() {
        let text = "# HELP shop_http_client_attempts_total Attempts.\n\
                    shop_http_client_attempts_total{peer=\"payment-svc\",outcome=\"2xx\"} 40\n\
                    shop_http_client_attempts_total{peer=\"stock-svc\",outcome=\"5xx\"} 2\n\
                    shop_http_requests_total{status=\"200\"} 99\n";
        assert_eq!(super::attempts(text), 42.0);
    }
}
