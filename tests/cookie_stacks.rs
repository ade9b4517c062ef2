//! The gateway's models of how stacks read `Cookie` headers (`session::stacks`), checked
//! against the real stacks that run on the test machine: PHP's built-in server, Rack (Debian's
//! ruby-rack, as Redmine uses it), Django's `parse_cookie` and Python's `SimpleCookie`. For
//! each tricky header: the real stack and its model read the same cookies; whenever the real
//! stack finds a session cookie name, the gateway's reading catches a pair as that name; and
//! once the gateway has stripped those pairs, the real stack no longer finds it.
//!
//! Tomcat is not run here (a servlet would need compiling against the container); its models
//! are checked by the unit tests and the fuzz target `cookie_stacks` only.

use http::{header, HeaderMap, HeaderValue};
use mfa_gateway::session::credentials::{cookie_name_reads_as, cookie_pairs, strip_cookies};
use mfa_gateway::session::stacks::Stack;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};

const HEADERS: &[&str] = &[
    "sessionid=a; PHPSESSID=b; JSESSIONID=c",
    "%73essionid=a; PHPSESS%49D=b; sessionid%00x=c",
    "PHPSESSID%00x=1",
    "session+id=1; session%20id=2; app session=3; app.session=4; app[session=5",
    "app[session]=1; PHPSESSID[x]=2; PHPSESSID[=3; [PHPSESSID]=4",
    "SESSIONID=1; SessionId=2; sessionid=3",
    "a=1, sessionid=2; b=3,PHPSESSID=4",
    "a=b sessionid=x; c=d",
    "a=\"x;sessionid=y\"; b=1",
    "a=\"x\\\";sessionid=y\" c=2",
    "\"sessionid=x; =sessionid=y; (PHPSESSID)=z",
    "a=b\"sessionid=x",
    "$Version=1; sessionid=x; $Path=/",
    "__Host-sid=1; ..Host-sid=2; %5F_Host-sid=3; __Secure-sid=4; ._Secure-sid=5",
    "  sessionid  =  x  ;\tPHPSESSID\t=\ty",
    "sessionid =x; PHPSESSID =y",
    "sessionid=1; sessionid=2; sessionid=3",
    "sessionid; PHPSESSID; =x; ;;; sessionid=",
    "sessionid=a+b%2Bc%41; PHPSESSID=%zz",
    "sessionid=\"quoted\"; PHPSESSID=\"q\\\"x\"",
    "x=1;sessionid=2;y=3",
    "sessionid=ab==; a=b=c",
    "wordpress_logged_in_abc=1; wordpress.logged.in.def=2; wordpress_logged_in_ghi[x]=3",
    "expires=Wed, 09 Jun 2021 10:18:14 GMT; sessionid=1",
    "a=1 junk; sessionid=2",
    "sessionid=%C3%A9; PHPSESSID=%FF",
    "_redmine_session=1; _redmine%5Fsession=2; _redmine.session=3",
    "a=b,c; sessionid=x, PHPSESSID=y",
    "sessionid=1 PHPSESSID=2 JSESSIONID=3",
    "=; = ; ==; a==; =a=",
];

const TARGETS: &[&str] = &[
    "sessionid",
    "PHPSESSID",
    "JSESSIONID",
    "__Host-sid",
    "__Secure-sid",
    "app_session",
    "_redmine_session",
    "wordpress_logged_in_*",
];

type Readings = Vec<Vec<(String, String)>>;

fn decode(json: &[u8]) -> Readings {
    serde_json::from_slice(json).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(json));
    })
}

/// Runs `program args` with the headers as a JSON list on stdin; it prints one list of pairs
/// per header.
fn run(program: &str, args: &[&str], headers: &[String]) -> Readings {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} cannot run ({e}); scripts/test installs it"));
    let input = serde_json::to_vec(headers).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{program} failed");
    decode(&out.stdout)
}

fn python() -> String {
    std::env::var("MFA_TEST_PYTHON")
        .unwrap_or_else(|_| format!("{}/target/pyenv/bin/python", env!("CARGO_MANIFEST_DIR")))
}

const DJANGO: &str = r#"
import json, sys
from django.http.cookie import parse_cookie
print(json.dumps([list(parse_cookie(h).items()) for h in json.load(sys.stdin)]))
"#;

const SIMPLE_COOKIE: &str = r#"
import json, sys
from http.cookies import SimpleCookie, CookieError
out = []
for h in json.load(sys.stdin):
    c = SimpleCookie()
    try:
        c.load(h)
    except CookieError:
        pass
    out.append([(k, m.value) for k, m in c.items()])
