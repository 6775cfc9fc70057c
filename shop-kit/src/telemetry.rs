//! Logs and traces, set up once per process.
//!
//! Every span is an OpenTelemetry span: W3C `traceparent` headers are read on every request
//! ([`crate::server`]) and written on every call between services ([`crate::client`]), so one
//! order keeps one trace id in every service it touches. Spans leave the process only when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) names an OTLP/HTTP
//! collector; without it the ids still flow, into the headers and the logs.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// The environment variables that switch the OTLP exporter on.
const ENDPOINT_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// Keeps the trace exporter of the process; dropping it sends the spans still buffered.
#[must_use = "spans still buffered are lost unless the guard lives until the process ends"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("sending the last spans failed: {e}");
        }
    }
}

/// What is logged, and what is traced, unless `RUST_LOG` says otherwise for the logs.
const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn,poem=warn";

/// Installs the global subscriber: logs filtered by `RUST_LOG` (default `info`), as JSON lines
/// when `SHOP_LOG_FORMAT=json` and human-readable otherwise; and OpenTelemetry spans at `info`
/// (whatever `RUST_LOG` says, so quiet logs keep full traces), under the `service.name`
/// `service`. Only the first call in a process installs anything; later ones return an inert
/// guard.
pub fn init(service: &'static str) -> Telemetry {
    let logs = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let json = std::env::var("SHOP_LOG_FORMAT").is_ok_and(|v| v == "json");
    let provider = match tracer_provider(service) {
        Ok(provider) => provider,
        Err(e) => {
            eprintln!("{service}: OTLP exporter not started: {e}");
            SdkTracerProvider::builder().build()
        }
    };
    let otel = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("shop"))
        .with_threads(false)
        .with_tracked_inactivity(false)
        .with_filter(EnvFilter::new(DEFAULT_FILTER));
    let registry = tracing_subscriber::registry().with(otel);
    let installed = if json {
        registry
            .with(fmt::layer().json().with_filter(logs))
            .try_init()
    } else {
        // Colours for a terminal only: a log file or a collector gets plain text.
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
        registry
            .with(fmt::layer().with_ansi(ansi).with_filter(logs))
            .try_init()
    };
    if installed.is_err() {
        return Telemetry { provider: None };
    }
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    Telemetry {
        provider: Some(provider),
    }
}

fn tracer_provider(
    service: &'static str,
) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    let resource = Resource::builder().with_service_name(service).build();
    let builder = SdkTracerProvider::builder().with_resource(resource);
    let exporting = ENDPOINT_VARS
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|v| !v.is_empty()));
    if !exporting {
        return Ok(builder.build());
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()?;
    Ok(builder.with_batch_exporter(exporter).build())
}

/// The `traceparent` of the current span, to store with work that another task picks up later
/// (an order the recovery driver resumes, a message the outbox sends).
pub fn current_traceparent() -> Option<String> {
    let cx = tracing::Span::current().context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove("traceparent")
}

/// Makes `span` a child of the remote span a `traceparent` value names. Values that do not
/// parse are ignored: the span then starts a trace of its own.
pub fn follow(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent else {
        return;
    };
    let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let cx = TraceContextPropagator::new().extract(&carrier);
    if cx.span().span_context().is_valid() {
        let _ = span.set_parent(cx);
    }
}

/// Renames `span` once what names it is known (a server span, after routing).
pub fn rename(span: &tracing::Span, name: String) {
    span.context().span().update_name(name);
}

/// The trace id of `span` in hex, for logs.
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| sc.trace_id().to_string())
}
