//! [`city_headers`]: what a partner city puts on an inbound message.

/// CloudEvents 1.0 binary-mode headers from city `city`: a new UUIDv7
/// `ce-id`, `ce-source` `/cities/<city>`, `ce-type`, `ce-time` now,
/// `content-type: application/json`, and `Nats-Msg-Id` equal to `ce-id` (so
/// sending the same headers twice is deduplicated by JetStream).
///
/// `city` need not be a valid code: tests send what careless cities send.
pub fn city_headers(city: &str, ce_type: &str) -> async_nats::HeaderMap {
    let mut envelope = contract::Envelope::from_city(
        &contract::CityCode::parse("placeholder").expect("a valid code"),
        ce_type,
    );
    envelope.source = format!("/cities/{city}");
    envelope.to_headers()
}
