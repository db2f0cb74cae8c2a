//! The email and webhook senders against real peers: an SMTP server
//! (aiosmtpd, see `test_support::smtp`) and HTTP receivers
//! (`test_support::webhook`). Each test starts its own.

mod email;
mod webhook;

use std::time::Duration;

/// How long a test waits for a peer to have received something.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("bind a free port")
}
