//! Assignment against a real Postgres and a real nats-server: the service
//! started as `ileaps run` starts it, fed `workshop.*` events as scheduling
//! publishes them, read back from `ILEAPS_EVENTS`.

mod helpers;
mod proposal;
mod race;
mod roster;
mod roster_feed;
mod staffing;
mod store;
