//! [`eventually`]: waiting with a deadline, never a fixed sleep.

use std::future::Future;
use std::time::Duration;

/// How often a condition is polled.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Polls `f` about every 20 ms until it returns `Some`, and returns that.
/// Panics "timed out after {deadline:?} waiting for {what}" when the deadline
/// passes first, including when one call of `f` itself hangs past it.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let until = tokio::time::Instant::now() + deadline;
    loop {
        let remaining = until.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(remaining, f()).await {
            Ok(Some(value)) => return value,
            Ok(None) if tokio::time::Instant::now() + POLL_INTERVAL < until => {
                tokio::time::sleep(POLL_INTERVAL).await;
            }
            Ok(None) | Err(_) => panic!("timed out after {deadline:?} waiting for {what}"),
        }
    }
}
