//! Reading a city's body as JSON without trusting it. Owns the strict parse
//! (one object, no duplicate keys, serde_json's nesting limit of 128) and the
//! field-by-field access that names every problem by its path and never lets
//! an unknown field (a typo such as `particpants`) pass unnoticed.
//!
//! Field names are accepted in their proto3 JSON form (`preferredWindow`) and,
//! as the proto3 JSON mapping requires of parsers, in their proto form
//! (`preferred_window`); `null` reads as absent.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

use super::rejection::{Reason, echo};

pub(crate) type Object = Map<String, Value>;

/// At most this many unknown fields are named per object; the rest are counted.
const UNKNOWN_FIELDS_NAMED: usize = 5;

/// Parses a body that must be one JSON object.
///
/// Nesting deeper than serde_json's recursion limit (128) fails here, before
/// any stack is at risk; a key given twice fails too, because readers that
/// keep the first and readers that keep the last would see different bodies.
pub(crate) fn parse_object(body: &[u8]) -> Result<Object, Reason> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = StrictValue
        .deserialize(&mut deserializer)
        .map_err(Reason::malformed)?;
    deserializer.end().map_err(Reason::malformed)?;
    match value {
        Value::Object(object) => Ok(object),
        other => Err(Reason::malformed(format!("it is {}", describe(&other)))),
    }
}

/// A `serde_json::Value` that refuses duplicate keys.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "the key {} is given twice",
                    echo(&key)
                )));
            }
            let value = map.next_value_seed(StrictValue)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// "a string", "an array", …: what a value is, for messages.
pub(crate) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A field of a body object: its proto3 JSON name and its proto name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field {
    pub json: &'static str,
    pub proto: &'static str,
}

impl Field {
    pub(crate) const fn new(json: &'static str, proto: &'static str) -> Self {
        Self { json, proto }
    }

    /// A field whose two names are the same (`reference`, `city`, …).
    pub(crate) const fn plain(name: &'static str) -> Self {
        Self::new(name, name)
    }
}

/// `prefix.name`, or `name` at the top.
pub(crate) fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// `prefix[i]`.
pub(crate) fn index(prefix: &str, i: usize) -> String {
    format!("{prefix}[{i}]")
}

/// An unknown key as it may appear in a field path: plain when it is a short
/// identifier, else quoted and capped like any echoed value.
fn key_in_path(key: &str) -> String {
    let plain = !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain { key.to_owned() } else { echo(key) }
}

/// One object of the body, its keys checked against the fields it may have.
#[derive(Debug)]
pub(crate) struct Fields<'a> {
    object: &'a Object,
    prefix: String,
}

impl<'a> Fields<'a> {
    /// Reads `object` at `prefix`, reporting every key that is none of `known`
    /// and every field given under both of its names.
    pub(crate) fn read(
        object: &'a Object,
        prefix: &str,
        known: &[Field],
        reasons: &mut Vec<Reason>,
    ) -> Self {
        let mut unknown: Vec<&String> = object
            .keys()
            .filter(|key| !known.iter().any(|f| f.json == *key || f.proto == *key))
            .collect();
        // Sorted, so the reasons do not depend on serde_json's map features.
        unknown.sort();
        for key in unknown.iter().take(UNKNOWN_FIELDS_NAMED) {
            reasons.push(Reason::invalid_field(
                join(prefix, &key_in_path(key)),
                "unknown field",
            ));
        }
        if unknown.len() > UNKNOWN_FIELDS_NAMED {
            reasons.push(Reason::invalid_field(
                prefix,
                format!(
                    "{} more unknown fields",
                    unknown.len() - UNKNOWN_FIELDS_NAMED
                ),
            ));
        }
        for field in known {
            if field.json != field.proto
                && object.contains_key(field.json)
                && object.contains_key(field.proto)
            {
                reasons.push(Reason::invalid_field(
                    join(prefix, field.json),
                    format!("given twice, as {} and as {}", field.json, field.proto),
                ));
            }
        }
        Self {
            object,
            prefix: prefix.to_owned(),
        }
    }

