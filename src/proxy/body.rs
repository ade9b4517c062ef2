//! The response body the gateway sends: the upstream's stream or a page of its own, counted so
//! that the access-log line (written when the body ends) has the bytes sent.

use super::upstream::UpstreamBody;
use crate::ops::access_log;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use pin_project_lite::pin_project;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// What answers a request: the upstream's streamed body, or one the gateway holds whole (its
/// own pages, a login answer it read).
pub enum Reply {
    Upstream(UpstreamBody),
    Page(Bytes),
}

pin_project! {
    #[project = SourceProjection]
    pub enum Source {
        Upstream { #[pin] body: UpstreamBody },
        Page { #[pin] body: Full<Bytes> },
    }
}

pin_project! {
    pub struct ResponseBody {
        #[pin]
        source: Source,
        record: Option<Box<AccessRecord>>,
    }
}

impl ResponseBody {
    pub fn upstream(body: UpstreamBody, record: Option<Box<AccessRecord>>) -> Self {
        ResponseBody {
            source: Source::Upstream { body },
            record,
        }
    }

    pub fn page(body: Bytes, record: Option<Box<AccessRecord>>) -> Self {
        ResponseBody {
            source: Source::Page {
                body: Full::new(body),
            },
            record,
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.project();
        let polled = match this.source.project() {
            SourceProjection::Upstream { body } => body.poll_frame(cx),
            SourceProjection::Page { body } => body.poll_frame(cx).map_err(|never| match never {}),
        };
        if let (Poll::Ready(Some(Ok(frame))), Some(record)) = (&polled, this.record.as_mut()) {
            if let Some(data) = frame.data_ref() {
                record.bytes += data.len() as u64;
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.source {
            Source::Upstream { body } => body.is_end_stream(),
            Source::Page { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.source {
            Source::Upstream { body } => body.size_hint(),
            Source::Page { body } => body.size_hint(),
        }
    }
}

/// One access-log line, written when the response body is finished or dropped (so a client that
/// disconnects mid-download is logged with the bytes it got). Holds no header values: cookies and
/// `Authorization` can never reach the log, and the query string is left out as it may carry
/// tokens.
pub struct AccessRecord {
    pub started: Instant,
    pub method: http::Method,
    pub host: String,
    pub path: String,
    pub status: u16,
    pub bytes: u64,
    pub upstream_time: Option<Duration>,
    pub request_id: String,
    /// `None` when no app was routed (unknown host, refused path).
    pub app: Option<String>,
    pub client: IpAddr,
}

impl Drop for AccessRecord {
    fn drop(&mut self) {
        let method = self.method.as_str();
        access_log::write(&access_log::Entry {
            method,
            host: &self.host,
            path: &self.path,
            status: self.status,
            bytes: self.bytes,
            duration: self.started.elapsed(),
            upstream: self.upstream_time,
            request_id: &self.request_id,
            app: self.app.as_deref().unwrap_or("-"),
            client: self.client,
        });
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("the body is larger than the limit")]
    TooLarge,
    #[error("the body could not be read")]
    Read(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Reads a whole body into memory, refusing it as soon as it passes `limit` bytes (before
/// reading anything when its declared length is already too large).
pub async fn collect_limited<B>(body: B, limit: u64) -> Result<Bytes, CollectError>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use http_body_util::BodyExt;
    if body.size_hint().lower() > limit {
        return Err(CollectError::TooLarge);
    }
    let limited = http_body_util::Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX));
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(CollectError::TooLarge),
        Err(error) => Err(CollectError::Read(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused() {
        let ok = collect_limited(Full::new(Bytes::from_static(b"12345")), 5).await;
        assert_eq!(ok.unwrap(), Bytes::from_static(b"12345"));
        let big = collect_limited(Full::new(Bytes::from_static(b"123456")), 5).await;
        assert!(matches!(big, Err(CollectError::TooLarge)));
    }
}
