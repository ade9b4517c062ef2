//! Known answers, each read off the real stack (PHP 8.2.36, Rack 2.2.22, Django 5.2, Python
//! 3.11) or its source where it does not run here.

use super::{Jar, Stack};

fn pairs(jar: &Jar) -> Vec<(&str, &str)> {
    jar.pairs()
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

#[test]
fn php_mangles_names_keeps_the_first_and_drops_made_up_host_prefixes() {
    let read = |line| Stack::PhpModern.parse(line);
    assert_eq!(pairs(&read("a=b+c%41")), [("a", "b+cA")]);
    assert_eq!(pairs(&read("app[session.x=1")), [("app_session_x", "1")]);
    assert_eq!(
        pairs(&read("app[x.y]=2; ..Host-a=3; __Host-b=4; %41b=5")),
        [("app", "[array]"), ("__Host-b", "4"), ("%41b", "5")]
    );
    assert_eq!(pairs(&read("a=1; a=2")), [("a", "1")]);
    assert_eq!(pairs(&read("a=2; a[x]=1")), [("a", "[array]")]);
    assert_eq!(pairs(&read(" b =1")), [("b_", "1")]);
    assert_eq!(pairs(&read("x=1, y=2")), [("x", "1, y=2")]);
    let old = Stack::PhpLegacy.parse("PHPSESSID%00x=1; %41b=2; ..Host-a=3");
    assert_eq!(
        pairs(&old),
        [("PHPSESSID", "1"), ("Ab", "2"), ("__Host-a", "3")]
    );
}

#[test]
fn rack_keeps_names_as_sent_since_cve_2020_8184() {
    let jar = Stack::RackModern.parse("a=1;  %41=2; b =3;\tc=4; a=5");
    assert_eq!(
        pairs(&jar),
        [("a", "1"), ("%41", "2"), ("b ", "3"), ("\tc", "4")]
    );
    let old = Stack::RackLegacy.parse("a=1, %41=2; b+c=3");
    assert_eq!(pairs(&old), [("a", "1"), ("A", "2"), ("b c", "3")]);
}

#[test]
fn python_readers() {
    let django = Stack::Django.parse("a=1; a=2; b = \"x\\\"y\" ; c");
    assert_eq!(pairs(&django), [("a", "2"), ("b", "x\"y"), ("", "c")]);
    let simple = Stack::PythonSimpleCookie.parse("a=b sessionid=x; c=\"d;e\"");
    assert_eq!(
        pairs(&simple),
        [("a", "b"), ("sessionid", "x"), ("c", "d;e")]
    );
    assert!(Stack::PythonSimpleCookie
        .parse("a=b; junk")
        .pairs()
        .is_empty());
}

#[test]
fn tomcat_readers() {
    let jar = Stack::TomcatRfc6265.parse("a=1; b c=2; JSESSIONID=\"x\"; d");
    assert_eq!(pairs(&jar), [("a", "1"), ("JSESSIONID", "x"), ("d", "")]);
    let legacy = Stack::TomcatLegacy.parse("\"JSESSIONID=x; =y=1, $Path=/; (z)=2");
    assert_eq!(pairs(&legacy), [("JSESSIONID", "x"), ("y", "1")]);
}

#[test]
fn aspnet_core_retries_after_a_failed_pair_and_ignores_case() {
    let jar = Stack::AspNetCore.parse("a=b\"sessionid=x; SESSIONID=y; [c=1");
    assert_eq!(jar.get("SessionId"), Some("y"));
    assert_eq!(jar.get("c"), Some("1"));
    let decoding = Stack::AspNetCoreDecodingNames.parse("%C5%BFessionid=z");
    assert_eq!(decoding.get("SESSIONID"), Some("z"));
}

#[test]
fn go_and_node() {
    let go = Stack::Go.parse(" a=\"1\"; b c=2; a=3; d=x\\y");
    assert_eq!(pairs(&go), [("a", "1")]);
    let node = Stack::NodeCookie.parse("a=%41; a=2; b; c =3");
    assert_eq!(pairs(&node), [("a", "A"), ("c", "3")]);
}
