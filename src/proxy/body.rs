//! The response body the gateway sends: the upstream's stream or a page of its own, counted so
//! that the access-log line (written when the body ends) has the bytes sent.

use super::upstream::{UpstreamBody, UpstreamBodyError};
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
    type Error = UpstreamBodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, UpstreamBodyError>>> {
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
