//! One request through the gateway, read top to bottom as its phases (see [`forward`]):
//! limits → host and path → route → (MFA app: gateway page? session check, `admit`) → headers
//! for the app → (login: read its body) → forward → the app's answer decides (`answer`).

use super::admit::{admit, Admission, RequestKind};
use super::answer;
use super::basic;
use super::body::{AccessRecord, Reply, ResponseBody};
use super::error::ProxyError;
use super::fields;
use super::headers::{self, Peer};
use super::login;
use super::shutdown::Shutdown;
use super::state::{Shared, Snapshot, UpstreamTarget};
use super::tunnel::{self, Switched};
use super::upstream::{ForwardBody, UpstreamBody};
use crate::config::{App, HostHeader};
use crate::mfa::endpoints::{self, GatewayRequest};
use crate::mfa::flow::Context;
use crate::mfa::{unix_now, Mfa, MfaError};
use crate::ops::metrics::OpenConnection;
use crate::ui::error_page;
use crate::wire::path::{check_path, origin_form};
use crate::wire::spelling::canonical_path;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode, Version};
use http_body_util::Either;
use hyper::body::Incoming;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// What the gateway knows about the connection a request arrived on.
pub struct Connection {
    pub peer: SocketAddr,
    /// The peer address as an `X-Forwarded-For` value, made once per connection.
    pub peer_value: HeaderValue,
    pub tls: bool,
    pub worker: usize,
    pub shared: Arc<Shared>,
    pub shutdown: Arc<Shutdown>,
    /// Given back when the last holder of the connection lets go: its task, or the tunnel of
    /// a protocol switch it handed its bytes to.
    pub slot: Slot,
}

/// A connection's place under `max_connections` and its count in the open-connections gauge.
pub struct Slot {
    pub permit: tokio::sync::OwnedSemaphorePermit,
    pub counted: OpenConnection,
}

/// Filled in as the request moves through its phases; used for the answer, logs and metrics.
struct Progress {
    app: Option<usize>,
    upstream_time: Option<Duration>,
    /// A protocol switch the app accepted, to relay once its 101 is on its way.
    switched: Option<Switched>,
}

pub async fn handle(
    conn: Arc<Connection>,
    req: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let started = crate::ops::clock::instant();
    let Some(snapshot) = conn.shared.snapshot(conn.worker) else {
        // Workers are created from the same count as snapshots; nothing to serve without one.
        let mut response = Response::new(ResponseBody::page(bytes::Bytes::new(), None));
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        return Ok(response);
    };
    let config = &snapshot.config;
    let peer = Peer {
        ip: conn.peer.ip(),
        ip_value: &conn.peer_value,
        tls: conn.tls,
        trusted_proxies: &config.trusted_proxies,
    };
    let request_id = headers::request_id(req.headers(), peer.is_trusted());
    let json = error_page::wants_json(req.headers());
    // For an error page in the reader's language (a reference-counted copy of the header).
    let accept_language = req.headers().get(header::ACCEPT_LANGUAGE).cloned();
    let mut record = access_record(&req, started, &request_id, conn.peer.ip());
    let mut progress = Progress {
        app: None,
        upstream_time: None,
        switched: None,
    };

    let result = forward(
        &snapshot,
        &peer,
        conn.shared.mfa.as_deref(),
        req,
        &request_id,
        json,
        &mut progress,
    )
    .await;
    if let Some(switched) = progress.switched.take() {
        tokio::spawn(tunnel::relay(
            switched,
            conn.peer,
            conn.clone(),
            config.limits.tunnel_idle_timeout,
            conn.shutdown.clone(),
        ));
    }
    let app = progress.app.and_then(|i| config.apps.get(i));
    let app_name = app.map(|a| a.name.as_str());
    let app_metrics = progress.app.and_then(|i| snapshot.app_metrics.get(i));
    let mut response = match result {
        Ok(response) => response.map(|reply| match reply {
            Reply::Upstream(body) => (Some(body), None),
            Reply::Page(page) => (None, Some(page)),
        }),
        Err(error) => {
            // A store failure behind a StateUnavailable was counted by the store itself
            // (`store_errors_total`), like those of every other endpoint.
            log_error(&error, app_name, &request_id);
            if let (Some(name), true) = (app_name, error.is_upstream_failure()) {
                conn.shared
                    .metrics
                    .upstream_errors
                    .get_or_create(&crate::ops::metrics::AppLabels {
                        app: name.to_string(),
                    })
                    .inc();
            }
            let way = error_way(app, accept_language.as_ref());
            error_response(&error, &request_id, json, way).map(|page| (None, Some(page)))
        }
    };
    response
        .headers_mut()
        .insert(&headers::X_REQUEST_ID, request_id);
    let status = response.status().as_u16();
    match app_metrics {
        Some(m) => {
            m.count_request(status);
            if let Some(took) = progress.upstream_time {
                m.upstream_latency.observe(took.as_secs_f64());
            }
        }
        None => conn.shared.metrics.count_request(None, status),
    }
    if let Some(record) = record.as_mut() {
        record.status = status;
        record.upstream_time = progress.upstream_time;
        record.app = app_name.map(str::to_string);
    }
    Ok(response.map(|(upstream, page)| match (upstream, page) {
        (Some(body), _) => ResponseBody::upstream(body, record),
        (None, page) => ResponseBody::page(page.unwrap_or_default(), record),
    }))
}