print(json.dumps(out))
"#;

const RACK: &str = r#"
require "rack"
require "json"
headers = JSON.parse($stdin.read)
out = headers.map do |h|
  Rack::Utils.parse_cookies_header(h).map { |k, v| [k.dup.force_encoding("UTF-8").scrub, (v || "").dup.force_encoding("UTF-8").scrub] }
end
puts JSON.generate(out)
"#;

const PHP: &str = r#"<?php
$out = [];
foreach ($_COOKIE as $k => $v) { $out[] = [(string) $k, is_array($v) ? '[array]' : $v]; }
header('Content-Type: application/json');
echo json_encode([$out], JSON_INVALID_UTF8_SUBSTITUTE);
"#;

struct Php {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Drop for Php {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn php() -> Php {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("mfa-cookie-stacks-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.php"), PHP).unwrap();
    let child = Command::new("php")
        .args(["-S", &format!("127.0.0.1:{port}"), "-t"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("php cannot run; scripts/test installs php-cli");
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Php { child, port, dir }
}

impl Php {
    fn read(&self, headers: &[String]) -> Readings {
        headers
            .iter()
            .map(|h| {
                let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
                write!(
                    s,
                    "GET /index.php HTTP/1.1\r\nHost: x\r\nCookie: {h}\r\nConnection: close\r\n\r\n"
                )
                .unwrap();
                let mut answer = Vec::new();
                s.read_to_end(&mut answer).unwrap();
                let at = answer
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .expect("an HTTP answer");
                decode(answer.get(at + 4..).unwrap()).remove(0)
            })
            .collect()
    }
}

fn headers_of(line: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.append(header::COOKIE, HeaderValue::from_str(line).unwrap());
    h
}

/// The model reads as the real stack does; the gateway catches every session name the real
/// stack finds; and after the gateway's stripping the real stack finds none.
fn check(stack: Stack, real: impl Fn(&[String]) -> Readings) {
    let headers: Vec<String> = HEADERS.iter().map(|h| h.to_string()).collect();
    let readings = real(&headers);
    assert_eq!(
        readings.len(),
        headers.len(),
        "{stack:?}: one reading per header"
    );
    let mut stripped: Vec<(String, &str)> = Vec::new();
    for (line, reading) in headers.iter().zip(&readings) {
        let model = stack.parse(line);
        let model: Vec<(String, String)> = model.pairs().to_vec();
        assert_eq!(&model, reading, "{stack:?} reads {line:?}");
        for target in TARGETS {
            let found = reading.iter().any(|(n, _)| {
                stack.name_readings(target).iter().any(|t| {
                    mfa_gateway::wire::cookie_name::name_matches(n, t, stack.case_insensitive())
                })
            });
            let h = headers_of(line);
            if found {
                assert!(
                    cookie_pairs(&h).any(|(n, _)| cookie_name_reads_as(n, target)),
                    "{stack:?} reads {target:?} in {line:?}; the gateway does not"
                );
            }
            let mut h = h;
            strip_cookies(&mut h, |n| cookie_name_reads_as(n, target));
            if let Some(left) = h.get(header::COOKIE) {
                stripped.push((left.to_str().unwrap().to_string(), target));
            }
        }
    }
    let lines: Vec<String> = stripped.iter().map(|(l, _)| l.clone()).collect();
    let again = real(&lines);
    assert_eq!(
        again.len(),
        lines.len(),
        "{stack:?}: one reading per header"
    );
    for ((line, target), reading) in stripped.iter().zip(again) {
        for (name, _) in &reading {
            let read = stack.name_readings(target).iter().any(|t| {
                mfa_gateway::wire::cookie_name::name_matches(name, t, stack.case_insensitive())
            });
            assert!(
                !read,
                "{stack:?} still reads {target:?} in {line:?} after stripping"
            );
        }
    }
}

#[test]
fn php_reads_as_modelled() {
    let server = php();
    check(Stack::PhpModern, |h| server.read(h));
}

#[test]
fn rack_reads_as_modelled() {
    check(Stack::RackModern, |h| run("ruby", &["-e", RACK], h));
}

#[test]
fn django_reads_as_modelled() {
    check(Stack::Django, |h| run(&python(), &["-c", DJANGO], h));
}

#[test]
fn python_simple_cookie_reads_as_modelled() {
    check(Stack::PythonSimpleCookie, |h| {
        run("python3", &["-c", SIMPLE_COOKIE], h)
    });
}
