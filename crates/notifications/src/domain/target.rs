//! Which webhook targets notifications may call. A webhook makes this service
//! send requests to addresses an operator typed in, so without rules it could
//! be pointed at the service's own network: the database, the NATS monitoring
//! port, a cloud metadata endpoint (server-side request forgery). Targets are
//! checked twice: their URL when an endpoint is registered
//! ([`check_target_url`]), and the addresses its host name resolves to before
//! every delivery ([`check_resolved`]), because DNS can change its answer
//! after registration (DNS rebinding).
//!
//! Operators who really mean a private endpoint (a receiver in the same
//! network, a test) say so with `allow_private`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

/// How the operator overrides the private-address rule.
const OVERRIDE_HINT: &str = "add the endpoint with --allow-private if that is intended";

/// A block of addresses that is not reachable on the public internet, or not
/// meant to be called: why a target was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonPublicRange {
    /// What the block is, as it reads after "is in": "a private range".
    pub what: &'static str,
    /// The block in CIDR notation.
    pub cidr: &'static str,
}

impl fmt::Display for NonPublicRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.what, self.cidr)
    }
}

/// Why a webhook target was refused. URLs in messages never show credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("the webhook URL is not a valid URL: {0}")]
    InvalidUrl(url::ParseError),
    #[error("{url}: only http and https webhook URLs are allowed, not {scheme}")]
    UnsupportedScheme { url: String, scheme: String },
    #[error("{url} has no host")]
    MissingHost { url: String },
    #[error(
        "{url} carries credentials before the host; they would be stored and logged with \
         the URL, so they are refused: the receiver can check the webhook-signature instead"
    )]
    Credentials {
        /// The URL with the credentials removed.
        url: String,
    },
    #[error("{url} is in {range}; {OVERRIDE_HINT}")]
    NotPublic {
        url: String,
        address: IpAddr,
        range: NonPublicRange,
    },
    #[error("{url} names this machine (localhost); {OVERRIDE_HINT}")]
    Localhost { url: String },
    #[error("the webhook host resolves to {address}, which is in {range}; {OVERRIDE_HINT}")]
    ResolvedNotPublic {
        address: IpAddr,
        range: NonPublicRange,
    },
    #[error("the webhook host resolves to no address")]
    NoAddress,
}

/// Checks a webhook URL when an endpoint is registered: http or https, a
/// host, no credentials, and a public address when the host is an IP
/// literal (unless `allow_private`). Host names are checked again, after
/// resolution, by [`check_resolved`].
pub fn check_target_url(url: &str, allow_private: bool) -> Result<Url, TargetError> {
    let parsed = Url::parse(url.trim()).map_err(TargetError::InvalidUrl)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(TargetError::UnsupportedScheme {
            url: without_credentials(&parsed),
            scheme: parsed.scheme().to_owned(),
        });
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(TargetError::Credentials {
            url: without_credentials(&parsed),
        });
    }
    let host = parsed.host().ok_or_else(|| TargetError::MissingHost {
        url: parsed.to_string(),
    })?;
    if !allow_private {
        check_host(&parsed, host)?;
    }
    Ok(parsed)
}

/// Checks the addresses a target's host resolved to, right before a
/// delivery: every one must be public (unless `allow_private`), since the
/// HTTP client may pick any of them.
pub fn check_resolved(host_addrs: &[IpAddr], allow_private: bool) -> Result<(), TargetError> {
    if host_addrs.is_empty() {
        return Err(TargetError::NoAddress);
    }
    if allow_private {
        return Ok(());
    }
    match host_addrs
        .iter()
        .find_map(|address| non_public_range(*address).map(|range| (*address, range)))
    {
        Some((address, range)) => Err(TargetError::ResolvedNotPublic { address, range }),
        None => Ok(()),
    }
}

/// Whether `ip` may be called as a webhook target without `allow_private`.
pub fn is_public_address(ip: IpAddr) -> bool {
    non_public_range(ip).is_none()
}

/// The non-public block `ip` lies in, if any. IPv6 addresses that carry an
/// IPv4 address (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64
/// `64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::`) are judged by that IPv4
/// address, since that is where packets to them end up.
pub fn non_public_range(ip: IpAddr) -> Option<NonPublicRange> {
    match ip {
        IpAddr::V4(v4) => v4_range(v4),
        IpAddr::V6(v6) => v6_range(v6),
    }
}

fn check_host(url: &Url, host: Host<&str>) -> Result<(), TargetError> {
    let address = match host {
        Host::Ipv4(v4) => IpAddr::V4(v4),
        Host::Ipv6(v6) => IpAddr::V6(v6),
        Host::Domain(name) if is_localhost(name) => {
            return Err(TargetError::Localhost {
                url: url.to_string(),
            });
        }
        Host::Domain(_) => return Ok(()),
    };
    match non_public_range(address) {
        Some(range) => Err(TargetError::NotPublic {
            url: url.to_string(),
            address,
            range,
        }),
        None => Ok(()),
    }
}

