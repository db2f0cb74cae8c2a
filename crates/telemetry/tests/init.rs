//! `init` against the real process-wide subscriber: its own test binary, so
//! nothing else in the process has installed one first.

use telemetry::TelemetryError;

#[test]
fn init_installs_once_and_a_second_call_reports_instead_of_panicking() {
    let guard = telemetry::init("init-test").expect("the first init installs telemetry");

    {
        let span = tracing::info_span!("work");
        let _entered = span.enter();
        let (traceparent, _) = telemetry::current_traceparent()
            .expect("spans carry trace context without an exporter");
        assert!(traceparent.starts_with("00-"), "{traceparent}");
    }

    let second = telemetry::init("init-test");
    assert!(
        matches!(second, Err(TelemetryError::AlreadyInitialized(_))),
        "{second:?}"
    );

    // The first subscriber is still in place and still gives ids.
    let span = tracing::info_span!("more work");
    let _entered = span.enter();
    assert!(telemetry::current_traceparent().is_some());
    drop(_entered);

    guard.shutdown();
}
