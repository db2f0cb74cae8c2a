//! NATS headers as JSON, for the outbox's `headers` column and dead letters.

use async_nats::HeaderMap;
use serde_json::Value;

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
