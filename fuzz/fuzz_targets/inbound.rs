//! Fuzzes intake's inbound decoding and validation: subject, CloudEvents
//! headers (`Envelope::from_headers`) and body (`classify_inbound`), with
//! invariants checked on every outcome. The harness is `ileaps_fuzz::run`
//! (`../src/lib.rs`); `../README.md` says how to run it.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ileaps_fuzz::run(data));
