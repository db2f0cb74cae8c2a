//! [`city_headers`]: what a partner city puts on an inbound message.

use chrono::{SecondsFormat, Utc};
use contract::envelope::{
    APPLICATION_JSON, CONTENT_TYPE, ID, NATS_MSG_ID, SOURCE, SPECVERSION, SPECVERSION_1_0, TIME,
    TYPE,
};

/// CloudEvents 1.0 binary-mode headers from city `city`: a new UUIDv7
/// `ce-id`, `ce-source` `/cities/<city>`, `ce-type`, `ce-time` now,
/// `content-type: application/json`, and `Nats-Msg-Id` equal to `ce-id` (so
/// sending the same headers twice is deduplicated by JetStream).
pub fn city_headers(city: &str, ce_type: &str) -> async_nats::HeaderMap {
    let id = uuid::Uuid::now_v7().to_string();
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(SPECVERSION, SPECVERSION_1_0);
    headers.insert(ID, id.as_str());
    headers.insert(SOURCE, format!("/cities/{city}"));
    headers.insert(TYPE, ce_type);
    headers.insert(
        TIME,
        Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
    );
    headers.insert(CONTENT_TYPE, APPLICATION_JSON);
    headers.insert(NATS_MSG_ID, id.as_str());
    headers
}
