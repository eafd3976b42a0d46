//! Who the client is: its address, believed from `Forwarded` / `X-Forwarded-For` only when the
//! connection comes from a trusted proxy (`server.trusted_proxies`).
//!
//! Backends throttle and lock out per client address (EnOS 30429), so the address the gateway
//! passes on decides who gets locked out: the real client, not the gateway (which would lock out
//! everyone at once), and not whatever a client writes in a header (which would let an attacker
//! lock out someone else). The walk is the usual one: from the nearest hop back, skip the trusted
//! proxies; the first address that is not one is the client.

use std::net::IpAddr;

use ipnet::IpNet;

/// The address of the client of a request, and how much of its headers was believed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Client {
    pub addr: IpAddr,
    /// The connection came from a trusted proxy, whose claims about the client are believed.
    pub via_trusted_proxy: bool,
}

/// The client behind a connection from `peer`, given its `Forwarded` and `X-Forwarded-For`
/// headers. `Forwarded` (RFC 7239) wins when both are present.
pub fn resolve(
    peer: IpAddr,
    forwarded: Option<&str>,
    x_forwarded_for: Option<&str>,
    trusted: &[IpNet],
) -> Client {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Client {
            addr: peer,
            via_trusted_proxy: false,
        };
    }
    let hops: Vec<IpAddr> = match (forwarded, x_forwarded_for) {
        (Some(f), _) => forwarded_for(f),
        (None, Some(x)) => x.split(',').filter_map(|h| parse_hop(h.trim())).collect(),
        (None, None) => Vec::new(),
    };
    // Nearest first: the last hop was added by the proxy we trust.
    let addr = hops
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(hops.first())
        .copied()
        .unwrap_or(peer);
    Client {
        addr,
        via_trusted_proxy: true,
    }
}

/// The `for=` addresses of a `Forwarded` header, in order (unknown or obfuscated ones skipped).
fn forwarded_for(header: &str) -> Vec<IpAddr> {
    header
        .split(',')
        .flat_map(|element| element.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("for")
                .then(|| parse_hop(value.trim().trim_matches('"')))?
        })
        .collect()
}

/// One hop: `1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]`, `[2001:db8::1]:5678` or `2001:db8::1`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    hop.rsplit_once(':')?.0.parse().ok()
}

/// `server.trusted_proxies`: CIDRs or addresses, in a list or separated by commas.
pub fn parse_nets(items: &[String]) -> Result<Vec<IpNet>, String> {
    items
        .iter()
        .flat_map(|i| i.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("`{s}` is not an address or a CIDR such as 10.0.0.0/8"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(s: &str) -> Vec<IpNet> {
        parse_nets(&[s.to_owned()]).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let c = resolve(
            ip("203.0.113.9"),
            None,
            Some("198.51.100.1"),
            &nets("10.0.0.0/8"),
        );
        assert_eq!(c.addr, ip("203.0.113.9"));
        assert!(!c.via_trusted_proxy);
    }

    #[test]
    fn behind_trusted_proxies_the_first_untrusted_hop_from_the_right() {
        let trusted = nets("10.0.0.0/8, 192.0.2.7");
        let c = resolve(
            ip("10.1.1.1"),
            None,
            Some("6.6.6.6, 198.51.100.1, 192.0.2.7"),
            &trusted,
        );
        assert_eq!(
            c.addr,
            ip("198.51.100.1"),
            "the spoofed left-most hop is ignored"
        );
        assert!(c.via_trusted_proxy);
        let only_proxies = resolve(ip("10.1.1.1"), None, Some("10.2.2.2"), &trusted);
        assert_eq!(only_proxies.addr, ip("10.2.2.2"));
        let no_header = resolve(ip("10.1.1.1"), None, None, &trusted);
        assert_eq!(no_header.addr, ip("10.1.1.1"));
    }

    #[test]
    fn forwarded_wins_and_its_forms_are_read() {
        let trusted = nets("10.0.0.0/8");
        let c = resolve(
            ip("10.0.0.1"),
            Some(r#"for=198.51.100.17;proto=https, for="[2001:db8:cafe::17]:4711""#),
            Some("6.6.6.6"),
            &trusted,
        );
        assert_eq!(c.addr, ip("2001:db8:cafe::17"));
        assert_eq!(parse_hop("192.0.2.1:80"), Some(ip("192.0.2.1")));
        assert_eq!(parse_hop("unknown"), None);
    }

    #[test]
    fn bad_nets_are_reported() {
        assert!(parse_nets(&["10.0.0.0/33".into()]).is_err());
        assert_eq!(parse_nets(&["".into()]).unwrap(), vec![]);
    }
}
