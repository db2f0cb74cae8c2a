//! Black-box tests: the services as deployed, a city publishing with
//! CloudEvents headers, an integrator reading the stream. One test binary
//! (one link step) with a module per area.

mod health;
mod helpers;
mod intake;
mod journey;
mod migrate_only;
mod planning;
mod shutdown;
mod sigterm;
mod tracing;
