//! Types generated from `proto/ileaps/**/v1/*.proto`.
//!
//! Each message derives `prost::Message` (binary) and serde (proto3 canonical
//! JSON: lowerCamelCase names, enums by name, RFC 3339 timestamps). Bodies on
//! NATS are the JSON form.

#![allow(
    missing_docs,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic,
    reason = "generated code"
)]

macro_rules! include_area {
    ($file:literal, $serde:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $file));
        include!(concat!(env!("OUT_DIR"), "/", $serde));
    };
}

pub mod common {
    pub mod v1 {
        include_area!("ileaps.common.v1.rs", "ileaps.common.v1.serde.rs");
    }
}
pub mod enquiry {
    pub mod v1 {
        include_area!("ileaps.enquiry.v1.rs", "ileaps.enquiry.v1.serde.rs");
    }
}
pub mod workshop {
    pub mod v1 {
        include_area!("ileaps.workshop.v1.rs", "ileaps.workshop.v1.serde.rs");
    }
}
pub mod assignment {
    pub mod v1 {
        include_area!("ileaps.assignment.v1.rs", "ileaps.assignment.v1.serde.rs");
    }
}
pub mod notification {
    pub mod v1 {
        include_area!(
            "ileaps.notification.v1.rs",
            "ileaps.notification.v1.serde.rs"
        );
    }
}
pub mod cityfeed {
    pub mod v1 {
        include_area!("ileaps.cityfeed.v1.rs", "ileaps.cityfeed.v1.serde.rs");
    }
}
pub mod query {
    pub mod v1 {
        include_area!("ileaps.query.v1.rs", "ileaps.query.v1.serde.rs");
    }
}

/// The compiled `FileDescriptorSet` of every proto file, for tools that want
/// reflection (the AsyncAPI generator, breaking-change checks).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/ileaps_descriptor.bin"));
