//! The scheduling service: accepted enquiries in, planned workshops and
//! missions out.
//!
//! # Layout
//!
//! - [`domain`]: the pure planning rules (what each kind becomes, lead time,
//!   windows, working hours, joining, programme capacity). No I/O, no clock.

pub mod domain;