/// The walk: limits → host and path → route → (MFA app: gateway page? session check) →
/// headers for the app → (Basic sign-in | login: read its body) → forward → the app's answer
/// decides (withhold, gate or pass).
async fn forward(
    snapshot: &Snapshot,
    peer: &Peer<'_>,
    mfa: Option<&Mfa>,
    mut req: Request<Incoming>,
    request_id: &HeaderValue,
    json: bool,
    progress: &mut Progress,
) -> Result<Response<Reply>, ProxyError> {
    let config = &snapshot.config;
    within_limits(config, &req)?;
    let routed = route(snapshot, &req)?;
    progress.app = Some(routed.app_index);
    let app = routed.app;
    let ctx = mfa_context(app, mfa, peer, &req, request_id)?;
    let prefix = config.reserved_prefix.as_str();
    if is_reserved(req.uri().path(), prefix) {
        let ctx = ctx.as_ref().ok_or(ProxyError::NoGatewayPage)?;
        return Ok(portal(ctx, req, prefix).await.map(Reply::Page));
    }
    // NTLM/Negotiate sign in the upstream connection, and upstream connections are pooled
    // across clients (SECURITY-TESTS 36): refused for every app.
    if crate::session::credentials::connection_authentication(req.headers()) {
        return Err(ProxyError::ConnectionAuthentication);
    }
    let admission = Box::pin(admit(ctx.as_ref(), &mut req, &routed.route)).await?;
    let writes = !matches!(
        *req.method(),
        http::Method::GET | http::Method::HEAD | http::Method::OPTIONS
    );

    let client_upgrade = req
        .headers()
        .contains_key(header::UPGRADE)
        .then(|| hyper::upgrade::on(&mut req));
    let (mut parts, body) = req.into_parts();
    let upgrade = for_the_app(
        &mut parts,
        snapshot,
        peer,
        app,
        routed.host_value,
        request_id,
    )?;
    let upstream = snapshot
        .upstream(routed.app_index)
        .ok_or(ProxyError::UnknownHost)?;
    let Some(ctx) = &ctx else {
        let outbound = Request::from_parts(parts, Either::Left(body));
        let response = send(upstream, app, outbound, progress).await?;
        return switched(snapshot, response, client_upgrade, upgrade, progress)
            .map(|r| r.map(Reply::Upstream));
    };
    if let Admission::Checked {
        kind: RequestKind::Basic(credential),
        ..
    } = admission
    {
        // Nothing of the request reaches the app: the gateway checks the password itself.
        let rule = ctx
            .settings
            .basic_auth
            .as_ref()
            .ok_or(ProxyError::Unauthorized)?;
        let uri = parts.uri.clone();
        let headers = parts.headers;
        let sign_in = basic::sign_in(ctx, rule, credential, headers, &uri, upstream, json, prefix);
        return Box::pin(sign_in).await;
    }
    // A token app's answers must be readable for a token: not compressed.
    if ctx.settings.token.is_some() {
        parts.headers.remove(header::ACCEPT_ENCODING);
    }
    let _turn = take_turn(ctx, &admission).await?;
    let (body, login) = match &admission {
        Admission::Checked {
            checked,
            kind: RequestKind::Login { rule, .. },
        } => {
            let limit = config.limits.max_body_bytes;
            Box::pin(read_login(ctx, rule, checked, &mut parts, body, limit)).await?
        }
        _ => (Either::Left(body), None),
    };
    // The release gate may have to ask the app who a session it handed out belongs to, the way
    // this request reached it.
    let whoami_base = admission
        .gated()
        .then(|| super::whoami::Base::of(ctx.settings, &parts.headers, parts.uri.path()))
        .flatten();
    let response = send(upstream, app, Request::from_parts(parts, body), progress).await?;
    let response = switched(snapshot, response, client_upgrade, upgrade, progress)?;
    let exchange = answer::Exchange {
        ctx,
        admission: &admission,
        login,
        writes,
        upstream,
        whoami_base,
        json,
        prefix,
    };
    Box::pin(answer::decide(exchange, response)).await
}

