//! Prometheus metrics, served on the admin listener's `/metrics`.

use super::sharded;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `-` when the request matched no app.
    pub app: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AppLabels {
    pub app: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, sharded::Counter>,
    pub upstream_latency: Family<AppLabels, sharded::Histogram, fn() -> sharded::Histogram>,
    pub upstream_errors: Family<AppLabels, Counter>,
    pub open_connections: Gauge,
    pub tls_handshake_failures: Counter,
    pub config_reloads: Family<OutcomeLabels, Counter>,
    /// State store operations that failed, whoever asked (the stores count them; see
    /// `store::watch`).
    pub store_errors: Counter,
    /// 1 while the store takes a write at its readiness check, by store (`ephemeral`,
    /// `durable`).
    pub store_up: Family<StoreLabels, Gauge>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreLabels {
    pub store: &'static str,
    pub kind: &'static str,
}

fn latency_histogram() -> sharded::Histogram {
    // 1 ms … ~16 s: enough resolution for fast apps and for the slow admin pages of old ones.
    sharded::Histogram::new(&[
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 16.0,
    ])
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Where series of higher layers (the second factor's) are registered beside these.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    pub fn new() -> Self {
        Self::counting_store_errors(Counter::default())
    }

    /// The proxy's series, with the state stores' failures counted in `store_errors` (the
    /// counter the stores were opened with).
    pub fn counting_store_errors(store_errors: Counter) -> Self {
        let mut registry = Registry::with_prefix("mfa_gateway");
        let requests = Family::<RequestLabels, sharded::Counter>::default();
        registry.register(
            "http_requests",
            "Requests answered, by app and status",
            requests.clone(),
        );
        let upstream_latency = Family::<
            AppLabels,
            sharded::Histogram,
            fn() -> sharded::Histogram,
        >::new_with_constructor(latency_histogram);
        registry.register(
            "upstream_response_seconds",
            "Time from forwarding a request to receiving the upstream's response headers",
            upstream_latency.clone(),
        );
        let upstream_errors = Family::<AppLabels, Counter>::default();
        registry.register(
            "upstream_errors",
            "Requests that failed to reach the upstream or timed out",
            upstream_errors.clone(),
        );
        let open_connections = Gauge::default();
        registry.register(
            "open_connections",
            "Client connections currently open",
            open_connections.clone(),
        );
        let tls_handshake_failures = Counter::default();
        registry.register(
            "tls_handshake_failures",
            "TLS handshakes that failed or timed out",
            tls_handshake_failures.clone(),
        );
        let config_reloads = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "config_reloads",
            "Configuration reloads by outcome",
            config_reloads.clone(),
        );
        registry.register(
            "store_errors",
            "State store operations that failed (on any endpoint or background task; \
             readiness probes and the census for these metrics are not counted)",
            store_errors.clone(),
        );
        let store_up = Family::<StoreLabels, Gauge>::default();
        registry.register(
            "store_up",
            "Whether a state store took a write at its last readiness check (1) or not (0)",
            store_up.clone(),
        );
        Metrics {
            registry,
            store_errors,
            store_up,
            requests,
            upstream_latency,
            upstream_errors,
            open_connections,
            tls_handshake_failures,
            config_reloads,
        }
    }

    pub fn for_app(&self, name: &str) -> AppMetrics {
        let labels = AppLabels {
            app: name.to_string(),
        };
        AppMetrics {
            name: name.to_string(),
            requests: self.requests.clone(),
            by_status: (100..600).map(|_| std::sync::OnceLock::new()).collect(),
            upstream_latency: self.upstream_latency.get_or_create(&labels).clone(),
            upstream_errors: self.upstream_errors.get_or_create(&labels).clone(),
        }
    }

    pub fn count_request(&self, app: Option<&str>, status: u16) {
        self.requests
            .get_or_create(&RequestLabels {
                app: app.unwrap_or("-").to_string(),
                status,
            })
            .inc();
    }

    pub fn observe_upstream(&self, app: &str, took: Duration) {
        self.upstream_latency
            .get_or_create(&AppLabels {
                app: app.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(%error, "could not encode metrics");
        }
        out
    }
}

/// One app's series, resolved when a configuration snapshot is built so that a request costs
/// atomic increments only, not a label hash-map lookup and a label allocation.
pub struct AppMetrics {
    name: String,
    requests: Family<RequestLabels, sharded::Counter>,
    /// Status 100–599 → its counter, created on first use (no empty series are exported).
    by_status: Box<[std::sync::OnceLock<sharded::Counter>]>,
    pub upstream_latency: sharded::Histogram,
    pub upstream_errors: Counter,
}

impl AppMetrics {
    pub fn count_request(&self, status: u16) {
        let slot = usize::from(status)
            .checked_sub(100)
            .and_then(|i| self.by_status.get(i));
        match slot {
            Some(slot) => slot
                .get_or_init(|| {
                    self.requests
                        .get_or_create(&RequestLabels {
                            app: self.name.clone(),
                            status,
                        })
                        .clone()
                })
                .inc(),
            None => self
                .requests
                .get_or_create(&RequestLabels {
                    app: self.name.clone(),
                    status,
                })
                .inc(),
        };
    }
}

/// Counts a connection as open for as long as it lives.
pub struct OpenConnection(Gauge);

impl OpenConnection {
    pub fn new(gauge: &Gauge) -> Self {
        gauge.inc();
        OpenConnection(gauge.clone())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_text_has_requests_by_app_and_status() {
        let m = Metrics::new();
        m.count_request(Some("django"), 200);
        m.count_request(Some("django"), 200);
        m.count_request(None, 404);
        m.observe_upstream("django", Duration::from_millis(3));
        let text = m.render();
        assert!(
            text.contains("mfa_gateway_http_requests_total{app=\"django\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("mfa_gateway_http_requests_total{app=\"-\",status=\"404\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "mfa_gateway_upstream_response_seconds_bucket{le=\"0.005\",app=\"django\"} 1"
            ),
            "{text}"
        );
    }
}
