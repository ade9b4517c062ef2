//! Small legacy apps of the kinds the gateway protects, each recording what reached it:
//!
//! - [`start_cookie_app`]: a PHP-style form login (`/login.php`, field `user`/`pass`) with a
//!   `PHPSESSID` cookie session, `/index.php` (protected), `/whoami.php` (the session's user as
//!   JSON), `/rotate.php` (a new session id), `/reset/USER` (a reset link that signs USER in),
//!   `/reset-here/USER` (the same, into the session the browser has, without a new id),
//!   `/logout.php`, `/assets/…` (public).
//!   `/basic/…`: an area behind HTTP Basic (Tomcat-manager-like): `/basic/status` (changes
//!   nothing), `/basic/undeploy` (a GET that changes something), `/basic/session` (caches the
//!   sign-in in a new `PHPSESSID`, as Tomcat does).
//! - [`start_token_app`]: a JSON login (`POST /api/login` → `{"token": …}`) and `/api/me`,
//!   which needs `Authorization: Bearer <token>`.

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub const USERS: [(&str, &str); 3] = [("alice", "secret"), ("bob", "hunter2"), ("carol", "pw")];

/// What one request brought to the app.
#[derive(Debug, Clone)]
pub struct Visit {
    pub method: String,
    pub path: String,
    pub cookie: Option<String>,
    pub authorization: Option<String>,
}

#[derive(Default)]
pub struct State {
    pub visits: Mutex<Vec<Visit>>,
    /// session id or token → user
    pub sessions: Mutex<HashMap<String, String>>,
}

impl State {
    pub fn visits(&self) -> Vec<Visit> {
        self.visits.lock().unwrap().clone()
    }