/// The access log's record of a request, when the access log is on.
fn access_record<B>(
    req: &Request<B>,
    started: std::time::Instant,
    request_id: &HeaderValue,
    client: std::net::IpAddr,
) -> Option<Box<AccessRecord>> {
    crate::ops::access_log::enabled().then(|| {
        Box::new(AccessRecord {
            started,
            method: req.method().clone(),
            // Never a password from `user:password@host` in an absolute-form target.
            host: request_host(req)
                .map_or("-", |h| h.rsplit_once('@').map_or(h, |(_, host)| host))
                .to_string(),
            path: req.uri().path().to_string(),
            status: 0,
            bytes: 0,
            upstream_time: None,
            request_id: request_id.to_str().unwrap_or("-").to_string(),
            app: None,
            client,
        })
    })
}

/// Where the app is asked after every answer, a session's requests take turns, so no request
/// of it reaches the app between another one's answer and its check.
async fn take_turn(
    ctx: &Context<'_>,
    admission: &Admission<'_>,
) -> Result<Option<tokio::sync::OwnedMutexGuard<()>>, ProxyError> {
    let Some(session) = admission.session() else {
        return Ok(None);
    };
    if !ctx.settings.asks_after_each_answer() {
        return Ok(None);
    }
    let wait = ctx.app.upstream.response_header_timeout;
    let turn = ctx.mfa.turns.take(session.id_hash, wait).await;
    turn.map(Some).ok_or(ProxyError::UpstreamTimeout)
}

/// Our own check gives a readable 431 page; hyper's larger hard limit stays behind it. And
/// before anything reads a field that is one value (routing reads Host, the session check
/// Authorization, a login its Content-Type), a field sent twice is refused: the app might read
/// the other line.
fn within_limits<B>(config: &crate::config::Config, req: &Request<B>) -> Result<(), ProxyError> {
    if req.headers().len() > config.limits.max_headers
        || headers::header_bytes(req.uri(), req.headers()) > config.limits.max_header_bytes
        || crate::session::credentials::too_many_cookies(req.headers())
    {
        return Err(ProxyError::HeadersTooLarge);
    }
    if let Some(field) = fields::repeated(req.version(), req.uri(), req.headers()) {
        return Err(ProxyError::RepeatedField(field.shown));
    }
    Ok(())
}

/// Where a request goes: the app its host and path name.
struct Routed<'s> {
    app_index: usize,
    app: &'s App,
    /// The host as the client sent it, for the app's `Host` and the forwarding headers.
    host_value: HeaderValue,
    /// The path in the spelling the app may read it in: routes, login and logout rules are
    /// compared in it.
    route: String,
}

fn route<'s, B>(snapshot: &'s Snapshot, req: &Request<B>) -> Result<Routed<'s>, ProxyError> {
    let host_value = original_host(req).ok_or(ProxyError::BadHost)?;
    let host = host_value
        .to_str()
        .ok()
        .and_then(super::routes::normalise_host)
        .ok_or(ProxyError::BadHost)?;
    let path = req.uri().path();
    check_path(path).map_err(ProxyError::AmbiguousPath)?;
    let route = canonical_path(path).into_owned();
    let app_index = snapshot
        .routes
        .find(&host, &route)
        .ok_or(ProxyError::UnknownHost)?;
    let app = snapshot
        .config
        .apps
        .get(app_index)
        .ok_or(ProxyError::UnknownHost)?;
    Ok(Routed {
        app_index,
        app,
        host_value,
        route,
    })
}

