//! Helpers shared by this crate's integration tests: a private `nats-server`
//! per test and settings pointing at it.

#![allow(dead_code)] // each test binary uses a different part

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};

use service_kit::Settings;

/// A port nobody listens on (bound, read, released).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A `nats-server` of our own on a free port, killed on drop.
pub struct NatsServer {
    pub port: u16,
    child: Child,
}

impl NatsServer {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    pub fn start_with(extra_args: &[&str]) -> Self {
        let port = closed_port();
        Self::start_on(port, extra_args)
    }

    pub fn start_on(port: u16, extra_args: &[&str]) -> Self {
        let child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .args(extra_args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server must be installed and on PATH for these tests");
        Self { port, child }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Settings from the given variables only (defaults for the rest).
pub fn settings(vars: &[(&str, String)]) -> Settings {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect();
    Settings::from_lookup(|name| vars.get(name).cloned())
        .expect("test settings are valid")
        .with_client_name("service-kit-test")
}

pub fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}
