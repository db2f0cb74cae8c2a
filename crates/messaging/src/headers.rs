//! NATS headers stored in Postgres: as `name: value` lines for the outbox,
//! and as JSON for dead letters, which operators read.

use async_nats::HeaderMap;
use async_nats::header::{HeaderName, HeaderValue};
use contract::envelope::HEADER_NAMES;
use serde_json::Value;

/// Each header as a `name: value\r\n` line, as NATS itself writes them: the
/// outbox's `headers` column. Neither side parses JSON for it, which the relay
/// did once per row.
pub fn to_lines<N, V>(pairs: impl IntoIterator<Item = (N, V)>) -> Vec<u8>
where
    N: AsRef<str>,
    V: AsRef<str>,
{
    let mut lines = Vec::with_capacity(512);
    for (name, value) in pairs {
        lines.extend_from_slice(name.as_ref().as_bytes());
        lines.extend_from_slice(b": ");
        lines.extend_from_slice(value.as_ref().as_bytes());
        lines.extend_from_slice(b"\r\n");
    }
    lines
}

/// The inverse of [`to_lines`]. A line that is not a valid header (a row
/// edited by hand, say) is skipped rather than failing the whole message.
pub fn from_lines(lines: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let Ok(text) = std::str::from_utf8(lines) else {
        return headers;
    };
    for line in text.split("\r\n") {
        let Some((name, value)) = line.split_once(": ").filter(|(name, _)| !name.is_empty()) else {
            continue;
        };
        // The envelope's own names are known valid: no check, no copy.
        let name = match HEADER_NAMES.iter().find(|known| **known == name) {
            Some(known) => HeaderName::from_static(known),
            None => match name.parse::<HeaderName>() {
                Ok(name) => name,
                Err(_) => continue,
            },
        };
        if let Ok(value) = value.parse::<HeaderValue>() {
            headers.append(name, value);
        }
    }
    headers
}

/// `[[name, value], ...]`, sorted by name so equal headers give equal JSON.
pub fn to_json(headers: &HeaderMap) -> Value {
    let mut pairs: Vec<(String, String)> = headers
        .iter()
        .flat_map(|(name, values)| {
            values
                .iter()
                .map(move |v| (name.to_string(), v.as_str().to_owned()))
        })
        .collect();
    pairs.sort();
    Value::Array(
        pairs
            .into_iter()
            .map(|(n, v)| Value::Array(vec![Value::String(n), Value::String(v)]))
            .collect(),
    )
}

/// The inverse of [`to_json`]; entries of another shape are skipped.
pub fn from_json(json: &Value) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for pair in json.as_array().into_iter().flatten() {
        if let Some([Value::String(name), Value::String(value)]) =
            pair.as_array().map(Vec::as_slice)
        {
            headers.append(name.as_str(), value.as_str());
        }
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_survive_lines_including_repeated_names_and_colons_in_values() {
        let mut headers = HeaderMap::new();
        headers.insert("ce-id", "1");
        headers.insert(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        );
        headers.insert("ce-source", "urn:ileaps:intake");
        headers.append("x-multi", "a");
        headers.append("x-multi", "b");
        let pairs = headers.iter().flat_map(|(name, values)| {
            values
                .iter()
                .map(move |value| (name.to_string(), value.as_str()))
        });
        let back = from_lines(&to_lines(pairs));
        assert_eq!(back.get("ce-id").unwrap().as_str(), "1");
        assert_eq!(back.get("ce-source").unwrap().as_str(), "urn:ileaps:intake");
        assert_eq!(
            back.get("traceparent").unwrap().as_str(),
            headers.get("traceparent").unwrap().as_str()
        );
        let multi: Vec<_> = back
            .get_all("x-multi")
            .map(|v| v.as_str().to_owned())
            .collect();
        assert_eq!(multi, ["a", "b"]);
    }

    #[test]
    fn malformed_header_lines_are_skipped_and_the_rest_kept() {
        let back =
            from_lines(b"ce-id: 7\r\nno separator\r\nbad:name: x\r\n: empty\r\nce-type: t\r\n");
        assert_eq!(back.get("ce-id").unwrap().as_str(), "7");
        assert_eq!(back.get("ce-type").unwrap().as_str(), "t");
        assert_eq!(back.iter().count(), 2);
        assert_eq!(from_lines(&[0xff, 0xfe]).iter().count(), 0);
    }

    #[test]
    fn headers_survive_json_including_repeated_names() {
        let mut headers = HeaderMap::new();
        headers.insert("ce-id", "1");
        headers.append("x-multi", "a");
        headers.append("x-multi", "b");
        let back = from_json(&to_json(&headers));
        assert_eq!(back.get("ce-id").unwrap().as_str(), "1");
        let multi: Vec<_> = back
            .get_all("x-multi")
            .map(|v| v.as_str().to_owned())
            .collect();
        assert_eq!(multi, ["a", "b"]);
    }
}
