//! [`TestNats`]: a private nats-server per test.

use crate::paths::unique_dir;
use local_infra::{NatsOptions, NatsServer};
use std::time::Duration;

/// A private nats-server with JetStream, for one test. Its store lives in
/// `target/test-infra/nats-<uuid>` and is removed with it.
#[derive(Debug)]
pub struct TestNats {
    server: NatsServer,
}

impl TestNats {
    /// Starts the server. Panics, saying what to install, if nats-server is
    /// missing: a test that needs a broker never quietly skips.
    pub async fn start() -> TestNats {
        let dir = unique_dir("nats");
        match NatsServer::start_disposable(NatsOptions::new(&dir)).await {
            Ok(server) => TestNats { server },
            Err(error) => panic!(
                "this test needs a private nats-server (in {}) and could not start one: {error}",
                dir.display()
            ),
        }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// A client that reconnects quickly (within half a second) after the
    /// server is killed or restarted, so fault tests do not wait on backoff.
    pub async fn client(&self) -> async_nats::Client {
        async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis((50 * attempts as u64).min(500))
            })
            .connect(self.url())
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "could not connect to the test's nats-server at {}: {error}",
                    self.url()
                )
            })
    }

    /// A JetStream context on `client`.
    pub fn jetstream(&self, client: async_nats::Client) -> async_nats::jetstream::Context {
        async_nats::jetstream::new(client)
    }

    /// A JetStream context on a new [`client`](Self::client).
    pub async fn new_jetstream(&self) -> async_nats::jetstream::Context {
        self.jetstream(self.client().await)
    }

    /// The server itself, to kill, stop or restart it in fault tests.
    pub fn server(&mut self) -> &mut NatsServer {
        &mut self.server
    }
}
