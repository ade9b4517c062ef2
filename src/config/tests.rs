//! Validation tests: each error class names file, line, column and key.

use super::*;
use std::path::Path;

const GOOD: &str = r#"listeners:
  - address: "127.0.0.1:8080"
admin:
  address: "127.0.0.1:9090"
gateway:
  trusted_proxies: ["10.0.0.0/8", "::1"]
apps:
  - name: django
    hosts: ["admin.example.com", "*.example.org"]
    upstream:
      url: "http://127.0.0.1:8000"
      timeouts:
        connect: 2s
"#;

fn load(text: &str) -> Result<Config, ConfigErrors> {
    load_str(text, Path::new("gateway.yaml"), |_| None)
}

fn errors(text: &str) -> Vec<String> {
    match load(text) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn good_file_loads_with_defaults() {
    let c = load(GOOD).unwrap();
    assert_eq!(c.reserved_prefix, "/.mfa/");
    assert_eq!(c.apps[0].upstream.connect_timeout.as_secs(), 2);
    assert_eq!(c.apps[0].upstream.response_header_timeout.as_secs(), 60);
    assert_eq!(c.apps[0].path_prefix, "/");
    assert_eq!(c.trusted_proxies.len(), 2);
    assert!(c.admin.is_some());
}

#[test]
fn bad_upstream_url_names_line_column_and_key() {
    let text = GOOD.replace("http://127.0.0.1:8000", "htp://x");
    assert_eq!(
        errors(&text),
        vec![r#"gateway.yaml:11:7: apps[0].upstream.url: "htp://x" is not an http(s) URL"#]
    );
}

#[test]
fn unknown_key_gets_a_hint() {
    let text = GOOD.replace("    upstream:", "    upsteam: {}\n    upstream:");
    let e = errors(&text);
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("gateway.yaml:10:"), "{}", e[0]);
    assert!(e[0].contains("apps[0]"), "{}", e[0]);
    assert!(e[0].contains("did you mean `upstream`?"), "{}", e[0]);
}

#[test]
fn wrong_type_is_reported_with_place() {
    let text = GOOD.replace("address: \"127.0.0.1:9090\"", "address: [1, 2]");
    let e = errors(&text);
    assert!(e[0].starts_with("gateway.yaml:4:"), "{}", e[0]);
    assert!(e[0].contains("admin.address"), "{}", e[0]);
}

#[test]
fn syntax_error_has_a_line() {
    let e = errors("listeners:\n  - address: [\n");
    assert!(e[0].starts_with("gateway.yaml:"), "{}", e[0]);
}

#[test]
fn every_validation_problem_is_listed() {
    let text = GOOD
        .replace("127.0.0.1:8080", "localhost")
        .replace("10.0.0.0/8", "10.0.0.0/99")
        .replace("connect: 2s", "connect: 2");
    let e = errors(&text);
    assert_eq!(e.len(), 3, "{e:#?}");
    assert!(
        e[0].starts_with("gateway.yaml:2:5: listeners[0].address: "),
        "{}",
        e[0]
    );
    assert!(e[1].starts_with("gateway.yaml:6:"), "{}", e[1]);
    assert!(e[1].contains("gateway.trusted_proxies[0]"), "{}", e[1]);
    assert!(
        e[2].starts_with("gateway.yaml:13:9: apps[0].upstream.timeouts.connect: "),
        "{}",
        e[2]
    );
}

#[test]
fn duplicate_routes_and_names_are_refused() {
    let text = format!(
        "{GOOD}  - name: django\n    hosts: [\"admin.example.com\"]\n    upstream:\n      url: \"http://127.0.0.1:8001\"\n"
    );
    let e = errors(&text);
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(e[0].contains("apps[1].name"));
    assert!(e[1].contains("apps[1].hosts[0]") && e[1].contains("already routed"));
}

#[test]
fn missing_certificate_file_is_named() {
    let text = GOOD.replace(
        "  - address: \"127.0.0.1:8080\"\n",
        "  - address: \"127.0.0.1:8443\"\n    tls:\n      certificates:\n        - cert_file: /nonexistent/c.pem\n          key_file: /nonexistent/k.pem\n",
    );
    let e = errors(&text);
    assert!(
        e[0].contains("listeners[0].tls.certificates[0].cert_file"),
        "{}",
        e[0]
    );
    assert!(e[0].contains("/nonexistent/c.pem"), "{}", e[0]);
}

#[test]
fn environment_defaults_fill_examples() {
    let text = "listeners:\n  - address: \"${MFA_LISTEN:-127.0.0.1:8080}\"\napps:\n  - name: a\n    hosts: [\"*\"]\n    upstream:\n      url: \"${UPSTREAM_URL:-http://127.0.0.1:8000}\"\n";
    let c = load_str(text, Path::new("x.yaml"), |n| {
        (n == "UPSTREAM_URL").then(|| "http://10.1.1.1:9000".to_string())
    })
    .unwrap();
    assert_eq!(c.listeners[0].address.port(), 8080);
    assert_eq!(c.apps[0].upstream.authority.as_str(), "10.1.1.1:9000");
}

#[test]
fn secret_from_file_is_read_and_redacted() {
    let dir = std::env::temp_dir().join(format!("mfa-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = dir.join("secret");
    std::fs::write(&secret, "s3cret-value\n").unwrap();
    let text = GOOD.replace(
        "      timeouts:",
        &format!("      add_headers:\n        - name: X-Gateway-Secret\n          value_file: {}\n      timeouts:", secret.display()),
    );
    let c = load(&text).unwrap();
    let (name, value) = &c.apps[0].upstream.add_headers[0];
    assert_eq!(name, "x-gateway-secret");
    assert_eq!(value.0, "s3cret-value");
    assert!(!format!("{c:?}").contains("s3cret"));
}

#[test]
fn admin_can_be_switched_off() {
    let text = GOOD.replace("  address: \"127.0.0.1:9090\"", "  enabled: false");
    assert!(load(&text).unwrap().admin.is_none());
}

const MFA: &str = r#"
    mfa:
      policy: optional
      case_fold_users: true
      overrides:
        - users: [Boss]
          policy: required
        - pattern: "^admin"
          policy: required
      login:
        - path: /login
          success:
            set_cookie: sid
      session_cookies: [sid]
      identity:
        whoami: { path: /me, json_pointer: /user }
"#;

#[test]
fn mfa_block_loads_with_defaults_and_overrides() {
    let c = load(&format!("{GOOD}{MFA}")).unwrap();
    let m = c.apps[0].mfa.as_ref().unwrap();
    assert_eq!(m.realm, "django");
    assert_eq!(m.max_attempts, 5);
    assert_eq!(m.challenge_timeout.as_secs(), 300);
    assert_eq!(m.login[0].method, http::Method::POST);
    assert_eq!(m.policy_for("someone"), Policy::Optional);
    assert_eq!(
        m.policy_for("boss"),
        Policy::Required,
        "names are case-folded"
    );
    assert_eq!(m.policy_for("admin7"), Policy::Required);
    assert_eq!(m.policy_for("not-admin"), Policy::Optional);
}

#[test]
fn mfa_mistakes_name_their_keys() {
    let text = format!("{GOOD}{MFA}")
        .replace("pattern: \"^admin\"", "pattern: \"(unclosed\"")
        .replace("set_cookie: sid", "set_cookie: other")
        .replace("policy: optional", "policy: sometimes");
    let e = errors(&text);
    assert!(
        e.iter()
            .any(|e| e.contains("apps[0].mfa.policy: \"sometimes\" is not a policy")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|e| e.contains("apps[0].mfa.overrides[1].pattern")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|e| e.contains("apps[0].mfa.login[0].success.set_cookie")
                && e.contains("session_cookies")),
        "{e:?}"
    );
    // Each error points at a line in the file.
    assert!(
        e.iter()
            .all(|e| e.starts_with("gateway.yaml:") && !e.starts_with("gateway.yaml:0:")),
        "{e:?}"
    );

    let no_success =
        format!("{GOOD}{MFA}").replace("          success:\n            set_cookie: sid\n", "");
    let e = errors(&no_success);
    assert!(
        e.iter().any(|e| e.contains("apps[0].mfa.login[0].success")),
        "{e:?}"
    );
}

#[test]
fn the_key_file_defaults_to_the_data_dir_and_can_be_moved() {
    let c = load(&format!("data_dir: /var/lib/mfa\n{GOOD}")).unwrap();
    assert_eq!(c.keys_file, Path::new("/var/lib/mfa/keys.json"));
    let c = load(&format!("keys_file: /run/secrets/keys.json\n{GOOD}")).unwrap();
    assert_eq!(c.keys_file, Path::new("/run/secrets/keys.json"));
}

#[test]
fn a_logo_must_be_an_image_file_that_exists() {
    let text = GOOD.replace(
        "    hosts: [\"admin.example.com\"",
        "    logo_file: /nonexistent/logo.svg\n    hosts: [\"admin.example.com\"",
    );
    let e = errors(&text);
    assert!(
        e[0].contains("apps[0].logo_file: cannot read /nonexistent/logo.svg"),
        "{e:?}"
    );
    let e = errors(&text.replace("logo.svg", "logo.exe"));
    assert!(
        e[0].contains("is not an .svg, .png, .jpg or .webp file"),
        "{e:?}"
    );
}

#[test]
fn state_urls_choose_the_stores_and_their_mistakes_are_named() {
    let c = load(GOOD).unwrap();
    assert!(matches!(c.state.ephemeral, EphemeralConfig::Memory));
    assert!(matches!(c.state.durable, DurableConfig::Sqlite));
    // Empty URLs (an unset ${MFA_REDIS_URL:-}) mean the embedded stores.
    let empty = format!("state:\n  redis_url: \"\"\n  database_url: \"\"\n{GOOD}");
    assert!(matches!(
        load(&empty).unwrap().state.ephemeral,
        EphemeralConfig::Memory
    ));
    let shared = format!(
        "state:\n  redis_url: redis://:pw@10.0.0.5:6379/0\n  database_url: postgres://u:pw@db/mfa\n  redis_sentinel_service: mymaster\n  redis_sentinels: [\"10.0.0.7:26379\"]\n{GOOD}"
    );
    let c = load(&shared).unwrap();
    match &c.state.ephemeral {
        EphemeralConfig::Redis {
            session_cache,
            sentinel,
            ..
        } => {
            assert_eq!(session_cache.as_secs(), 2);
            assert_eq!(sentinel.as_ref().unwrap().service, "mymaster");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !format!("{:?}", c.state).contains("pw@"),
        "URLs are redacted in Debug"
    );
    let e = errors(&format!(
        "state:\n  redis_url: http://x\n  redis_sentinels: [\"nohost\"]\n  database_url: mysql://x\n{GOOD}"
    ));
    assert!(
        e.iter()
            .any(|e| e.contains("state.redis_url: must be a redis:// or rediss:// (TLS) URL")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|e| e.contains("state.redis_sentinels") && e.contains("redis_sentinel_service")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|e| e.contains("state.database_url: must be a postgres:// URL")),
        "{e:?}"
    );
}

#[test]
fn a_login_under_a_bypass_path_is_refused() {
    let text = format!("{GOOD}{MFA}      bypass:\n        paths: [/]\n");
    let e = errors(&text);
    assert!(
        e.iter()
            .any(|e| e.contains("apps[0].mfa.login[0].path")
                && e.contains("would not be intercepted")),
        "{e:?}"
    );
    let fine = format!("{GOOD}{MFA}      bypass:\n        paths: [/log]\n");
    assert!(
        load(&fine).is_ok(),
        "/log does not cover /login: whole segments"
    );
}

#[test]
fn redis_cluster_nodes_are_checked_and_exclusive_with_sentinel() {
    let cluster = format!(
        "state:\n  redis_url: redis://x/\n  redis_cluster: [\"10.0.0.11:6379\", \"10.0.0.12:6379\"]\n{GOOD}"
    );
    match &load(&cluster).unwrap().state.ephemeral {
        EphemeralConfig::Redis { cluster, .. } => assert_eq!(cluster.as_ref().unwrap().len(), 2),
        other => panic!("{other:?}"),
    }
    let both = format!(
        "state:\n  redis_url: redis://x/\n  redis_cluster: [\"bad\"]\n  redis_sentinel_service: m\n  redis_sentinels: [\"10.0.0.7:26379\"]\n{GOOD}"
    );
    let e = errors(&both);
    assert!(
        e.iter().any(|e| e.contains("state.redis_cluster[0]")),
        "{e:?}"
    );
    assert!(e.iter().any(|e| e.contains("not both")), "{e:?}");
}

#[test]
fn regulation_and_enrollment_have_defaults_and_named_mistakes() {
    let c = load(&format!("{GOOD}{MFA}")).unwrap();
    let m = c.apps[0].mfa.as_ref().unwrap();
    let user = m.regulation.user.unwrap();
    assert_eq!(
        (
            user.failures,
            user.within.as_secs(),
            user.lock.as_secs(),
            user.max_lock.as_secs(),
            user.max_failures
        ),
        (10, 3600, 3600, 86_400, 100)
    );
    assert_eq!(m.regulation.client.unwrap().failures, 20);
    assert_eq!(m.regulation.device.unwrap().failures, 5);
    assert_eq!(m.regulation.network.unwrap().failures, 100);
    // Wrong passwords typed as a name slow it down, never for long.
    assert_eq!(m.regulation.login_user.unwrap().max_lock.as_secs(), 300);
    // Safe by default: a first factor is set up with an administrator's code.
    assert!(matches!(m.enrollment, Enrollment::Invite));

    let tuned = format!("{GOOD}{MFA}      enrollment: invite\n      regulation:\n        user: {{ failures: 3 }}\n        login_user: {{ failures: 0 }}\n");
    let c = load(&tuned).unwrap();
    let m = c.apps[0].mfa.as_ref().unwrap();
    let user = m.regulation.user.unwrap();
    assert_eq!(
        (user.failures, user.lock.as_secs()),
        (3, 3600),
        "unset fields keep defaults"
    );
    let e = errors(&format!(
        "{GOOD}{MFA}      regulation:\n        client: {{ lock: 1h, max_lock: 10m }}\n"
    ));
    assert!(
        e.iter()
            .any(|e| e.contains("regulation.client.max_lock: must not be shorter than lock")),
        "{e:?}"
    );
    assert_eq!(m.regulation.login_user, None, "failures: 0 switches it off");
    assert!(matches!(m.enrollment, Enrollment::Invite));

    let typo = format!("{GOOD}{MFA}      regulation:\n        clinet: {{ failures: 3 }}\n");
    let e = errors(&typo);
    assert!(
        e.iter().any(|e| e.starts_with("gateway.yaml:")
            && e.contains("apps[0].mfa.regulation.clinet")
            && e.contains("did you mean `client`?")),
        "{e:?}"
    );
    let e = errors(&format!("{GOOD}{MFA}      enrollment: anyone\n"));
    assert!(
        e.iter()
            .any(|e| e.contains("apps[0].mfa.enrollment: \"anyone\" is not an enrollment mode")),
        "{e:?}"
    );
    enrollment_windows_are_read_and_their_mistakes_named();
    // An office's addresses are shared; everyone is not.
    let shared = format!("{GOOD}{MFA}      regulation:\n        shared_networks: [\"203.0.113.7\", \"10.0.0.0/8\", \"2001:db8::/32\"]\n");
    let c = load(&shared).unwrap();
    let r = &c.apps[0].mfa.as_ref().unwrap().regulation;
    assert_eq!(r.shared_networks.len(), 3);
    let mapped: std::net::IpAddr = "::ffff:203.0.113.7".parse().unwrap();
    assert_eq!(
        r.for_address(r.client, mapped),
        None,
        "a dual-stack listener's spelling"
    );
    assert!(r
        .for_address(r.client, "203.0.113.8".parse().unwrap())
        .is_some());
    for wide in ["0.0.0.0/0", "::/0", "10.0.0.0/7"] {
        let e = errors(&format!(
            "{GOOD}{MFA}      regulation:\n        shared_networks: [\"{wide}\"]\n"
        ));
        assert!(
            e.iter()
                .any(|e| e.contains("apps[0].mfa.regulation.shared_networks[0]")
                    && e.contains("too wide")),
            "{wide}: {e:?}"
        );
    }
    // A page of another site is no page of the app (`//host/...` is protocol-relative).
    for key in ["home_page", "login_page"] {
        let e = errors(&format!("{GOOD}{MFA}      {key}: //evil.example/x\n"));
        assert!(
            e.iter().any(|e| e.contains(&format!("apps[0].mfa.{key}"))),
            "{key}: {e:?}"
        );
    }
    let e = errors(&format!("{GOOD}{MFA}      language: klingon\n"));
    assert!(
        e.iter()
            .any(|e| e.contains("apps[0].mfa.language") && e.contains("en, de, fr, es")),
        "{e:?}"
    );
    let bad_duration = format!("{GOOD}{MFA}      regulation:\n        user: {{ lock: forever }}\n");
    let e = errors(&bad_duration);
    assert!(
        e.iter()
            .any(|e| e.contains("apps[0].mfa.regulation.user.lock: \"forever\" is not a duration")),
        "{e:?}"
    );
}

#[test]
fn audit_sinks_and_their_mistakes() {
    let c = load(GOOD).unwrap();
    assert_eq!(
        c.audit.fsync,
        Fsync::Interval(std::time::Duration::from_secs(1))
    );
    assert_eq!(c.audit.on_failure, AuditFailure::Continue);
    assert!(c.audit.file.as_ref().unwrap().ends_with("data/audit.jsonl"));

    let sinks = format!("{GOOD}audit:\n  file: \"\"\n  stdout: true\n  fsync: always\n  redis_stream:\n    url: redis://127.0.0.1:6379/\n  on_failure: refuse\n");
    let c = load(&sinks).unwrap();
    assert_eq!(c.audit.file, None);
    assert!(c.audit.stdout);
    assert_eq!(c.audit.fsync, Fsync::Always);
    let stream = c.audit.redis_stream.unwrap();
    assert_eq!(
        (stream.key.as_str(), stream.max_len),
        ("mfa:audit", 1_000_000)
    );
    assert_eq!(c.audit.on_failure, AuditFailure::Refuse);

    let e = errors(&format!(
        "{GOOD}audit:\n  fsync: sometimes\n  on_failure: shrug\n  redis_stream:\n    key: audit\n"
    ));
    assert!(
        e.iter().any(|e| e.contains("audit.fsync: \"sometimes\"")),
        "{e:?}"
    );
    assert!(
        e.iter().any(|e| e.contains("audit.on_failure: \"shrug\"")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|e| e.contains("audit.redis_stream.url") && e.contains("name the Redis")),
        "no URL and no single-server state Redis: {e:?}"
    );
    let e = errors(&format!(
        "{GOOD}audit:\n  file: \"\"\n  on_failure: refuse\n"
    ));
    assert!(e.iter().any(|e| e.contains("refuse needs a sink")), "{e:?}");
}

#[test]
fn identity_normalisation_is_read_and_checked() {
    let text = format!("{GOOD}{MFA}")
        .replace("      case_fold_users: true\n", "")
        .replace(
            "        whoami: { path: /me, json_pointer: /user }\n",
            "        typed_name: true\n        normalize: [nfkc, casefold]\n",
        );
    let c = load(&text).unwrap();
    let m = c.apps[0].mfa.as_ref().unwrap();
    assert_eq!(m.normalize.apply(" ＡＬＩＣＥ "), "alice");
    assert_eq!(m.normalize.apply("Straße"), "strasse");
    assert_eq!(m.identity, crate::config::IdentitySource::LoginField);
    let e = errors(&text.replace("[nfkc, casefold]", "[nfc]"));
    assert!(
        e.iter()
            .any(|m| m.contains("mfa.identity.normalize[0]") && m.contains("nfkc")),
        "{e:?}"
    );
}

#[test]
fn lookalike_names_meet() {
    use crate::config::lookalike;
    for name in [
        "alice",
        "Alice",
        "ＡＬＩＣＥ",
        "alicé",
        " a lice",
        "ALİCE",
        "alice.",
        "_alice",
        "alice!",
        "-alice-",
        "alice:",
        "a.lice",
    ] {
        assert_eq!(lookalike(name), lookalike("alice"), "{name}");
    }
    assert_ne!(lookalike("alicia"), lookalike("alice"));
    assert_eq!(lookalike("straße"), lookalike("STRASSE"));
}

#[test]
fn an_empty_username_field_is_refused() {
    let text = format!("{GOOD}{MFA}").replace(
        "        - path: /login\n",
        "        - path: /login\n          username_field: \"\"\n",
    );
    let e = errors(&text);
    assert!(
        e.iter().any(|m| m.contains("mfa.login[0].username_field")),
        "{e:?}"
    );
}

#[test]
fn basic_auth_is_read_and_its_mistakes_named() {
    let one = format!("{GOOD}{MFA}      basic_auth:\n        check: /manager/status\n");
    let settings = load(&one).unwrap().apps[0].mfa.clone().unwrap();
    let basic = settings.basic_auth.unwrap();
    assert_eq!(basic.check, ["/manager/status"]);
    assert_eq!(basic.success, [http::StatusCode::OK]);
    assert_eq!(basic.paths, ["/"]);
    let list = format!(
        "{GOOD}{MFA}      basic_auth:\n        check: [/a, /b?x=1]\n        success_status: [204]\n"
    );
    let basic = load(&list).unwrap().apps[0]
        .mfa
        .clone()
        .unwrap()
        .basic_auth
        .unwrap();
    assert_eq!(basic.check, ["/a", "/b?x=1"]);
    assert_eq!(basic.success, [http::StatusCode::NO_CONTENT]);
    let bad = format!(
        "{GOOD}{MFA}      basic_auth:\n        check: [manager, /a/../b]\n        success_status: [302]\n        paths: [x]\n"
    );
    let e = errors(&bad);
    for key in [
        "apps[0].mfa.basic_auth.check[0]",
        "apps[0].mfa.basic_auth.check[1]",
        "apps[0].mfa.basic_auth.success_status[0]",
        "apps[0].mfa.basic_auth.paths[0]",
    ] {
        assert!(e.iter().any(|e| e.contains(key)), "{key}: {e:?}");
    }
    assert!(load(&format!("{GOOD}{MFA}")).unwrap().apps[0]
        .mfa
        .as_ref()
        .unwrap()
        .basic_auth
        .is_none());
}

#[test]
fn cookies_kept_before_login_and_resealed_come_from_session_cookies() {
    let mfa = MFA.replace("session_cookies: [sid]", "session_cookies: [sid, auth]");
    let some =
        format!("{GOOD}{mfa}      session_before_login: [sid]\n      resealed_cookies: [auth]\n");
    let settings = load(&some).unwrap().apps[0].mfa.clone().unwrap();
    assert!(settings.kept_before_login("sid") && !settings.kept_before_login("auth"));
    assert!(settings.resealed("auth") && !settings.resealed("sid"));
    let all = format!("{GOOD}{mfa}      session_before_login: true\n");
    let settings = load(&all).unwrap().apps[0].mfa.clone().unwrap();
    assert!(settings.kept_before_login("sid") && settings.kept_before_login("auth"));
    let bad =
        format!("{GOOD}{mfa}      session_before_login: [other]\n      resealed_cookies: [x]\n");
    let e = errors(&bad);
    for key in [
        "apps[0].mfa.session_before_login[0]",
        "apps[0].mfa.resealed_cookies[0]",
    ] {
        assert!(e.iter().any(|e| e.contains(key)), "{key}: {e:?}");
    }
}

#[test]
fn refused_credentials_are_found_in_every_spelling() {
    let text = format!(
        "{GOOD}{MFA}      refuse_credentials:\n        headers: [X-Redmine-API-Key]\n        query: [key]\n"
    );
    let settings = load(&text).unwrap().apps[0].mfa.clone().unwrap();
    let refused = &settings.refuse_credentials;
    let with = |name: &'static str| {
        let mut h = http::HeaderMap::new();
        h.insert(
            http::HeaderName::from_static(name),
            http::HeaderValue::from_static("k"),
        );
        h
    };
    let none = http::HeaderMap::new();
    let get = http::Method::GET;
    assert!(refused.carried(&get, &with("x-redmine-api-key"), None));
    assert!(refused.carried(&get, &with("x_redmine_api_key"), None));
    assert!(!refused.carried(&get, &with("x-redmine-api"), None));
    // As Rack and PHP read names: `;` between pairs, brackets around or after, `.` for `_`.
    for query in [
        "key=abc",
        "a=1&KEY=abc",
        "%6Bey=abc",
        "key[]=abc",
        "key",
        "x=1;key=abc",
        "[key]=abc",
        "key]=abc",
        "]key=abc",
        "+key=abc",
    ] {
        assert!(refused.carried(&get, &none, Some(query)), "{query}");
    }
    for query in ["keys=abc", "monkey=1", "a=key"] {
        assert!(!refused.carried(&get, &none, Some(query)), "{query}");
    }
    // A GET with a body: Rails reads its form or JSON as parameters too.
    let mut bodied = http::HeaderMap::new();
    bodied.insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from_static("9"),
    );
    assert!(refused.carried(&get, &bodied, None));
    assert!(!refused.carried(&http::Method::POST, &bodied, None));
}

#[test]
fn a_logout_may_name_its_method() {
    let text = format!("{GOOD}{MFA}      logout: [POST /logout, /bye]\n");
    let settings = load(&text).unwrap().apps[0].mfa.clone().unwrap();
    let (post, get) = (http::Method::POST, http::Method::GET);
    assert!(settings.logout[0].matches(&post, "/logout"));
    assert!(!settings.logout[0].matches(&get, "/logout"));
    assert!(settings.logout[1].matches(&get, "/bye"));
    let bad = format!("{GOOD}{MFA}      logout: [post /logout, \"POST logout\"]\n");
    let e = errors(&bad);
    assert!(
        e.iter().any(|e| e.contains("apps[0].mfa.logout[0]")),
        "{e:?}"
    );
    assert!(
        e.iter().any(|e| e.contains("apps[0].mfa.logout[1]")),
        "{e:?}"
    );
}

#[test]
fn an_app_must_say_where_the_app_names_its_user() {
    let without = format!("{GOOD}{MFA}").replace(
        "      identity:\n        whoami: { path: /me, json_pointer: /user }\n",
        "",
    );
    let e = errors(&without);
    assert!(
        e.iter()
            .any(|m| m.contains("mfa.identity: missing") && m.contains("typed_name")),
        "{e:?}"
    );
    // A block that only normalises names says nothing of where the name comes from.
    let normalize_only = without.replace(
        "      session_cookies: [sid]\n",
        "      session_cookies: [sid]\n      identity:\n        normalize: [nfkc]\n",
    );
    let e = errors(&normalize_only);
    assert!(
        e.iter().any(|m| m.contains("mfa.identity: missing")),
        "{e:?}"
    );
    // The typed name, knowingly.
    let typed = normalize_only.replace("        normalize: [nfkc]\n", "        typed_name: true\n");
    let c = load(&typed).unwrap();
    assert_eq!(
        c.apps[0].mfa.as_ref().unwrap().identity,
        crate::config::IdentitySource::LoginField
    );
    // Not beside another source.
    let both = format!("{GOOD}{MFA}").replace(
        "        whoami: { path: /me, json_pointer: /user }\n",
        "        whoami: { path: /me, json_pointer: /user }\n        typed_name: true\n",
    );
    let e = errors(&both);
    assert!(e.iter().any(|m| m.contains("at most one")), "{e:?}");
}

#[test]
fn a_login_rule_an_earlier_one_shadows_is_an_error_naming_both() {
    let shadowed = format!("{GOOD}{MFA}").replace(
        "      login:\n        - path: /login\n",
        "      login:\n        - path: /login\n          username_field: email\n          success:\n            set_cookie: sid\n        - path: /LOGIN/\n",
    );
    let e = errors(&shadowed);
    assert!(
        e.iter().any(|m| m.contains("mfa.login[1].path")
            && m.contains("never used")
            && m.contains("login[0]")),
        "{e:?}"
    );
    // Two rules on different paths, or a GET rule beside a POST one, are both used.
    let apart = format!("{GOOD}{MFA}").replace(
        "      login:\n        - path: /login\n",
        "      login:\n        - path: /signin\n          success:\n            set_cookie: sid\n        - path: /login\n",
    );
    assert!(load(&apart).is_ok());
}

fn enrollment_windows_are_read_and_their_mistakes_named() {
    // Apps of one realm share enrollments, so they enroll alike.
    let second = |enrollment: &str| {
        format!(
            "{GOOD}{MFA}      realm: staff\n      enrollment: invite\n  - name: api\n    hosts: [\"api.example.com\"]\n    upstream:\n      url: \"http://127.0.0.1:8001\"{}      realm: staff\n{enrollment}",
            MFA.trim_end_matches('\n').to_string() + "\n"
        )
    };
    assert!(load(&second("      enrollment: invite\n")).is_ok());
    let e = errors(&second("      enrollment: first_login\n"));
    assert!(
        e.iter().any(|e| e.contains("apps[1].mfa.enrollment: app \"django\" shares the realm \"staff\" but enrolls users differently")),
        "{e:?}"
    );

    let first = |yaml: &str| {
        let c = load(&format!("{GOOD}{MFA}{yaml}")).unwrap();
        match &c.apps[0].mfa.as_ref().unwrap().enrollment {
            Enrollment::FirstLogin(f) => f.clone(),
            other => panic!("{other:?}"),
        }
    };
    // The open-ended word: everyone, for ever.
    assert!(first("      enrollment: first_login\n").open_ended());
    // A date is the whole of that day, UTC; a time is that time.
    let f = first("      enrollment:\n        first_login: { until: 2027-01-31 }\n");
    let end_of_31st = crate::ops::time::parse_rfc3339("2027-02-01T00:00:00Z").unwrap();
    assert_eq!(f.until, Some(end_of_31st));
    assert!(f.admits("anyone", end_of_31st - 1, None) && !f.admits("anyone", end_of_31st, None));
    assert_eq!(f.otherwise, Closed::Invite);
    // A window from its opening, for some users; the rest refused.
    let f = first("      enrollment:\n        first_login:\n          for: 14d\n          users: [Alice]\n          pattern: \"^ops-\"\n        otherwise: refuse\n");
    let day = 86_400;
    assert_eq!(f.otherwise, Closed::Refuse);
    assert!(
        f.admits("alice", 100 + 13 * day, Some(100)),
        "names as the realm normalises them"
    );
    assert!(f.admits("ops-jane", 100, Some(100)));
    assert!(!f.admits("bob", 100, Some(100)), "not listed");
    assert!(!f.admits("alice", 100 + 14 * day, Some(100)), "window over");
    assert!(
        !f.admits("alice", 100, None),
        "a window that never opened admits nobody"
    );
    assert_eq!(f.ends(Some(100)), Some(100 + 14 * day));

    for (yaml, expected) in [
        (
            "      enrollment: anyone\n",
            "apps[0].mfa.enrollment: \"anyone\" is not an enrollment mode",
        ),
        (
            "      enrollment:\n        otherwise: refuse\n",
            "apps[0].mfa.enrollment.first_login: first_login is needed",
        ),
        (
            "      enrollment:\n        first_login: { until: next week }\n",
            "apps[0].mfa.enrollment.first_login.until: \"next week\" is not a date or time",
        ),
        (
            "      enrollment:\n        first_login: { for: soon }\n",
            "apps[0].mfa.enrollment.first_login.for: \"soon\" is not a duration",
        ),
        (
            "      enrollment:\n        first_login: { users: alice }\n",
            "apps[0].mfa.enrollment.first_login.users: a list of user names",
        ),
        (
            "      enrollment:\n        first_login: { pattern: \"(\" }\n",
            "apps[0].mfa.enrollment.first_login.pattern: not a valid regular expression",
        ),
        (
            "      enrollment:\n        first_login: { untill: 2027-01-31 }\n",
            "apps[0].mfa.enrollment.first_login.untill: unknown key",
        ),
        (
            "      enrollment:\n        first_login: {}\n",
            "apps[0].mfa.enrollment.first_login: give until, for, users or pattern",
        ),
        (
            "      enrollment:\n        first_login: { for: 1d }\n        otherwise: maybe\n",
            "apps[0].mfa.enrollment.otherwise: \"maybe\" is not what a closed enrollment does",
        ),
    ] {
        let e = errors(&format!("{GOOD}{MFA}{yaml}"));
        assert!(
            e.iter()
                .any(|e| e.starts_with("gateway.yaml:") && e.contains(expected)),
            "{yaml}: {e:?}"
        );
    }
}
