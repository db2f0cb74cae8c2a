//! Reading `nats://` and `postgres://` addresses, and asking whether anything
//! answers there.

use crate::InfraError;
use std::net::IpAddr;
use std::time::Duration;
use url::{Host, Url};

/// True if a TCP connection to the host and port of `url` succeeds within
/// `timeout`. Accepts `nats://`, `tls://`, `postgres://`, `postgresql://` and
/// bare `host:port` (taken as NATS), and NATS's comma-separated lists (true if
/// any answers). A URL without a host (a Unix socket) is not probed: false.
pub async fn tcp_reachable(url: &str, timeout: Duration) -> bool {
    let Ok(endpoints) = endpoints(url) else {
        return false;
    };
    for (host, port) in endpoints {
        let connect = tokio::net::TcpStream::connect((host.as_str(), port));
        if let Ok(Ok(_stream)) = tokio::time::timeout(timeout, connect).await {
            return true;
        }
    }
    false
}

/// The `(host, port)` pairs of a URL or comma-separated list of URLs.
pub(crate) fn endpoints(url: &str) -> Result<Vec<(String, u16)>, InfraError> {
    let mut found = Vec::new();
    for part in url.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let parsed = parse(part)?;
        let port = parsed
            .port()
            .or_else(|| default_port(parsed.scheme()))
            .ok_or_else(|| InfraError::InvalidUrl {
                what: "server",
                url: redact(part),
                reason: format!("no port given and none known for `{}`", parsed.scheme()),
            })?;
        let host = match parsed.host() {
            Some(Host::Domain(domain)) if !domain.is_empty() => domain.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            _ => continue,
        };
        found.push((host, port));
    }
    Ok(found)
}

/// True if every host the URL names is this machine (so starting a private
/// server in its place is what the user means by "zero set-up").
pub(crate) fn is_local(url: &str) -> bool {
    match endpoints(url) {
        Ok(endpoints) => {
            !endpoints.is_empty()
                && endpoints.iter().all(|(host, _)| {
                    host.eq_ignore_ascii_case("localhost")
                        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
                })
        }
        Err(_) => false,
    }
}

/// True if the URL names a host at all (`postgres:///db` means a Unix socket).
pub(crate) fn has_tcp_host(url: &str) -> bool {
    endpoints(url).is_ok_and(|endpoints| !endpoints.is_empty())
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) if url.contains('@') => "<an unparseable URL with credentials>".to_owned(),
        Err(_) => url.to_owned(),
    }
}

/// The database a `postgres://` URL names, if any.
pub(crate) fn database_name(url: &str) -> Result<Option<String>, InfraError> {
    let parsed = parse(url)?;
    let path = parsed.path().trim_start_matches('/');
    if path.is_empty() {
        return Ok(None);
    }
    let decoded = percent_decode(path).ok_or_else(|| InfraError::InvalidUrl {
        what: "database",
        url: redact(url),
        reason: "the database name is not valid percent-encoded UTF-8".to_owned(),
    })?;
    Ok(Some(decoded))
}

/// The same `postgres://` URL naming another database on the same server.
pub fn with_database(url: &str, database: &str) -> Result<String, InfraError> {
    let mut parsed = parse(url)?;
    parsed.set_path(&format!("/{database}"));
    Ok(parsed.to_string())
}

fn parse(url: &str) -> Result<Url, InfraError> {
    let with_scheme = if url.contains("://") {
        url.to_owned()
    } else {
        format!("nats://{url}")
    };
    Url::parse(&with_scheme).map_err(|error| InfraError::InvalidUrl {
        what: "server",
        url: redact(url),
        reason: error.to_string(),
    })
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "nats" | "tls" => Some(4222),
        "postgres" | "postgresql" => Some(5432),
        _ => None,
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_of_nats_and_postgres_urls_use_their_default_ports() {
        assert_eq!(
            endpoints("nats://a:1,localhost,nats://[::1]").unwrap(),
            vec![
                ("a".to_owned(), 1),
                ("localhost".to_owned(), 4222),
                ("::1".to_owned(), 4222)
            ]
        );
        assert_eq!(
            endpoints("postgres://u:p@127.0.0.1/db").unwrap(),
            vec![("127.0.0.1".to_owned(), 5432)]
        );
        assert!(endpoints("postgres:///db").unwrap().is_empty());
    }

    #[test]
    fn only_loopback_hosts_count_as_local() {
        assert!(is_local("nats://127.0.0.1:4222"));
        assert!(is_local("postgres://root@localhost/test"));
        assert!(is_local("nats://[::1]:4222"));
        assert!(!is_local("nats://nats.example.com:4222"));
        assert!(!is_local("nats://127.0.0.1:4222,nats://10.0.0.1:4222"));
        assert!(!is_local("postgres:///test"));
    }

    #[test]
    fn passwords_never_appear_in_messages() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(redact("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
    }

    #[test]
    fn database_names_are_read_and_replaced() {
        assert_eq!(
            database_name("postgres://root@127.0.0.1:5432/my%20db").unwrap(),
            Some("my db".to_owned())
        );
        assert_eq!(database_name("postgres://root@h").unwrap(), None);
        assert_eq!(
            with_database("postgres://root@h:1/x?sslmode=disable", "postgres").unwrap(),
            "postgres://root@h:1/postgres?sslmode=disable"
        );
    }
}