    /// Every Cookie and Authorization value the app was ever sent, joined.
    pub fn everything_sent(&self) -> String {
        self.visits()
            .iter()
            .map(|v| {
                format!(
                    "{} {}",
                    v.cookie.as_deref().unwrap_or(""),
                    v.authorization.as_deref().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

pub struct App {
    pub addr: SocketAddr,
    pub state: Arc<State>,
}

type Handler = fn(Arc<State>, Method, String, http::HeaderMap, Bytes) -> Response<Full<Bytes>>;

async fn serve(handler: Handler) -> App {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(State::default());
    let shared = state.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let state = shared.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let state = state.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let text = |name| {
                            parts
                                .headers
                                .get(name)
                                .and_then(|v: &HeaderValue| v.to_str().ok())
                                .map(str::to_string)
                        };
                        state.visits.lock().unwrap().push(Visit {
                            method: parts.method.to_string(),
                            path: parts.uri.path().to_string(),
                            cookie: text(header::COOKIE),
                            authorization: text(header::AUTHORIZATION),
                        });
                        let path = app_route(parts.uri.path());
                        Ok::<_, Infallible>(handler(state, parts.method, path, parts.headers, body))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    App { addr, state }
}

/// How the apps route a path, like PHP on a case-insensitive file system or a servlet
/// container: letters in any case, `;parameters` dropped, and a script's path info
/// (`/login.php/x`) is the script.
fn app_route(path: &str) -> String {
    let mut route: String = path
        .split('/')
        .map(|segment| segment.split(';').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("/")
        .to_ascii_lowercase();
    if let Some(at) = route.find(".php/") {
        route.truncate(at + 4);
    }
    route
}

pub async fn start_cookie_app() -> App {
    serve(cookie_app).await
}

pub async fn start_token_app() -> App {
    serve(token_app).await
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn redirect(to: &'static str) -> Response<Full<Bytes>> {
    let mut r = respond(StatusCode::FOUND, "text/html", String::new());
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(to));
    r
}

fn new_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn check_password(user: &str, password: &str) -> Option<String> {
    // Like many PHP apps, user names are matched without regard to case.
    USERS
        .iter()
        .find(|(u, p)| u.eq_ignore_ascii_case(user) && *p == password)
        .map(|(u, _)| u.to_string())
}

fn session_user(state: &State, headers: &http::HeaderMap, cookie: &str) -> Option<String> {
    let sessions = state.sessions.lock().unwrap();
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == cookie)
        .find_map(|(_, value)| sessions.get(value).cloned())
}

/// Starts a session in the app for `user` (what its login does), returning the cookie value.
pub fn mint_session(state: &State, user: &str) -> String {
    let id = new_id();
    state
        .sessions
        .lock()
        .unwrap()
        .insert(id.clone(), user.to_string());
    id
}

fn cookie_app(
    state: Arc<State>,
    method: Method,
    path: String,
    headers: http::HeaderMap,
    body: Bytes,
) -> Response<Full<Bytes>> {
    match (method, path.as_str()) {
        (Method::GET, "/login.php") => respond(
            StatusCode::OK,
            "text/html",
            "<form method=post><input name=user><input name=pass type=password></form>".into(),
        ),
        (Method::POST, "/login.php") => {
            let fields: HashMap<String, String> =
                form_urlencoded::parse(&body).into_owned().collect();
            let user = fields.get("user").map(String::as_str).unwrap_or("");
            let pass = fields.get("pass").map(String::as_str).unwrap_or("");
            match check_password(user, pass) {
                Some(user) => {
                    let id = mint_session(&state, &user);
                    let mut r = redirect("/index.php");
                    r.headers_mut().append(
                        header::SET_COOKIE,
                        HeaderValue::from_str(&format!("PHPSESSID={id}; path=/; HttpOnly"))
                            .unwrap(),
                    );
                    r.headers_mut().append(
                        header::SET_COOKIE,
                        HeaderValue::from_static("lang=en; path=/"),
                    );
                    r
                }
                None => respond(
                    StatusCode::OK,
                    "text/html",
                    "<p class=error>Invalid user name or password</p>".into(),
                ),
            }
        }
        (Method::GET, "/index.php") => match session_user(&state, &headers, "PHPSESSID") {
            Some(user) => respond(
                StatusCode::OK,
                "text/html",
                format!("<h1>Hello {user}</h1>"),
            ),
            None => redirect("/login.php"),
        },
        (Method::GET, "/whoami.php") => match session_user(&state, &headers, "PHPSESSID") {
            Some(user) => respond(
                StatusCode::OK,
                "application/json",
                serde_json::json!({ "account": { "name": user } }).to_string(),
            ),
            None => respond(StatusCode::FORBIDDEN, "application/json", "{}".into()),
        },
        // A password-reset link that signs its user in (no password, no second factor): the
        // kind of path by which an app mints a session outside its login.
        (_, p) if p.starts_with("/reset/") => {
            let user = p.trim_start_matches("/reset/").to_string();
            let id = mint_session(&state, &user);
            let mut r = redirect("/index.php");
            r.headers_mut().append(
                header::SET_COOKIE,
                HeaderValue::from_str(&format!("PHPSESSID={id}; path=/; HttpOnly")).unwrap(),
            );
            r
        }
        // The same link as some apps write it: the user goes into the session the browser
        // already has, with no new id and no Set-Cookie.
        (_, p) if p.starts_with("/reset-here/") => {
            let user = p.trim_start_matches("/reset-here/").to_string();
            let sessions = &mut state.sessions.lock().unwrap();
            let current = headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .filter_map(|pair| pair.trim().split_once('='))
                .find(|(name, value)| *name == "PHPSESSID" && sessions.contains_key(*value))
                .map(|(_, value)| value.to_string());
            match current {
                Some(id) => {
                    sessions.insert(id, user.clone());
                    respond(
                        StatusCode::OK,
                        "text/html",
                        format!("<h1>Hello {user}</h1>"),
                    )
                }
                None => redirect("/login.php"),
            }
        }
        // A sign-in whose Set-Cookie line carries a byte past ASCII (an app that copies the
        // typed name into a cookie attribute): not text to a strict reader, a cookie to a
        // browser.
        (_, p) if p.starts_with("/latin1/") => {
            let user = p.trim_start_matches("/latin1/").to_string();
            let id = mint_session(&state, &user);
            let mut r = respond(
                StatusCode::OK,
                "text/html",
                format!("<h1>Hello {user}</h1>"),
            );
            let mut line = format!("PHPSESSID={id}; path=/; n=").into_bytes();
            line.push(0xe9);
            r.headers_mut()
                .append(header::SET_COOKIE, HeaderValue::from_bytes(&line).unwrap());
            r
        }
        (_, "/rotate.php") => match session_user(&state, &headers, "PHPSESSID") {
            // Session fixation defence of the app itself: a fresh id for the same user.
            Some(user) => {
                let id = mint_session(&state, &user);
                let mut r = respond(StatusCode::OK, "text/html", "rotated".into());
                r.headers_mut().append(
                    header::SET_COOKIE,
                    HeaderValue::from_str(&format!("PHPSESSID={id}; path=/; HttpOnly")).unwrap(),
                );
                r
            }
            None => redirect("/login.php"),
        },
        (_, "/logout.php") => {
            let mut r = redirect("/login.php");
            r.headers_mut().append(
                header::SET_COOKIE,
                HeaderValue::from_static("PHPSESSID=deleted; path=/; Max-Age=0"),
            );
            r
        }
        (_, p) if p.starts_with("/assets/") => respond(StatusCode::OK, "text/css", "body{}".into()),
        (_, p) if p.starts_with("/basic/") => basic_area(&state, p, &headers),
        _ => respond(StatusCode::NOT_FOUND, "text/html", "not found".into()),
    }
}

/// The user of a valid `Authorization: Basic` (decoded leniently, like many servers).
fn basic_user(headers: &http::HeaderMap) -> Option<String> {
    use base64::Engine;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(encoded.trim().trim_end_matches('='))
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    check_password(user, pass)
}

fn basic_area(state: &State, path: &str, headers: &http::HeaderMap) -> Response<Full<Bytes>> {
    let Some(user) = basic_user(headers) else {
        let mut r = respond(StatusCode::UNAUTHORIZED, "text/html", "who are you?".into());
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Manager\""),
        );
        return r;
    };
    match path {
        "/basic/session" => {
            let id = mint_session(state, &user);
            let mut r = respond(StatusCode::OK, "text/html", format!("session for {user}"));
            r.headers_mut().append(
                header::SET_COOKIE,
                HeaderValue::from_str(&format!("PHPSESSID={id}; path=/basic")).unwrap(),
            );
            r
        }
        _ => respond(StatusCode::OK, "text/plain", format!("OK {path} as {user}")),
    }
}

fn token_app(
    state: Arc<State>,
    method: Method,
    path: String,
    headers: http::HeaderMap,
    body: Bytes,
) -> Response<Full<Bytes>> {
    match (method, path.as_str()) {
        (Method::POST, "/api/login") => {
            let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let user = value["username"].as_str().unwrap_or("");
            let pass = value["password"].as_str().unwrap_or("");
            match check_password(user, pass) {
                Some(user) => {
                    let token = mint_session(&state, &user);
                    respond(
                        StatusCode::OK,
                        "application/json",
                        serde_json::json!({ "token": token, "user": user }).to_string(),
                    )
                }
                None => respond(
                    StatusCode::UNAUTHORIZED,
                    "application/json",
                    r#"{"error":"bad credentials"}"#.into(),
                ),
            }
        }
        // A second way to a token the login rules do not name, rendered as the client asks
        // (like Django REST framework's browsable API for `Accept: text/html`).
        (Method::POST, "/api/session") => {
            let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let user = value["username"].as_str().unwrap_or("");
            let pass = value["password"].as_str().unwrap_or("");
            let Some(user) = check_password(user, pass) else {
                return respond(StatusCode::UNAUTHORIZED, "application/json", "{}".into());
            };
            let token = mint_session(&state, &user);
            let html = headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"));
            if html {
                respond(
                    StatusCode::OK,
                    "text/html",
                    format!("<p>Your token: <code>{token}</code></p>"),
                )
            } else {
                respond(
                    StatusCode::OK,
                    "application/json",
                    serde_json::json!({ "token": token }).to_string(),
                )
            }
        }
        // A token behind an anti-JSON-hijacking prefix, still labelled JSON.
        (Method::POST, "/api/prefixed") => {
            let token = mint_session(&state, "alice");
            respond(
                StatusCode::OK,
                "application/json",
                format!(")]}}',\n{{\"token\":\"{token}\"}}"),
            )
        }
        (Method::GET, "/api/help") => {
            respond(StatusCode::OK, "text/plain", "POST /api/login".into())
        }
        (Method::POST, "/api/ping") => {
            let mut r = respond(StatusCode::NO_CONTENT, "text/plain", String::new());
            r.headers_mut().remove(header::CONTENT_TYPE);
            r
        }
        (Method::GET, "/api/me") => {
            let token = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            match state.sessions.lock().unwrap().get(token) {
                Some(user) => respond(
                    StatusCode::OK,
                    "application/json",
                    serde_json::json!({ "user": user }).to_string(),
                ),
                None => respond(
                    StatusCode::UNAUTHORIZED,
                    "application/json",
                    r#"{"error":"not authenticated"}"#.into(),
                ),
            }
        }
        _ => respond(StatusCode::NOT_FOUND, "application/json", "{}".into()),
    }
}
