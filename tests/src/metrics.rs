//! Reading the services' `/metrics` as the dashboards would.

/// The value of the series `name{labels}` in a Prometheus text exposition, where `labels` are
/// all among the series' labels; the sum over every series that matches.
pub fn value(exposition: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in exposition.lines().filter(|l| !l.starts_with('#')) {
        let (series, v) = line.rsplit_once(' ')?;
        let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
        let matches = metric == name
            && labels
                .iter()
                .all(|(k, want)| rest.contains(&format!("{k}=\"{want}\"")));
        if matches {
            *found.get_or_insert(0.0) += v.parse::<f64>().ok()?;
        }
    }
    found
}

/// The Prometheus text exposition of the service at `url`.
pub async fn scrape(url: &str) -> String {
    reqwest::get(format!("{url}/metrics"))
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("metrics text")
}