/// The second factor's view of the request, for an app with MFA. Such an app needs the stores;
/// if they are missing (MFA switched on by a reload), no request to it passes unchecked.
fn mfa_context<'a>(
    app: &'a App,
    mfa: Option<&'a Mfa>,
    peer: &Peer<'_>,
    req: &Request<Incoming>,
    request_id: &HeaderValue,
) -> Result<Option<Context<'a>>, ProxyError> {
    let Some(settings) = &app.mfa else {
        return Ok(None);
    };
    let Some(mfa) = mfa else {
        return Err(ProxyError::StateUnavailable(MfaError::NotReady));
    };
    if !mfa.keys_checked() {
        return Err(ProxyError::StateUnavailable(MfaError::KeysUnchecked));
    }
    let tls = login::client_used_tls(peer, req.headers());
    Ok(Some(Context {
        mfa,
        keys: mfa.keys(),
        app,
        settings,
        tls,
        now: unix_now(),
        client: peer.client_ip(req.headers()),
        user_agent: user_agent(req.headers()),
        accept_language: req.headers().get(header::ACCEPT_LANGUAGE).cloned(),
        request_id: request_id.to_str().unwrap_or("-").to_string(),
        request_uri: req.uri().clone(),
        device_tokens: crate::session::device::presented(req.headers(), tls),
        familiar: std::sync::Mutex::new(None),
    }))
}

/// A gateway page or API call (under the reserved prefix).
async fn portal(ctx: &Context<'_>, req: Request<Incoming>, prefix: &str) -> Response<bytes::Bytes> {
    let rest = req
        .uri()
        .path()
        .get(prefix.len()..)
        .unwrap_or("")
        .to_string();
    let (parts, body) = req.into_parts();
    let request = GatewayRequest {
        method: parts.method,
        rest: &rest,
        query: parts.uri.query(),
        headers: parts.headers,
        body,
        prefix,
    };
    Box::pin(endpoints::handle(ctx, request)).await
}

/// The request's headers as the app gets them: hop-by-hop fields out, forwarding fields and
/// the app's `Host` and extra headers in, origin-form target over HTTP/1.1. Returns the
/// protocol to switch to, if the client asked for WebSocket.
fn for_the_app(
    parts: &mut http::request::Parts,
    snapshot: &Snapshot,
    peer: &Peer<'_>,
    app: &App,
    host_value: HeaderValue,
    request_id: &HeaderValue,
) -> Result<Option<HeaderValue>, ProxyError> {
    let inbound_version = parts.version;
    // Only WebSocket is relayed: after a switch to h2c (or any other protocol) the client
    // would send requests straight to the app, past every check here.
    let upgrade = headers::remove_hop_by_hop(&mut parts.headers).filter(headers::is_websocket);
    // Trailers are headers after the body that no check reads (a cookie, an identity header):
    // the upstream connection sends only those the request declares in `Trailer`, so none.
    parts.headers.remove(header::TRAILER);
    headers::set_forwarded(
        &mut parts.headers,
        peer,
        Some(&host_value),
        &["x-request-id"],
    );
    headers::append_via(&mut parts.headers, inbound_version, &snapshot.via);
    parts
        .headers
        .insert(&headers::X_REQUEST_ID, request_id.clone());
    set_host(&mut parts.headers, app, host_value);
    for (name, value) in &app.upstream.add_headers {
        parts.headers.insert(name.clone(), value.0.clone());
    }
    if let Some(protocol) = &upgrade {
        headers::set_upgrade(&mut parts.headers, protocol.clone());
    }
    let uri = std::mem::take(&mut parts.uri);
    parts.uri = origin_form(uri).map_err(|e| ProxyError::BadUpstreamRequest(e.into()))?;
    parts.version = Version::HTTP_11;
    Ok(upgrade)
}

