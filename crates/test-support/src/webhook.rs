//! [`WebhookReceiver`]: a real HTTP server standing in for an integrator's
//! webhook endpoint. It records every request and answers with a scripted
//! sequence of statuses, so tests can see retries, refusals and timeouts.

use crate::wait::eventually;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use chrono::{DateTime, Utc};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

/// An HTTP server on 127.0.0.1 (a port the system picks), stopped when
/// dropped.
#[derive(Debug)]
pub struct WebhookReceiver {
    address: SocketAddr,
    state: Arc<Mutex<Script>>,
    server: JoinHandle<()>,
}

/// One request as the receiver got it.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    pub method: String,
    /// The path and query, e.g. `/hooks/ileaps?x=1`.
    pub path: String,
    /// Every header, names lower-cased, values as sent (lossy UTF-8).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When the receiver started handling it.
    pub received_at: DateTime<Utc>,
    /// The status it was answered with.
    pub status: u16,
}

impl ReceivedRequest {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// What the receiver answers, and what it got.
#[derive(Debug)]
struct Script {
    /// Statuses still to give; the last one repeats forever.
    statuses: VecDeque<StatusCode>,
    /// How long to wait before answering (a slow endpoint).
    delay: Duration,
    requests: Vec<ReceivedRequest>,
}

impl Script {
    /// The status for the next request: the front of the queue, or the last
    /// one again when only it is left.
    fn next_status(&mut self) -> StatusCode {
        if self.statuses.len() > 1 {
            self.statuses
                .pop_front()
                .expect("more than one status left")
        } else {
            *self.statuses.front().expect("at least one status")
        }
    }
}

impl WebhookReceiver {
    /// Starts a receiver answering `statuses` in turn, e.g. `[500, 200]`
    /// (one failure, then success for ever) or `[410]`. Panics on an empty
    /// list or an invalid status.
    pub async fn start(statuses: impl IntoIterator<Item = u16>) -> WebhookReceiver {
        Self::start_with_delay(statuses, Duration::ZERO).await
    }

    /// Like [`start`](Self::start), waiting `delay` before each answer: an
    /// endpoint slower than the sender's timeout. The request is recorded
    /// before the wait.
    pub async fn start_with_delay(
        statuses: impl IntoIterator<Item = u16>,
        delay: Duration,
    ) -> WebhookReceiver {
        let statuses: VecDeque<StatusCode> = statuses
            .into_iter()
            .map(|code| StatusCode::from_u16(code).expect("a valid HTTP status"))
            .collect();
        assert!(
            !statuses.is_empty(),
            "the receiver needs a status to answer"
        );
        let state = Arc::new(Mutex::new(Script {
            statuses,
            delay,
            requests: Vec::new(),
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the webhook receiver on 127.0.0.1");
        let address = listener.local_addr().expect("the receiver's address");
        let app = Router::new().fallback(record).with_state(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the webhook receiver serves until dropped");
        });
        WebhookReceiver {
            address,
            state,
            server,
        }
    }

    /// `http://127.0.0.1:<port>/webhook`; any path is answered the same.
    pub fn url(&self) -> String {
        format!("http://{}/webhook", self.address)
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.state.lock().expect("receiver state").requests.clone()
    }

    /// Waits until at least `count` requests arrived and returns them all;
    /// panics when `deadline` passes first.
    pub async fn wait_for(&self, count: usize, deadline: Duration) -> Vec<ReceivedRequest> {
        let what = format!("{count} request(s) at the webhook receiver");
        eventually(&what, deadline, || async {
            let requests = self.requests();
            (requests.len() >= count).then_some(requests)
        })
        .await
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The one handler: records the request, then answers the scripted status.
async fn record(
    State(state): State<Arc<Mutex<Script>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let received_at = Utc::now();
    let (status, delay) = {
        let mut script = state.lock().expect("receiver state");
        let status = script.next_status();
        script.requests.push(ReceivedRequest {
            method: method.to_string(),
            path: uri
                .path_and_query()
                .map_or_else(|| uri.path().to_owned(), ToString::to_string),
            headers: headers
                .iter()
                .map(|(name, value)| {
                    let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                    (name.as_str().to_owned(), value)
                })
                .collect(),
            body: body.to_vec(),
            received_at,
            status: status.as_u16(),
        });
        (status, script.delay)
    };
    if !delay.is_zero() {
        // A slow endpoint, not a wait for something.
        tokio::time::sleep(delay).await;
    }
    status
}