    /// The path of a field of this object.
    pub(crate) fn path(&self, field: Field) -> String {
        join(&self.prefix, field.json)
    }

    /// The field's value; `None` when absent or `null`.
    pub(crate) fn get(&self, field: Field) -> Option<&'a Value> {
        self.object
            .get(field.json)
            .or_else(|| self.object.get(field.proto))
            .filter(|v| !v.is_null())
    }

    /// The field's value, or an `INVALID_FIELD` "is required".
    pub(crate) fn required(&self, field: Field, reasons: &mut Vec<Reason>) -> Option<&'a Value> {
        let value = self.get(field);
        if value.is_none() {
            reasons.push(Reason::invalid_field(self.path(field), "is required"));
        }
        value
    }
}

fn wrong_type(path: &str, expected: &str, value: &Value) -> Reason {
    Reason::invalid_field(path, format!("must be {expected}, not {}", describe(value)))
}

pub(crate) fn as_str<'v>(
    value: &'v Value,
    path: &str,
    reasons: &mut Vec<Reason>,
) -> Option<&'v str> {
    match value {
        Value::String(s) => Some(s),
        other => {
            reasons.push(wrong_type(path, "a string", other));
            None
        }
    }
}

pub(crate) fn as_array<'v>(
    value: &'v Value,
    path: &str,
    reasons: &mut Vec<Reason>,
) -> Option<&'v [Value]> {
    match value {
        Value::Array(items) => Some(items),
        other => {
            reasons.push(wrong_type(path, "an array", other));
            None
        }
    }
}

pub(crate) fn as_object<'v>(
    value: &'v Value,
    path: &str,
    reasons: &mut Vec<Reason>,
) -> Option<&'v Object> {
    match value {
        Value::Object(object) => Some(object),
        other => {
            reasons.push(wrong_type(path, "an object", other));
            None
        }
    }
}

