//! Named points inside a change where the crash tests stop the process as `kill -9` would
//! (`FAILPOINTS=<name>=return`), to prove that no crash between two steps loses a confirmed
//! enrollment, spends a code twice, releases a login without a code or leaves a change the
//! audit trail does not know of. Compiled in only with the `failpoints` feature (the test
//! command's build); elsewhere a point is nothing.

// A build with crash points aborts wherever `FAILPOINTS` says: never one to ship.
#[cfg(all(feature = "failpoints", not(debug_assertions)))]
compile_error!(
    "the failpoints feature is for test builds only (it lets FAILPOINTS abort the process)"
);

/// Stops the process here when a test named this point.
#[inline(always)]
pub fn point(name: &'static str) {
    #[cfg(feature = "failpoints")]
    fail::eval(name, |_| std::process::abort());
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}

/// Reads the points a test named (`FAILPOINTS`) for the life of the process.
#[cfg(feature = "failpoints")]
pub fn setup() -> fail::FailScenario<'static> {
    if std::env::var_os("FAILPOINTS").is_some() {
        eprintln!(
            "mfa-gateway: a test build with crash points named in FAILPOINTS: it will abort there"
        );
    }
    fail::FailScenario::setup()
}
