//! Scheduling as deployed: its binary's start-up on a private nats-server
//! and a fresh database, fed the events intake and assignment publish.

mod helpers;
mod holidays;
mod optimiser;
mod planning;
mod redelivery;
mod roster;
mod settings;
mod staffing;
mod withdrawal;