/// Phase: a login's body is read (bounded) for its user name, then sent on as read.
async fn read_login<'a>(
    ctx: &Context<'_>,
    rule: &'a crate::config::LoginRule,
    checked: &crate::mfa::guard::Checked,
    parts: &mut http::request::Parts,
    body: Incoming,
    limit: u64,
) -> Result<(ForwardBody, Option<login::PendingLogin<'a>>), ProxyError> {
    let session = checked.session.as_ref();
    let (path, query) = (parts.uri.path(), parts.uri.query());
    let read = login::read_request(ctx, rule, &parts.headers, path, query, body, limit, session);
    let (body, mut pending) = Box::pin(read).await?;
    match &mut pending {
        // Not a login after all (no user name where the rule needs one): the pre-login
        // session goes no further than on any other route.
        None if !checked.before_login.is_empty() => {
            let names = &checked.before_login;
            crate::session::credentials::strip_cookies(&mut parts.headers, |n| {
                names.iter().any(|b| b == n)
            });
        }
        // The pre-login session the app signs in may not be renewed by its answer (only a
        // login cookie beside it is new): released, it is the user's too.
        Some(pending) => pending.keep_pre_login(ctx, &checked.before_login, &parts.headers)?,
        None => {}
    }
    Ok((body, pending))
}

/// Phase: forward. The same limit holds for the answer's head and for every pause in its body
/// (nginx's proxy_read_timeout): a stalled app does not hold the client's connection for ever.
async fn send(
    upstream: &UpstreamTarget,
    app: &App,
    outbound: Request<ForwardBody>,
    progress: &mut Progress,
) -> Result<Response<UpstreamBody>, ProxyError> {
    let limit = app.upstream.response_header_timeout;
    let sent = crate::ops::clock::instant();
    let answered = tokio::time::timeout(limit, upstream.pool.send(outbound)).await;
    match answered {
        Ok(Ok(response)) => {
            progress.upstream_time = Some(sent.elapsed());
            Ok(response.map(|body| body.with_idle_limit(limit)))
        }
        Ok(Err(error)) => {
            progress.upstream_time = Some(sent.elapsed());
            Err(if error.is_timeout() {
                ProxyError::UpstreamTimeout
            } else {
                ProxyError::UpstreamUnreachable(error)
            })
        }
        Err(_elapsed) => Err(ProxyError::UpstreamTimeout),
    }
}

/// The answer's hop-by-hop fields out and `Via` in; a WebSocket switch the client asked for and
/// the app accepted is taken up (relayed once the 101 is on its way).
fn switched(
    snapshot: &Snapshot,
    mut response: Response<UpstreamBody>,
    client_upgrade: Option<hyper::upgrade::OnUpgrade>,
    upgrade: Option<HeaderValue>,
    progress: &mut Progress,
) -> Result<Response<UpstreamBody>, ProxyError> {
    let switching = response.status() == StatusCode::SWITCHING_PROTOCOLS;
    let accepted_protocol = headers::remove_hop_by_hop(response.headers_mut());
    match (
        switching,
        client_upgrade,
        upgrade.is_some(),
        accepted_protocol,
    ) {
        (true, Some(client_side), true, Some(protocol)) if headers::is_websocket(&protocol) => {
            headers::set_upgrade(response.headers_mut(), protocol);
            progress.switched = Some(Switched {
                client: client_side,
                upstream: hyper::upgrade::on(&mut response),
            });
        }
        // A switch nobody asked for (or without a protocol) cannot be relayed.
        (true, ..) => return Err(ProxyError::UnexpectedSwitch),
        _ => {}
    }
    let version = response.version();
    headers::append_via(response.headers_mut(), version, &snapshot.via);
    Ok(response)
}

/// The host the client asked for: the request target's authority (HTTP/2, absolute-form) or
/// else the `Host` header.
/// The client's `User-Agent` for the audit trail: printable ASCII only, at most 200 characters
/// (it is the client's own text, so it is bounded and never trusted).
fn user_agent(headers: &http::HeaderMap) -> String {
    headers
        .get(header::USER_AGENT)
        .map(|v| {
            v.as_bytes()
                .iter()
                .filter(|b| (0x20..0x7f).contains(*b))
                .take(200)
                .map(|b| char::from(*b))
                .collect()
        })
        .unwrap_or_default()
}

fn original_host<B>(req: &Request<B>) -> Option<HeaderValue> {
    match req.uri().authority() {
        Some(authority) => HeaderValue::from_str(authority.as_str()).ok(),
        None => req.headers().get(header::HOST).cloned(),
    }
}

fn request_host<B>(req: &Request<B>) -> Option<&str> {
    req.uri().authority().map(|a| a.as_str()).or_else(|| {
        req.headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
    })
}

fn set_host(headers: &mut http::HeaderMap, app: &App, client_host: HeaderValue) {
    let value = match &app.upstream.host_header {
        HostHeader::Pass => client_host,
        HostHeader::Upstream => match HeaderValue::from_str(app.upstream.authority.as_str()) {
            Ok(v) => v,
            Err(_) => client_host,
        },
        HostHeader::Fixed(v) => v.clone(),
    };
    headers.insert(header::HOST, value);
}

