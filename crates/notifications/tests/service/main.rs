//! Notifications against a real Postgres, a real nats-server, a real SMTP
//! server (aiosmtpd) and real HTTP receivers: the service started as
//! `ileaps run` starts it, fed events as the other services publish them,
//! and judged by what the peers received.

mod enquiries;
mod helpers;
mod reliability;
mod webhooks;
mod workshops;