/// A whole number. `18.0` and `"18"` are refused: the contract writes counts
/// as JSON integers.
pub(crate) fn as_integer(value: &Value, path: &str, reasons: &mut Vec<Reason>) -> Option<i64> {
    match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.as_i64().unwrap_or(i64::MAX)),
        Value::Number(_) => {
            reasons.push(Reason::invalid_field(path, "must be a whole number"));
            None
        }
        other => {
            reasons.push(wrong_type(path, "a whole number", other));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rejection::RejectionCode;

    #[test]
    fn a_body_that_is_not_json_is_malformed() {
        let err = parse_object(b"{\"reference\": ").unwrap_err();
        assert_eq!(err.code, RejectionCode::Malformed);
        assert_eq!(err.field, "");
    }

    #[test]
    fn a_json_value_that_is_not_an_object_is_malformed() {
        for body in [&b"[]"[..], b"\"text\"", b"42", b"null", b"true"] {
            let err = parse_object(body).unwrap_err();
            assert_eq!(err.code, RejectionCode::Malformed, "{body:?}");
        }
    }

    #[test]
    fn trailing_content_after_the_object_is_malformed() {
        let err = parse_object(br#"{"a": 1} {"b": 2}"#).unwrap_err();
        assert_eq!(err.code, RejectionCode::Malformed);
    }

    #[test]
    fn a_key_given_twice_is_malformed_whichever_reader_would_win() {
        let err = parse_object(br#"{"city": "makassar", "city": "colombo"}"#).unwrap_err();
        assert_eq!(err.code, RejectionCode::Malformed);
        assert!(err.message.contains("given twice"), "{}", err.message);
    }

    #[test]
    fn nesting_past_the_recursion_limit_is_malformed_not_a_stack_overflow() {
        let depth = 60_000;
        let mut body = String::from("{\"a\":");
        body.push_str(&"[".repeat(depth));
        body.push_str(&"]".repeat(depth));
        body.push('}');
        let err = parse_object(body.as_bytes()).unwrap_err();
        assert_eq!(err.code, RejectionCode::Malformed);
        assert!(err.message.contains("recursion limit"), "{}", err.message);
    }

    #[test]
    fn nesting_within_the_limit_parses() {
        let depth = 100;
        let body = format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
        assert!(parse_object(body.as_bytes()).is_ok());
    }

    #[test]
    fn a_lone_surrogate_escape_is_malformed() {
        let err = parse_object(br#"{"a": "\ud800"}"#).unwrap_err();
        assert_eq!(err.code, RejectionCode::Malformed);
    }

    #[test]
    fn unknown_keys_are_named_with_their_path_and_counted_past_five() {
        let object = parse_object(
            br#"{"known": 1, "particpants": 2, "b": 3, "c": 4, "d": 5, "e": 6, "f": 7, "g": 8}"#,
        )
        .unwrap();
        let mut reasons = Vec::new();
        Fields::read(&object, "contact", &[Field::plain("known")], &mut reasons);
        assert_eq!(reasons.len(), 6, "{reasons:?}");
        assert!(
            reasons
                .iter()
                .all(|r| r.code == RejectionCode::InvalidField)
        );
        // Keys are read in sorted order: the first five unknown are named.
        let named: Vec<&str> = reasons[..5].iter().map(|r| r.field.as_str()).collect();
        assert_eq!(
            named,
            [
                "contact.b",
                "contact.c",
                "contact.d",
                "contact.e",
                "contact.f"
            ]
        );
        assert_eq!(reasons[5].field, "contact");
        assert!(reasons[5].message.contains("2 more"));
    }

    #[test]
    fn an_unknown_key_of_a_megabyte_is_not_echoed_whole() {
        let key = "k".repeat(1_000_000);
        let mut object = Object::new();
        object.insert(key, Value::Null);
        let mut reasons = Vec::new();
        Fields::read(&object, "", &[], &mut reasons);
        assert!(reasons[0].field.len() < 100);
    }

    #[test]
    fn both_proto3_json_names_are_read_and_null_is_absent() {
        let object =
            parse_object(br#"{"preferred_window": {"start": "x"}, "participants": null}"#).unwrap();
        let mut reasons = Vec::new();
        let window = Field::new("preferredWindow", "preferred_window");
        let participants = Field::plain("participants");
        let fields = Fields::read(&object, "", &[window, participants], &mut reasons);
        assert!(reasons.is_empty());
        assert!(fields.get(window).is_some());
        assert!(fields.get(participants).is_none());
        assert!(fields.required(participants, &mut reasons).is_none());
        assert_eq!(reasons[0].field, "participants");
    }

    #[test]
    fn a_field_given_under_both_names_is_invalid() {
        let object = parse_object(br#"{"preferred_window": {}, "preferredWindow": {}}"#).unwrap();
        let mut reasons = Vec::new();
        let window = Field::new("preferredWindow", "preferred_window");
        Fields::read(&object, "", &[window], &mut reasons);
        assert_eq!(reasons.len(), 1);
        assert_eq!(reasons[0].field, "preferredWindow");
    }

    #[test]
    fn wrong_types_name_what_was_expected_and_what_came() {
        let mut reasons = Vec::new();
        assert!(as_str(&Value::from(3), "kind", &mut reasons).is_none());
        assert!(as_integer(&Value::from(1.5), "participants", &mut reasons).is_none());
        assert!(as_integer(&Value::from("12"), "participants", &mut reasons).is_none());
        assert!(as_array(&Value::from("x"), "topics", &mut reasons).is_none());
        assert!(as_object(&Value::from(true), "contact", &mut reasons).is_none());
        assert_eq!(reasons[0].message, "must be a string, not a number");
        assert_eq!(reasons.len(), 5);
        assert_eq!(as_integer(&Value::from(18), "p", &mut reasons), Some(18));
        assert_eq!(as_integer(&Value::from(-3), "p", &mut reasons), Some(-3));
        assert_eq!(
            as_integer(&Value::from(u64::MAX), "p", &mut reasons),
            Some(i64::MAX)
        );
    }
}
