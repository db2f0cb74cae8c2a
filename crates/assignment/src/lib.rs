//! The assignment service: staffs each workshop or mission with a LEAD
//! expert, and a SUPPORT expert when its size calls for one.
//!
//! # Layout
//!
//! - [`domain`]: the pure matching rules (DOMAIN.md "Expert assignment"):
//!   who qualifies, who is preferred, what a new workshop version keeps,
//!   adds and releases, and why a workshop stays unfilled. No I/O.
//! - [`roster`]: the expert roster file operators import, checked whole.

pub mod domain;
pub mod roster;