/// `localhost` and its subdomains always mean this machine (RFC 6761), so
/// they are refused before any lookup.
fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// `url` with user name and password removed, for messages.
fn without_credentials(url: &Url) -> String {
    let mut shown = url.clone();
    // Both fail only for URLs that cannot have credentials at all.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// One block: network address, prefix length and how it is described.
struct Block<A> {
    network: A,
    prefix: u32,
    range: NonPublicRange,
}

const fn block<A>(network: A, prefix: u32, what: &'static str, cidr: &'static str) -> Block<A> {
    Block {
        network,
        prefix,
        range: NonPublicRange { what, cidr },
    }
}

const PRIVATE: &str = "a private range";
const DOCUMENTATION: &str = "a documentation range";
const RESERVED: &str = "a reserved range";

/// IPv4 blocks that are not globally reachable (IANA special-purpose
/// registry), most specific first so the message names the narrowest one.
const V4_BLOCKS: [Block<u32>; 17] = [
    block(
        0xFFFF_FFFF,
        32,
        "the broadcast address",
        "255.255.255.255/32",
    ),
    block(0x0000_0000, 32, "the unspecified address", "0.0.0.0/32"),
    block(0x0000_0000, 8, "the \"this network\" range", "0.0.0.0/8"),
    block(0x0A00_0000, 8, PRIVATE, "10.0.0.0/8"),
    block(
        0x6440_0000,
        10,
        "the carrier-grade NAT range",
        "100.64.0.0/10",
    ),
    block(0x7F00_0000, 8, "the loopback range", "127.0.0.0/8"),
    block(
        0xA9FE_0000,
        16,
        "the link-local range, where cloud metadata services live",
        "169.254.0.0/16",
    ),
    block(0xAC10_0000, 12, PRIVATE, "172.16.0.0/12"),
    block(
        0xC000_0000,
        24,
        "the IETF protocol assignments range",
        "192.0.0.0/24",
    ),
    block(0xC000_0200, 24, DOCUMENTATION, "192.0.2.0/24"),
    block(
        0xC058_6300,
        24,
        "the deprecated 6to4 relay range",
        "192.88.99.0/24",
    ),
    block(0xC0A8_0000, 16, PRIVATE, "192.168.0.0/16"),
    block(0xC612_0000, 15, "the benchmarking range", "198.18.0.0/15"),
    block(0xC633_6400, 24, DOCUMENTATION, "198.51.100.0/24"),
    block(0xCB00_7100, 24, DOCUMENTATION, "203.0.113.0/24"),
    block(0xE000_0000, 4, "the multicast range", "224.0.0.0/4"),
    block(0xF000_0000, 4, RESERVED, "240.0.0.0/4"),
];

/// IPv6 blocks that are not globally reachable, besides those that carry an
/// IPv4 address (see [`embedded_v4`]).
const V6_BLOCKS: [Block<u128>; 12] = [
    block(0, 128, "the unspecified address", "::/128"),
    block(1, 128, "the loopback address", "::1/128"),
    block(
        0x0064_FF9B_0001_u128 << 80,
        48,
        "the local-use NAT64 range",
        "64:ff9b:1::/48",
    ),
    block(0x0100_u128 << 112, 64, "the discard-only range", "100::/64"),
    block(
        0x2001_0002_u128 << 96,
        48,
        "the benchmarking range",
        "2001:2::/48",
    ),
    block(0x2001_0DB8_u128 << 96, 32, DOCUMENTATION, "2001:db8::/32"),
    block(
        0x2001_u128 << 112,
        23,
        "the IETF protocol assignments range",
        "2001::/23",
    ),
    block(0x3FFF_u128 << 112, 20, DOCUMENTATION, "3fff::/20"),
    block(
        0xFC00_u128 << 112,
        7,
        "the unique-local (private) range",
        "fc00::/7",
    ),
    block(0xFE80_u128 << 112, 10, "the link-local range", "fe80::/10"),
    block(
        0xFEC0_u128 << 112,
        10,
        "the deprecated site-local range",
        "fec0::/10",
    ),
    block(0xFF00_u128 << 112, 8, "the multicast range", "ff00::/8"),
];

fn v4_range(ip: Ipv4Addr) -> Option<NonPublicRange> {
    let bits = u32::from(ip);
    V4_BLOCKS
        .iter()
        .find(|b| bits & mask_u32(b.prefix) == b.network)
        .map(|b| b.range)
}

fn v6_range(ip: Ipv6Addr) -> Option<NonPublicRange> {
    let bits = u128::from(ip);
    let listed = V6_BLOCKS
        .iter()
        .find(|b| bits & mask_u128(b.prefix) == b.network)
        .map(|b| b.range);
    listed.or_else(|| embedded_v4(ip).and_then(v4_range))
}

/// The IPv4 address an IPv6 address stands for, when it stands for one.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    let low32 = Ipv4Addr::from(bits as u32);
    let prefix96 = bits >> 32;
    match prefix96 {
        // ::a.b.c.d (compatible), ::ffff:a.b.c.d (mapped) and
        // 64:ff9b::a.b.c.d (the well-known NAT64 prefix).
        0 | 0xFFFF | 0x0064_FF9B_0000_0000_0000_0000 => Some(low32),
        // 2002:aabb:ccdd::/48, 6to4: the IPv4 address follows the prefix.
        _ if bits >> 112 == 0x2002 => Some(Ipv4Addr::from((bits >> 80) as u32)),
        _ => None,
    }
}

