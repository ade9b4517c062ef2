//! The Redis Stream sink: records go through a bounded queue to one task that adds them in order
//! (`XADD key MAXLEN ~ N * record <line>`), retrying while Redis is away. The queue absorbs an
//! outage of a few minutes at sign-in rates; when it is full a record is lost — counted and
//! logged, and with `on_failure: refuse` sign-ins stop before that happens (the sink reports
//! itself failing from the first failed write).

use crate::config::AuditStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

const QUEUE: usize = 100_000;

pub struct StreamSink {
    queue: mpsc::Sender<String>,
    healthy: Arc<AtomicBool>,
    /// Records still queued or being sent.
    in_flight: Arc<tokio::sync::Semaphore>,
}

impl StreamSink {
    /// Starts the writer task (needs a Tokio runtime).
    pub fn start(
        config: &AuditStream,
        errors: prometheus_client::metrics::counter::Counter,
    ) -> Result<StreamSink, redis::RedisError> {
        let client = redis::Client::open(config.url.0.as_str())?;
        let (queue, mut lines) = mpsc::channel::<String>(QUEUE);
        let healthy = Arc::new(AtomicBool::new(true));
        let in_flight = Arc::new(tokio::sync::Semaphore::new(0));
        let (key, max_len) = (config.key.clone(), config.max_len);
        let (task_healthy, task_in_flight) = (healthy.clone(), in_flight.clone());
        tokio::spawn(async move {
            let mut connection: Option<redis::aio::MultiplexedConnection> = None;
            while let Some(line) = lines.recv().await {
                loop {
                    if connection.is_none() {
                        connection = client.get_multiplexed_async_connection().await.ok();
                    }
                    let added = match connection.as_mut() {
                        Some(conn) => redis::cmd("XADD")
                            .arg(&key)
                            .arg("MAXLEN")
                            .arg("~")
                            .arg(max_len)
                            .arg("*")
                            .arg("record")
                            .arg(&line)
                            .query_async::<String>(conn)
                            .await
                            .map(|_| ()),
                        None => Err(redis::RedisError::from((
                            redis::ErrorKind::Io,
                            "not connected",
                        ))),
                    };
                    match added {
                        Ok(()) => {
                            task_healthy.store(true, Ordering::Release);
                            break;
                        }
                        Err(error) => {
                            if task_healthy.swap(false, Ordering::AcqRel) {
                                tracing::error!(error = %crate::ops::error_chain(&error), "audit stream: cannot add records; retrying");
                            }
                            errors.inc();
                            connection = None;
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                    }
                }
                task_in_flight.forget_permits(1);
            }
        });
        Ok(StreamSink {
            queue,
            healthy,
            in_flight,
        })
    }

    /// Queues a sealed line; false when the queue is full or the task is gone (the record is
    /// lost for this sink).
    pub fn send(&self, line: String) -> bool {
        let queued = self.queue.try_send(line).is_ok();
        if queued {
            self.in_flight.add_permits(1);
        }
        queued
    }

    /// False from a failed write until the next one succeeds.
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// Waits (up to `limit`) until every queued record was added; true when none is left.
    pub async fn drain(&self, limit: Duration) -> bool {
        let deadline = crate::ops::clock::tokio_instant() + limit;
        while self.in_flight.available_permits() > 0 {
            if crate::ops::clock::tokio_instant() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }
}
