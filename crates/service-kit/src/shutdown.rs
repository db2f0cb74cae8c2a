//! Owns how a service learns it should stop: SIGTERM or SIGINT.

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// Exit status after a second signal, the shell's convention for "interrupted".
const FORCED_EXIT_CODE: i32 = 130;

/// A token cancelled by the first SIGTERM or SIGINT, so the service stops
/// taking work and finishes what it holds. A second signal exits the process
/// at once with status 130, for when finishing takes too long for whoever is
/// waiting (a person pressing Ctrl-C twice, or an orchestrator).
///
/// Make it once, in `main`, and pass it (or child tokens) down.
///
/// # Panics
///
/// Outside a Tokio runtime, like `tokio::spawn`.
pub fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    // Registered here, before returning, so a signal that arrives right after
    // start-up is not missed.
    let (terminate, interrupt) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(terminate), Ok(interrupt)) => (terminate, interrupt),
        (Err(error), _) | (_, Err(error)) => {
            tracing::error!(
                error = &error as &dyn std::error::Error,
                "cannot listen for SIGTERM/SIGINT; the service will not stop gracefully"
            );
            return token;
        }
    };
    tokio::spawn(watch(terminate, interrupt, token.clone()));
    token
}

async fn watch(mut terminate: Signal, mut interrupt: Signal, token: CancellationToken) {
    let first = next_signal(&mut terminate, &mut interrupt).await;
    tracing::info!(
        signal = first,
        "shutting down: finishing the work in hand (signal again to exit at once)"
    );
    token.cancel();

    let second = next_signal(&mut terminate, &mut interrupt).await;
    tracing::warn!(signal = second, "second signal: exiting at once");
    std::process::exit(FORCED_EXIT_CODE);
}

async fn next_signal(terminate: &mut Signal, interrupt: &mut Signal) -> &'static str {
    tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    }
}
