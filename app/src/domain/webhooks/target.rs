//! Where webhooks may be sent: http(s) URLs whose host does not resolve to this machine or
//! a private network, unless the operator allows it (`POINTMINT_WEBHOOK_ALLOW_PRIVATE`).
//!
//! The check runs when an endpoint is saved and again before every delivery, because a
//! name can resolve elsewhere later (DNS rebinding); the sender then connects to exactly
//! the addresses checked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::Url;

/// A syntactically acceptable webhook URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookUrl(Url);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("enter an absolute http:// or https:// URL")]
    Malformed,
    #[error("the URL must not contain a user name or password")]
    Credentials,
    #[error("the host {0} does not resolve")]
    Unresolvable(String),
    #[error(
        "the host resolves to a private, loopback or link-local address, which is not allowed"
    )]
    PrivateAddress,
}

impl WebhookUrl {
    pub fn parse(text: &str) -> Result<Self, TargetError> {
        let text = text.trim();
        if text.len() > 2048 {
            return Err(TargetError::Malformed);
        }
        let url = Url::parse(text).map_err(|_| TargetError::Malformed)?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(TargetError::Malformed);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(TargetError::Credentials);
        }
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default()
    }

    /// Resolves the host and returns the addresses to connect to, refusing private ones
    /// unless `allow_private`.
    pub async fn resolve(&self, allow_private: bool) -> Result<Vec<SocketAddr>, TargetError> {
        let port = self
            .0
            .port_or_known_default()
            .ok_or(TargetError::Malformed)?;
        let host = self
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| TargetError::Unresolvable(host.clone()))?
            .collect();
        if addrs.is_empty() {
            return Err(TargetError::Unresolvable(host));
        }
        if !allow_private && addrs.iter().any(|a| !is_public(a.ip())) {
            return Err(TargetError::PrivateAddress);
        }
        Ok(addrs)
    }
}

/// Whether an address is on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // Carrier-grade NAT, 100.64.0.0/10: inside some provider's network.
        || (a == 100 && (64..128).contains(&b)))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // Unique local fc00::/7 and link-local fe80::/10.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_http_urls_without_credentials_parse() {
        assert!(WebhookUrl::parse("https://shop.example.com/hooks/points").is_ok());
        assert!(WebhookUrl::parse("http://203.0.113.9:8080/h").is_ok());
        assert_eq!(
            WebhookUrl::parse("ftp://example.com/"),
            Err(TargetError::Malformed)
        );
        assert_eq!(WebhookUrl::parse("/relative"), Err(TargetError::Malformed));
        assert_eq!(
            WebhookUrl::parse("https://u:p@example.com/"),
            Err(TargetError::Credentials)
        );
    }

    #[test]
    fn private_and_local_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn loopback_targets_are_refused_unless_allowed() {
        let url = WebhookUrl::parse("http://127.0.0.1:9/hook").unwrap();
        assert_eq!(url.resolve(false).await, Err(TargetError::PrivateAddress));
        assert_eq!(
            url.resolve(true).await.unwrap(),
            vec!["127.0.0.1:9".parse().unwrap()]
        );
        let localhost = WebhookUrl::parse("http://localhost:9/hook").unwrap();
        assert_eq!(
            localhost.resolve(false).await,
            Err(TargetError::PrivateAddress)
        );
    }
}
