//! How a webhook is signed, following Standard Webhooks
//! (<https://www.standardwebhooks.com/>) so integrators can check it with any
//! of that specification's libraries.
//!
//! Three headers go with every delivery: `webhook-id` (the same for every
//! attempt of one message, so receivers can drop duplicates),
//! `webhook-timestamp` (unix seconds of this attempt, so old captures cannot
//! be replayed) and `webhook-signature`: a space-separated list of
//! `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`. A list, so that a
//! secret can be rotated by signing with the old and the new one for a while.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::Sha256;
use std::time::Duration;

/// The header carrying the message id.
pub const ID_HEADER: &str = "webhook-id";
/// The header carrying the attempt's unix time in seconds.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The header carrying the signatures.
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// How a secret is written: this prefix, then standard base64 of the key.
const PREFIX: &str = "whsec_";
/// Shorter keys make HMAC guessable in practice; the specification asks for
/// 24 to 64 bytes.
pub const MIN_KEY_LEN: usize = 24;
/// Longer keys gain nothing (HMAC-SHA256 hashes keys over 64 bytes anyway).
pub const MAX_KEY_LEN: usize = 64;
/// The length of keys made by [`WebhookSecret::generate`].
pub const GENERATED_KEY_LEN: usize = 32;
/// The signature scheme this module writes and reads (symmetric HMAC-SHA256).
const SCHEME: &str = "v1";

type HmacSha256 = Hmac<Sha256>;

/// An endpoint's secret, `whsec_` followed by base64 of 24 to 64 bytes.
///
/// Deliberately without `Display`, and `Debug` shows nothing of the key, so it
/// cannot end up in a log line by accident; [`WebhookSecret::to_text`] is the
/// one explicit way to write it out.
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

/// Why a secret or a signature was refused. Messages never quote the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("a webhook secret must start with \"whsec_\"")]
    MissingPrefix,
    #[error("the webhook secret after \"whsec_\" is not valid standard base64")]
    InvalidBase64,
    #[error("the webhook secret's key is {len} bytes long; at least {MIN_KEY_LEN} are needed")]
    KeyTooShort { len: usize },
    #[error("the webhook secret's key is {len} bytes long; at most {MAX_KEY_LEN} are allowed")]
    KeyTooLong { len: usize },
    #[error("webhook-timestamp is not a whole number of seconds since 1970-01-01T00:00:00Z")]
    InvalidTimestamp,
    #[error(
        "webhook-timestamp {timestamp} is {} s away from now ({now}), more than the {tolerance_secs} s allowed",
        now.abs_diff(*timestamp)
    )]
    TimestampOutOfTolerance {
        timestamp: i64,
        now: i64,
        tolerance_secs: u64,
    },
    #[error("webhook-signature holds no v1 signature")]
    NoSignature,
    #[error("no v1 signature in webhook-signature matches the message")]
    Mismatch,
}

impl WebhookSecret {
    /// Reads a secret as operators give it: `whsec_<base64 of the key>`.
    pub fn parse(text: &str) -> Result<Self, SignatureError> {
        let encoded = text
            .trim()
            .strip_prefix(PREFIX)
            .ok_or(SignatureError::MissingPrefix)?;
        let key = BASE64
            .decode(encoded)
            .map_err(|_| SignatureError::InvalidBase64)?;
        Self::from_key(key)
    }

    /// A secret from raw key bytes, checked for length.
    pub fn from_key(key: Vec<u8>) -> Result<Self, SignatureError> {
        match key.len() {
            len if len < MIN_KEY_LEN => Err(SignatureError::KeyTooShort { len }),
            len if len > MAX_KEY_LEN => Err(SignatureError::KeyTooLong { len }),
            _ => Ok(WebhookSecret(key)),
        }
    }

    /// A fresh random secret of 32 bytes from the thread's cryptographically
    /// secure generator, for endpoints whose operator gave none.
    pub fn generate() -> Self {
        let mut key = vec![0u8; GENERATED_KEY_LEN];
        rand::rng().fill_bytes(&mut key);
        WebhookSecret(key)
    }

    /// The secret as operators store and share it: `whsec_<base64>`. Handle
    /// with care: this is the one way the key leaves this type.
    pub fn to_text(&self) -> String {
        format!("{PREFIX}{}", BASE64.encode(&self.0))
    }

