//! Counters and histograms with one shard per thread, summed when `/metrics` is scraped.
//!
//! prometheus-client's `Histogram` takes a write lock for every observation and its `Counter`
//! is one atomic: shared by all worker threads, each request made their cache lines travel
//! between cores. Here a thread writes only its own shard (its own cache line), so the
//! thread-per-core layout keeps nothing shared on the hot path.

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Threads beyond this share shards (still correct, only less spread out).
const SHARDS: usize = 8;

/// This thread's shard, handed out round-robin the first time a thread records anything.
fn shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    SHARD.with(|s| *s)
}

/// Keeps each shard on its own cache line.
#[repr(align(64))]
#[derive(Debug, Default)]
struct Line<T>(T);

#[derive(Clone, Debug, Default)]
pub struct Counter {
    shards: Arc<[Line<AtomicU64>; SHARDS]>,
}

impl Counter {
    pub fn inc(&self) {
        if let Some(line) = self.shards.get(shard()) {
            line.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn get(&self) -> u64 {
        self.shards
            .iter()
            .map(|l| l.0.load(Ordering::Relaxed))
            .sum()
    }
}

impl TypedMetric for Counter {
    const TYPE: MetricType = MetricType::Counter;
}

impl EncodeMetric for Counter {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_counter::<NoLabelSet, _, u64>(&self.get(), None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// One thread's part of a histogram: sum (f64 bits), count, and a count per bucket.
#[derive(Debug)]
struct HistogramShard {
    sum: AtomicU64,
    count: AtomicU64,
    buckets: Box<[AtomicU64]>,
}

#[derive(Clone, Debug)]
pub struct Histogram {
    bounds: Arc<[f64]>,
    shards: Arc<[Line<HistogramShard>]>,
}

impl Histogram {
    /// `bounds`: the buckets' upper bounds, ascending; `+Inf` is implied.
    pub fn new(bounds: &[f64]) -> Self {
        let shards = (0..SHARDS)
            .map(|_| {
                Line(HistogramShard {
                    sum: AtomicU64::new(0f64.to_bits()),
                    count: AtomicU64::new(0),
                    buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
                })
            })
            .collect();
        Histogram {
            bounds: bounds.into(),
            shards,
        }
    }

    pub fn observe(&self, value: f64) {
        let Some(Line(shard)) = self.shards.get(shard()) else {
            return;
        };
        // Other threads may share this shard: every update is atomic, and uncontended.
        let _ = shard
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
        shard.count.fetch_add(1, Ordering::Relaxed);
        let bucket = self.bounds.partition_point(|bound| *bound < value);
        if let Some(slot) = shard.buckets.get(bucket) {
            slot.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sum, count and the per-bucket counts (not cumulative; the last one is `+Inf`).
    fn totals(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let mut sum = 0.0;
        let mut count = 0;
        let mut buckets: Vec<(f64, u64)> = self
            .bounds
            .iter()
            .copied()
            // The encoder writes `+Inf` for `f64::MAX`.
            .chain(std::iter::once(f64::MAX))
            .map(|bound| (bound, 0))
            .collect();
        for Line(shard) in self.shards.iter() {
            sum += f64::from_bits(shard.sum.load(Ordering::Relaxed));
            count += shard.count.load(Ordering::Relaxed);
            for (total, value) in buckets.iter_mut().zip(shard.buckets.iter()) {
                total.1 += value.load(Ordering::Relaxed);
            }
        }
        (sum, count, buckets)
    }
}

impl TypedMetric for Histogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Histogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let (sum, count, buckets) = self.totals();
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::registry::Registry;

    fn rendered(registry: &Registry) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, registry).unwrap();
        out
    }

    #[test]
    fn threads_write_their_own_shards_and_a_scrape_sees_the_sum() {
        let counter = Counter::default();
        let histogram = Histogram::new(&[0.01, 0.1, 1.0]);
        let mut registry = Registry::default();
        registry.register("hits", "hits", counter.clone());
        registry.register("took", "took", histogram.clone());
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        counter.inc();
                    }
                    histogram.observe(0.005);
                    histogram.observe(0.1);
                    histogram.observe(5.0);
                });
            }
        });
        assert_eq!(counter.get(), 4000);
        let text = rendered(&registry);
        assert!(text.contains("hits_total 4000\n"), "{text}");
        assert!(text.contains("took_count 12\n"), "{text}");
        assert!(text.contains("took_sum 20.42"), "{text}");
        // Cumulative buckets; a value equal to a bound falls in that bound's bucket.
        assert!(text.contains("took_bucket{le=\"0.01\"} 4\n"), "{text}");
        assert!(text.contains("took_bucket{le=\"0.1\"} 8\n"), "{text}");
        assert!(text.contains("took_bucket{le=\"1.0\"} 8\n"), "{text}");
        assert!(text.contains("took_bucket{le=\"+Inf\"} 12\n"), "{text}");
    }
}
