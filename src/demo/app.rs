//! A tiny legacy-style web app: a password login form and a cookie session, nothing else. It
//! stands in for the apps the gateway protects (an old PHP intranet, a Django admin).

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

const COOKIE: &str = "demo_session";
const USERS: [(&str, &str); 2] = [("demo", "demo"), ("alice", "wonderland")];

#[derive(Default)]
struct Sessions(Mutex<HashMap<String, String>>);

impl Sessions {
    fn user(&self, req: &Request<Incoming>) -> Option<String> {
        let id = session_cookie(req)?;
        self.0.lock().ok()?.get(&id).cloned()
    }
}

pub fn run(listener: std::net::TcpListener) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("demo app: cannot start runtime: {e}");
            return;
        }
    };
    runtime.block_on(async move {
        if listener.set_nonblocking(true).is_err() {
            return;
        }
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            return;
        };
        let sessions = Arc::new(Sessions::default());
        while let Ok((stream, _)) = listener.accept().await {
            let sessions = sessions.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let sessions = sessions.clone();
                    async move { Ok::<_, Infallible>(route(&sessions, req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

async fn route(sessions: &Sessions, req: Request<Incoming>) -> Response<Full<Bytes>> {
    match (req.method().clone(), req.uri().path()) {
        (Method::GET, "/") => match sessions.user(&req) {
            Some(user) => page(
                StatusCode::OK,
                &format!(
                    "<h1>Welcome, {user}</h1><p>This is the protected intranet.</p>\
                     <form method=\"post\" action=\"/logout\"><button>Log out</button></form>"
                ),
            ),
            None => redirect("/login"),
        },
        // Who is signed in, as JSON: what the gateway asks to learn whom a login signed in
        // (identity.whoami in config/demo.yaml).
        (Method::GET, "/whoami") => {
            let user = serde_json::json!({ "user": sessions.user(&req) });
            let mut r = Response::new(Full::new(Bytes::from(user.to_string())));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        }
        (Method::GET, "/login") => login_form(None),
        (Method::POST, "/login") => login(sessions, req).await,
        (Method::POST, "/logout") => {
            if let (Some(id), Ok(mut map)) = (session_cookie(&req), sessions.0.lock()) {
                map.remove(&id);
            }
            let mut r = redirect("/login");
            r.headers_mut().insert(
                header::SET_COOKIE,
                HeaderValue::from_static("demo_session=; Path=/; Max-Age=0; HttpOnly"),
            );
            r
        }
        _ => page(StatusCode::NOT_FOUND, "<h1>Not found</h1>"),
    }
}

async fn login(sessions: &Sessions, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let body = match Limited::new(req.into_body(), 16 * 1024).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return page(StatusCode::PAYLOAD_TOO_LARGE, "<h1>Too large</h1>"),
    };
    let fields: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let user = fields.get("username").map(String::as_str).unwrap_or("");
    let password = fields.get("password").map(String::as_str).unwrap_or("");
    if !USERS.iter().any(|(u, p)| *u == user && *p == password) {
        return login_form(Some("Wrong user name or password."));
    }
    let id = format!("{:032x}", rand::random::<u128>());
    if let Ok(mut map) = sessions.0.lock() {
        map.insert(id.clone(), user.to_string());
    }
    let mut r = redirect("/");
    if let Ok(v) = HeaderValue::from_str(&format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax"))
    {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

fn session_cookie(req: &Request<Incoming>) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

fn login_form(error: Option<&str>) -> Response<Full<Bytes>> {
    let error = error.map_or(String::new(), |e| {
        format!("<p role=\"alert\" style=\"color:#b00\">{e}</p>")
    });
    page(
        StatusCode::OK,
        &format!(
            "<h1>Intranet login</h1>{error}<form method=\"post\" action=\"/login\">\
             <p><label>User name <input name=\"username\" autocomplete=\"username\"></label></p>\
             <p><label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\"></label></p>\
             <p><button>Log in</button></p></form><p><small>Demo users: demo / demo, alice / wonderland</small></p>"
        ),
    )
}

fn page(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Demo intranet</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem}}</style>\
         </head><body>{body}</body></html>"
    );
    let mut r = Response::new(Full::new(Bytes::from(html)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

fn redirect(to: &'static str) -> Response<Full<Bytes>> {
    let mut r = page(StatusCode::FOUND, "");
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(to));
    r
}