    /// The `webhook-signature` header value for one attempt: `v1,<base64>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = self
            .mac(id, &timestamp.to_string(), body)
            .finalize()
            .into_bytes();
        format!("{SCHEME},{}", BASE64.encode(tag))
    }

    /// Checks a delivery as a receiver would: the timestamp must be within
    /// `tolerance` of `now` (both unix seconds), and at least one `v1`
    /// signature of the space-separated list must match, compared in constant
    /// time. Entries of other schemes (e.g. `v1a`) are skipped.
    pub fn verify(
        &self,
        id: &str,
        timestamp_header: &str,
        signature_header: &str,
        body: &[u8],
        now: i64,
        tolerance: Duration,
    ) -> Result<(), SignatureError> {
        let timestamp = parse_timestamp(timestamp_header)?;
        check_tolerance(timestamp, now, tolerance)?;
        let mut candidates = v1_signatures(signature_header).peekable();
        if candidates.peek().is_none() {
            return Err(SignatureError::NoSignature);
        }
        let matches = candidates.any(|encoded| {
            BASE64.decode(encoded).is_ok_and(|tag| {
                self.mac(id, timestamp_header, body)
                    .verify_slice(&tag)
                    .is_ok()
            })
        });
        if matches {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }

    /// HMAC-SHA256 keyed with the secret over `{id}.{timestamp}.{body}`. The
    /// timestamp is taken as text: a receiver signs the header exactly as it
    /// arrived, not a re-formatted number.
    fn mac(&self, id: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
        // Keys of every length are accepted by HMAC; ours are 24-64 bytes.
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

fn parse_timestamp(header: &str) -> Result<i64, SignatureError> {
    header.parse().map_err(|_| SignatureError::InvalidTimestamp)
}

/// Refuses timestamps too far in the past (a replay) or in the future (a
/// clock far off, or a capture prepared for later).
fn check_tolerance(timestamp: i64, now: i64, tolerance: Duration) -> Result<(), SignatureError> {
    let tolerance_secs = tolerance.as_secs();
    if now.abs_diff(timestamp) > tolerance_secs {
        return Err(SignatureError::TimestampOutOfTolerance {
            timestamp,
            now,
            tolerance_secs,
        });
    }
    Ok(())
}

/// The base64 parts of the `v1,…` entries of a signature header.
fn v1_signatures(header: &str) -> impl Iterator<Item = &str> {
    header
        .split_whitespace()
        .filter_map(|entry| entry.split_once(','))
        .filter(|(scheme, _)| *scheme == SCHEME)
        .map(|(_, encoded)| encoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FIVE_MINUTES: Duration = Duration::from_secs(300);

    /// Key: the 32 ASCII bytes `ileaps-test-key-0123456789abcdef`.
    const SECRET: &str = "whsec_aWxlYXBzLXRlc3Qta2V5LTAxMjM0NTY3ODlhYmNkZWY=";
    const ID: &str = "msg_01JH3Z8K6Q2V7M4N5P0R9S8T7U";
    const TIMESTAMP: i64 = 1_801_234_567;
    const BODY: &[u8] = br#"{"type":"ileaps.workshop.confirmed.v1","reference":"MKS-2027-014"}"#;
    /// Computed independently with Python 3:
    /// `base64.b64encode(hmac.new(key, f"{ID}.{TIMESTAMP}.".encode() + BODY,
    /// hashlib.sha256).digest())`.
    const EXPECTED: &str = "v1,VtbvMZMuxmJr3EiT2ZnB1pQupzFinE75Gbg41BnDch0=";

    fn secret() -> WebhookSecret {
        WebhookSecret::parse(SECRET).unwrap()
    }

    #[test]
    fn signing_matches_an_independently_computed_vector() {
        assert_eq!(secret().sign(ID, TIMESTAMP, BODY), EXPECTED);
    }

    #[test]
    fn signing_matches_the_specification_example() {
        // The worked example of the Standard Webhooks specification, checked
        // with the same Python 3 expression as above.
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = secret.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_genuine_delivery_verifies() {
        let result = secret().verify(
            ID,
            "1801234567",
            EXPECTED,
            BODY,
            TIMESTAMP + 10,
            FIVE_MINUTES,
        );
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn a_tampered_body_id_or_timestamp_fails() {
        let s = secret();
        let now = TIMESTAMP;
        let tampered_body =
            br#"{"type":"ileaps.workshop.confirmed.v1","reference":"MKS-2027-015"}"#;
        assert_eq!(
            s.verify(ID, "1801234567", EXPECTED, tampered_body, now, FIVE_MINUTES),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            s.verify("msg_other", "1801234567", EXPECTED, BODY, now, FIVE_MINUTES),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            s.verify(ID, "1801234568", EXPECTED, BODY, now, FIVE_MINUTES),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn another_secret_fails() {
        let other = WebhookSecret::generate();
        assert_eq!(
            other.verify(ID, "1801234567", EXPECTED, BODY, TIMESTAMP, FIVE_MINUTES),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn any_matching_v1_signature_in_the_list_is_enough() {
        let header = format!("v1a,c29tZXRoaW5n v1,bm90IGl0 v1,!!notbase64 {EXPECTED}");
        let result = secret().verify(ID, "1801234567", &header, BODY, TIMESTAMP, FIVE_MINUTES);
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn a_header_without_v1_signatures_is_refused() {
        for header in ["", "   ", "v1a,c29tZXRoaW5n", "v2,abc", "garbage"] {
            assert_eq!(
                secret().verify(ID, "1801234567", header, BODY, TIMESTAMP, FIVE_MINUTES),
                Err(SignatureError::NoSignature),
                "{header:?}"
            );
        }
    }

    #[test]
    fn timestamps_outside_the_tolerance_are_refused() {
        let s = secret();
        let late = s.verify(
            ID,
            "1801234567",
            EXPECTED,
            BODY,
            TIMESTAMP + 301,
            FIVE_MINUTES,
        );
        assert_eq!(
            late,
            Err(SignatureError::TimestampOutOfTolerance {
                timestamp: TIMESTAMP,
                now: TIMESTAMP + 301,
                tolerance_secs: 300
            })
        );
        assert!(late.unwrap_err().to_string().contains("301 s away"));
        let early = s.verify(
            ID,
            "1801234567",
            EXPECTED,
            BODY,
            TIMESTAMP - 301,
            FIVE_MINUTES,
        );
        assert!(matches!(
            early,
            Err(SignatureError::TimestampOutOfTolerance { .. })
        ));
        let edge = s.verify(
            ID,
            "1801234567",
            EXPECTED,
            BODY,
            TIMESTAMP + 300,
            FIVE_MINUTES,
        );
        assert_eq!(edge, Ok(()));
    }

    #[test]
    fn a_timestamp_that_is_not_a_number_is_refused() {
        for header in ["", "soon", "1.5", " 1801234567", "99999999999999999999999"] {
            assert_eq!(
                secret().verify(ID, header, EXPECTED, BODY, TIMESTAMP, FIVE_MINUTES),
                Err(SignatureError::InvalidTimestamp)
            );
        }
    }

    #[test]
    fn a_secret_without_the_prefix_is_refused() {
        let err = WebhookSecret::parse("aWxlYXBzLXRlc3Qta2V5LTAxMjM0NTY3ODlhYmNkZWY=").unwrap_err();
        assert_eq!(err, SignatureError::MissingPrefix);
        assert!(err.to_string().contains("whsec_"));
    }

    #[test]
    fn a_secret_that_is_not_base64_is_refused() {
        let err = WebhookSecret::parse("whsec_not*base64!").unwrap_err();
        assert_eq!(err, SignatureError::InvalidBase64);
        assert!(
            !err.to_string().contains("not*base64"),
            "never quotes the secret"
        );
    }

    #[test]
    fn keys_shorter_than_24_or_longer_than_64_bytes_are_refused() {
        let text = |len: usize| format!("whsec_{}", BASE64.encode(vec![7u8; len]));
        assert_eq!(
            WebhookSecret::parse(&text(23)).unwrap_err(),
            SignatureError::KeyTooShort { len: 23 }
        );
        assert_eq!(
            WebhookSecret::parse(&text(65)).unwrap_err(),
            SignatureError::KeyTooLong { len: 65 }
        );
        assert!(WebhookSecret::parse(&text(24)).is_ok());
        assert!(WebhookSecret::parse(&text(64)).is_ok());
        assert!(
            SignatureError::KeyTooShort { len: 23 }
                .to_string()
                .contains("at least 24")
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let shown = format!("{:?}", secret());
        assert_eq!(shown, "WebhookSecret(***)");
    }

    #[test]
    fn a_secret_survives_its_text_form() {
        assert_eq!(secret().to_text(), SECRET);
        let generated = WebhookSecret::generate();
        let again = WebhookSecret::parse(&generated.to_text()).unwrap();
        assert_eq!(again.0, generated.0);
        assert_eq!(generated.0.len(), GENERATED_KEY_LEN);
    }

    #[test]
    fn generated_secrets_differ() {
        assert_ne!(WebhookSecret::generate().0, WebhookSecret::generate().0);
    }

    proptest! {
        #[test]
        fn what_is_signed_verifies_and_a_changed_body_does_not(
            key in prop::collection::vec(any::<u8>(), MIN_KEY_LEN..=MAX_KEY_LEN),
            id in "[a-zA-Z0-9_.-]{1,40}",
            timestamp in 0i64..4_000_000_000,
            body in prop::collection::vec(any::<u8>(), 0..512),
            skew in -300i64..=300,
            flip in any::<prop::sample::Index>(),
        ) {
            let secret = WebhookSecret::from_key(key).unwrap();
            let signature = secret.sign(&id, timestamp, &body);
            let stamp = timestamp.to_string();
            prop_assert_eq!(
                secret.verify(&id, &stamp, &signature, &body, timestamp + skew, FIVE_MINUTES),
                Ok(())
            );
            let mut changed = body.clone();
            if changed.is_empty() {
                changed.push(0);
            } else {
                let at = flip.index(changed.len());
                changed[at] ^= 0x01;
            }
            prop_assert_eq!(
                secret.verify(&id, &stamp, &signature, &changed, timestamp, FIVE_MINUTES),
                Err(SignatureError::Mismatch)
            );
        }
    }
}