/// `/.mfa/…` and `/.mfa` (in any letter case, so `/.MFA/` cannot slip past) belong to the gateway.
fn is_reserved(path: &str, prefix: &str) -> bool {
    let bare = prefix.trim_end_matches('/');
    let head = path.get(..prefix.len()).unwrap_or(path);
    head.eq_ignore_ascii_case(prefix) || path.eq_ignore_ascii_case(bare)
}

/// The frame of an error page: the app's name and the way back to it, in the app's language
/// or else the reader's.
fn error_way<'a>(
    app: Option<&'a App>,
    accept_language: Option<&HeaderValue>,
) -> error_page::Way<'a> {
    let asked = crate::i18n::negotiate(accept_language.and_then(|v| v.to_str().ok()));
    let t = crate::i18n::Tr::new(app.and_then(|a| a.mfa.as_ref()?.language).unwrap_or(asked));
    match app {
        None => error_page::Way {
            t,
            ..Default::default()
        },
        Some(a) => error_page::Way {
            app_name: Some(&a.display_name),
            home: a
                .mfa
                .as_ref()
                .map_or(a.path_prefix.as_str(), |m| &m.home_page),
            t,
        },
    }
}

fn error_response(
    error: &ProxyError,
    request_id: &HeaderValue,
    json: bool,
    way: error_page::Way<'_>,
) -> Response<bytes::Bytes> {
    let status = error.status();
    let message = match error {
        ProxyError::LoginThrottled(throttle) if !json => crate::mfa::respond::throttle_text(
            way.t,
            throttle.lock,
            throttle.user.as_deref(),
            throttle.client,
            throttle.now,
        ),
        _ if json => error.message().into_owned(),
        _ => error.page_message(way.t),
    };
    let (mut body, content_type) = error_page::render(
        status,
        error.code(),
        &message,
        request_id.to_str().unwrap_or("-"),
        json,
        way,
    );
    // An API client is told what is paused and for how long, as a code lock tells it.
    if let (true, ProxyError::LoginThrottled(throttle)) = (json, error) {
        let answer = serde_json::json!({
            "error": error.code(),
            "lock": throttle.lock.scope.as_str(),
            "message": message,
            "retry_after": throttle.seconds,
            "request_id": request_id.to_str().unwrap_or("-"),
        });
        body = bytes::Bytes::from(format!("{answer}\n"));
    }
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    crate::ui::security_headers::apply_to_error_page(response.headers_mut());
    if let ProxyError::LoginThrottled(throttle) = error {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(throttle.seconds));
    }
    if matches!(
        error,
        ProxyError::HeadersTooLarge
            | ProxyError::AmbiguousPath(_)
            | ProxyError::BadHost
            // A client that sends a framing field twice may be out of step with whatever
            // sits in front of the gateway: nothing more is read from its connection.
            | ProxyError::RepeatedField(_)
    ) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

fn log_error(error: &ProxyError, app: Option<&str>, request_id: &HeaderValue) {
    let request_id = request_id.to_str().unwrap_or("-");
    let app = app.unwrap_or("-");
    match error {
        ProxyError::UpstreamUnreachable(source) => {
            tracing::warn!(app, request_id, error = %error, cause = %crate::ops::error_chain(source), "upstream request failed")
        }
        ProxyError::UpstreamTimeout => {
            tracing::warn!(app, request_id, "upstream did not answer in time")
        }
        ProxyError::StateUnavailable(source) => {
            tracing::warn!(app, request_id, cause = %crate::ops::error_chain(source), "state store unavailable: request refused (fail closed)")
        }
        other => tracing::debug!(app, request_id, error = %other, "request refused"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_prefix_matches_any_case_and_bare_form() {
        assert!(is_reserved("/.mfa/", "/.mfa/"));
        assert!(is_reserved("/.mfa/verify", "/.mfa/"));
        assert!(is_reserved("/.MFA/verify", "/.mfa/"));
        assert!(is_reserved("/.mfa", "/.mfa/"));
        assert!(!is_reserved("/.mfa-other", "/.mfa/"));
        assert!(!is_reserved("/", "/.mfa/"));
    }
}