const fn mask_u32(prefix: u32) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    }
}

const fn mask_u128(prefix: u32) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn cidr_of(text: &str) -> &'static str {
        non_public_range(ip(text))
            .unwrap_or_else(|| panic!("{text} should not be public"))
            .cidr
    }

    #[test]
    fn ipv4_special_ranges_are_not_public() {
        let cases = [
            ("0.0.0.0", "0.0.0.0/32"),
            ("0.1.2.3", "0.0.0.0/8"),
            ("10.0.0.5", "10.0.0.0/8"),
            ("10.255.255.255", "10.0.0.0/8"),
            ("100.64.0.1", "100.64.0.0/10"),
            ("100.127.255.254", "100.64.0.0/10"),
            ("127.0.0.1", "127.0.0.0/8"),
            ("127.255.0.9", "127.0.0.0/8"),
            ("169.254.169.254", "169.254.0.0/16"),
            ("169.254.0.1", "169.254.0.0/16"),
            ("172.16.0.1", "172.16.0.0/12"),
            ("172.31.255.255", "172.16.0.0/12"),
            ("192.0.0.8", "192.0.0.0/24"),
            ("192.0.2.10", "192.0.2.0/24"),
            ("192.88.99.1", "192.88.99.0/24"),
            ("192.168.1.1", "192.168.0.0/16"),
            ("198.18.0.1", "198.18.0.0/15"),
            ("198.19.255.255", "198.18.0.0/15"),
            ("198.51.100.7", "198.51.100.0/24"),
            ("203.0.113.9", "203.0.113.0/24"),
            ("224.0.0.251", "224.0.0.0/4"),
            ("239.255.255.250", "224.0.0.0/4"),
            ("240.0.0.1", "240.0.0.0/4"),
            ("255.255.255.254", "240.0.0.0/4"),
            ("255.255.255.255", "255.255.255.255/32"),
        ];
        for (address, cidr) in cases {
            assert_eq!(cidr_of(address), cidr, "{address}");
            assert!(!is_public_address(ip(address)), "{address}");
        }
    }

    #[test]
    fn ipv6_special_ranges_are_not_public() {
        let cases = [
            ("::", "::/128"),
            ("::1", "::1/128"),
            ("fc00::1", "fc00::/7"),
            ("fd12:3456:789a::1", "fc00::/7"),
            ("fe80::1", "fe80::/10"),
            ("febf:ffff::1", "fe80::/10"),
            ("fec0::1", "fec0::/10"),
            ("ff02::1", "ff00::/8"),
            ("2001:db8::1", "2001:db8::/32"),
            ("3fff:1::1", "3fff::/20"),
            ("100::1", "100::/64"),
            ("2001:2::1", "2001:2::/48"),
            ("2001::1", "2001::/23"),
            ("64:ff9b:1::a00:1", "64:ff9b:1::/48"),
        ];
        for (address, cidr) in cases {
            assert_eq!(cidr_of(address), cidr, "{address}");
        }
    }

    #[test]
    fn ipv6_addresses_carrying_ipv4_are_judged_by_it() {
        assert_eq!(cidr_of("::ffff:127.0.0.1"), "127.0.0.0/8");
        assert_eq!(cidr_of("::ffff:10.1.2.3"), "10.0.0.0/8");
        assert_eq!(cidr_of("::ffff:169.254.169.254"), "169.254.0.0/16");
        assert_eq!(cidr_of("::127.0.0.1"), "127.0.0.0/8");
        assert_eq!(cidr_of("64:ff9b::192.168.0.1"), "192.168.0.0/16");
        assert_eq!(cidr_of("2002:7f00:1::1"), "127.0.0.0/8");
        assert!(is_public_address(ip("::ffff:8.8.8.8")));
        assert!(is_public_address(ip("64:ff9b::8.8.4.4")));
        assert!(is_public_address(ip("2002:0808:0808::1")));
    }

    #[test]
    fn public_addresses_are_public() {
        for address in [
            "8.8.8.8",
            "1.1.1.1",
            "203.0.114.1",
            "172.32.0.1",
            "100.128.0.1",
            "198.20.0.1",
            "211.234.100.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001:81b::200e",
            "2404:6800:4005:80a::200e",
        ] {
            assert!(is_public_address(ip(address)), "{address}");
        }
    }

    #[test]
    fn a_public_https_url_is_accepted() {
        let url = check_target_url("https://hooks.example.org/ileaps?x=1", false).unwrap();
        assert_eq!(url.host_str(), Some("hooks.example.org"));
        assert!(check_target_url("http://8.8.8.8:8080/hook", false).is_ok());
        assert!(check_target_url("https://[2606:4700:4700::1111]/hook", false).is_ok());
    }

    #[test]
    fn a_private_ip_literal_is_refused_with_the_range_and_the_way_out() {
        let err = check_target_url("http://10.0.0.5/hook", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "http://10.0.0.5/hook is in a private range (10.0.0.0/8); \
             add the endpoint with --allow-private if that is intended"
        );
    }

    #[test]
    fn allow_private_accepts_private_literals_and_localhost() {
        assert!(check_target_url("http://10.0.0.5/hook", true).is_ok());
        assert!(check_target_url("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(check_target_url("http://localhost:9000/hook", true).is_ok());
    }

    #[test]
    fn metadata_and_mapped_loopback_literals_are_refused() {
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[::ffff:127.0.0.1]/hook",
            "http://[::1]:8222/varz",
            "http://[fd00::5]/hook",
        ] {
            let err = check_target_url(url, false).unwrap_err();
            assert!(matches!(err, TargetError::NotPublic { .. }), "{url}: {err}");
        }
    }

    #[test]
    fn obfuscated_ipv4_literals_are_seen_through() {
        // The URL parser normalises these to 127.0.0.1 and 10.0.0.1.
        for url in ["http://2130706433/", "http://0x7f.1/", "http://012.0.0.1/"] {
            let err = check_target_url(url, false).unwrap_err();
            assert!(matches!(err, TargetError::NotPublic { .. }), "{url}: {err}");
        }
    }

    #[test]
    fn localhost_names_are_refused() {
        for url in [
            "http://localhost/hook",
            "http://LOCALHOST./hook",
            "http://api.localhost:8080/",
        ] {
            let err = check_target_url(url, false).unwrap_err();
            assert!(matches!(err, TargetError::Localhost { .. }), "{url}: {err}");
        }
    }

    #[test]
    fn other_schemes_are_refused() {
        for url in [
            "ftp://example.org/x",
            "file:///etc/passwd",
            "gopher://example.org/",
        ] {
            let err = check_target_url(url, false).unwrap_err();
            assert!(
                matches!(err, TargetError::UnsupportedScheme { .. }),
                "{url}: {err}"
            );
        }
        let err = check_target_url("ftp://example.org/x", false).unwrap_err();
        assert!(err.to_string().contains("not ftp"));
    }

    #[test]
    fn credentials_are_refused_and_never_shown() {
        let err = check_target_url("https://user:s3cret@hooks.example.org/x", false).unwrap_err();
        assert!(matches!(err, TargetError::Credentials { .. }));
        let message = err.to_string();
        assert!(
            !message.contains("s3cret") && !message.contains("user"),
            "{message}"
        );
        assert!(message.contains("https://hooks.example.org/x"));
        assert!(matches!(
            check_target_url("https://token@hooks.example.org/", true),
            Err(TargetError::Credentials { .. })
        ));
    }

    #[test]
    fn text_that_is_not_a_url_is_refused() {
        for url in [
            "",
            "hooks.example.org/x",
            "http://",
            "https://exa mple.org/",
        ] {
            assert!(
                matches!(
                    check_target_url(url, false),
                    Err(TargetError::InvalidUrl(_))
                ),
                "{url}"
            );
        }
    }

    #[test]
    fn resolved_addresses_must_all_be_public() {
        let public = [ip("8.8.8.8"), ip("2606:4700:4700::1111")];
        assert_eq!(check_resolved(&public, false), Ok(()));
        let rebound = [ip("8.8.8.8"), ip("192.168.0.10")];
        let err = check_resolved(&rebound, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the webhook host resolves to 192.168.0.10, which is in a private range \
             (192.168.0.0/16); add the endpoint with --allow-private if that is intended"
        );
        assert_eq!(check_resolved(&rebound, true), Ok(()));
    }

    #[test]
    fn resolving_to_nothing_is_refused() {
        assert_eq!(check_resolved(&[], false), Err(TargetError::NoAddress));
        assert_eq!(check_resolved(&[], true), Err(TargetError::NoAddress));
    }
}
