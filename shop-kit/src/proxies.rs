//! The client's own address behind proxies: a request that reaches a service through a proxy
//! it trusts names its client in `X-Forwarded-For` (or RFC 7239 `Forwarded: for=`); any other
//! request's client is its TCP peer, whatever headers it sends.
//!
//! As nginx's `set_real_ip_from` with `real_ip_recursive on`: the client is the rightmost
//! address of the chain that is not itself a trusted proxy, so a client cannot choose its own
//! address by sending the header (its entries stand left of those its proxies appended).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use forwarded_header_value::ForwardedHeaderValue;
use ipnet::IpNet;
use poem::http::HeaderMap;

/// The address a request's client connected from, as [`TrustedProxies::client`] found it:
/// the one address the access log, the login throttle and every other place that names "the
/// client" use. The server puts it in every request's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The header a trusted proxy names the client in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (ingress-nginx, Envoy, most load balancers).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
}

impl FromStr for ForwardedHeader {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            _ => Err(format!("{s:?} is not `x-forwarded-for` or `forwarded`")),
        }
    }
}

/// The proxies whose word on the client's address is taken (`SHOP_TRUSTED_PROXIES`: addresses
/// and CIDR blocks, comma-separated; none by default), and the header they write it in
/// (`SHOP_FORWARDED_HEADER`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    /// The header the trusted proxies write.
    pub header: ForwardedHeader,
}

impl FromStr for TrustedProxies {
    type Err = String;

    /// `10.0.0.0/8, 192.168.1.7, ::1`: blocks or single addresses; empty trusts none.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let nets = s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{p:?} is not an address or a CIDR block"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            nets,
            header: ForwardedHeader::default(),
        })
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nets: Vec<String> = self.nets.iter().map(ToString::to_string).collect();
        f.write_str(&nets.join(","))
    }
}

impl TrustedProxies {
    /// Reads `SHOP_TRUSTED_PROXIES` (none when unset) and `SHOP_FORWARDED_HEADER`
    /// (`x-forwarded-for`, the default, or `forwarded`).
    pub fn from_env() -> anyhow::Result<Self> {
        let mut proxies: Self = crate::env::env_parse("SHOP_TRUSTED_PROXIES", Self::default())?;
        proxies.header = crate::env::env_parse("SHOP_FORWARDED_HEADER", proxies.header)?;
        Ok(proxies)
    }

    /// The loopback addresses this machine's own processes connect from (`127.0.0.1`, `::1`):
    /// what the services of the `shop` binary trust, its front door calling them from there.
    pub fn loopback() -> Self {
        Self {
            nets: vec![
                IpNet::from(IpAddr::from([127, 0, 0, 1])),
                IpNet::from(IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
            ],
            header: ForwardedHeader::XForwardedFor,
        }
    }

    /// These and `other`'s proxies, in this one's header.
    pub fn and(mut self, other: &Self) -> Self {
        self.nets.extend(other.nets.iter().copied());
        self
    }

    /// Whether `ip` is a trusted proxy (an IPv4 address mapped into IPv6 counts as itself).
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request from `peer` with `headers`: `peer` itself unless it is trusted;
    /// else, walking the forwarded chain from the right, the first address that is not trusted.
    /// An entry that is not an address (`unknown`, an obfuscated name, garbage) ends the walk at
    /// the last trusted hop before it; a chain of trusted hops only gives its leftmost.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        for hop in self.chain(headers).into_iter().rev() {
            let Some(hop) = hop else { break };
            client = hop.to_canonical();
            if !self.trusts(client) {
                break;
            }
        }
        client
    }

    /// What a proxy that calls on (the `shop` binary's front door) sends as `X-Forwarded-For`
    /// for a request from `peer`: the chain it was given when `peer` is trusted, else nothing
    /// of it, then `peer`.
    pub fn forward(&self, peer: IpAddr, headers: &HeaderMap) -> String {
        let peer = peer.to_canonical();
        let mut hops: Vec<String> = Vec::new();
        if self.trusts(peer) {
            for hop in self.chain(headers) {
                match hop {
                    Some(ip) => hops.push(ip.to_string()),
                    None => hops.push("unknown".into()),
                }
            }
        }
        hops.push(peer.to_string());
        hops.join(", ")
    }

    /// The forwarded chain in the chosen header, leftmost (the original client) first; `None`
    /// for an entry that names no address. Several header lines are one list (RFC 9110 5.3).
    fn chain(&self, headers: &HeaderMap) -> Vec<Option<IpAddr>> {
        let name = match self.header {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        };
        let mut hops = Vec::new();
        for line in headers.get_all(name) {
            let Ok(line) = line.to_str() else {
                hops.push(None);
                continue;
            };
            for element in line.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                hops.push(match self.header {
                    ForwardedHeader::XForwardedFor => address(element),
                    ForwardedHeader::Forwarded => ForwardedHeaderValue::from_forwarded(element)
                        .ok()
                        .and_then(|v| v.remotest_forwarded_for_ip()),
                });
            }
        }
        hops
    }
}

/// An `X-Forwarded-For` element: an address, with a port or (IPv6) in brackets as some proxies
/// write it.
fn address(element: &str) -> Option<IpAddr> {
    element
        .parse::<IpAddr>()
        .ok()
        .or_else(|| element.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            element
                .strip_prefix('[')
                .and_then(|e| e.strip_suffix(']'))
                .and_then(|e| e.parse().ok())
        })
}

#[cfg(test)]
mod tests {
    use poem::http::HeaderValue;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn proxies(list: &str) -> TrustedProxies {
        list.parse().unwrap_or_default()
    }

    fn headers(name: &'static str, values: &[&'static str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(name, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn a_peer_that_is_not_trusted_is_the_client_whatever_it_sends() {
        let trusted = proxies("10.0.0.0/8");
        let forged = headers("x-forwarded-for", &["1.2.3.4"]);
        assert_eq!(
            trusted.client(ip("203.0.113.9"), &forged),
            ip("203.0.113.9")
        );
        assert_eq!(
            proxies("").client(ip("127.0.0.1"), &forged),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = proxies("10.0.0.0/8, 192.168.1.7");
        // The client forged the first entry; its proxies appended the rest.
        let chain = headers("x-forwarded-for", &["6.6.6.6, 203.0.113.9", "192.168.1.7"]);
        assert_eq!(trusted.client(ip("10.1.2.3"), &chain), ip("203.0.113.9"));
        // Every hop trusted: the leftmost.
        let inside = headers("x-forwarded-for", &["10.9.9.9, 192.168.1.7"]);
        assert_eq!(trusted.client(ip("10.1.2.3"), &inside), ip("10.9.9.9"));
        // No header: the proxy itself.
        assert_eq!(
            trusted.client(ip("10.1.2.3"), &HeaderMap::new()),
            ip("10.1.2.3")
        );
        // Garbage ends the walk at the last trusted hop before it.
        let garbage = headers("x-forwarded-for", &["203.0.113.9, nonsense, 10.4.4.4"]);
        assert_eq!(trusted.client(ip("10.1.2.3"), &garbage), ip("10.4.4.4"));
        // Ports, brackets and IPv4 mapped into IPv6.
        let ports = headers("x-forwarded-for", &["[2001:db8::1]:443, 203.0.113.9:5000"]);
        assert_eq!(
            trusted.client(ip("::ffff:10.1.2.3"), &ports),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn the_forwarded_header_is_read_when_chosen_and_only_then() {
        let mut trusted = proxies("10.0.0.0/8");
        let both = {
            let mut h = headers("forwarded", &[r#"for="[2001:db8::7]:4711", for=10.0.0.2"#]);
            h.append("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
            h
        };
        assert_eq!(trusted.client(ip("10.0.0.1"), &both), ip("6.6.6.6"));
        trusted.header = ForwardedHeader::Forwarded;
        assert_eq!(trusted.client(ip("10.0.0.1"), &both), ip("2001:db8::7"));
        let hidden = headers("forwarded", &["for=_hidden, for=10.0.0.2"]);
        assert_eq!(trusted.client(ip("10.0.0.1"), &hidden), ip("10.0.0.2"));
    }

    #[test]
    fn a_front_proxy_forwards_the_chain_only_from_a_peer_it_trusts() {
        let front = proxies("10.0.0.0/8");
        let sent = headers("x-forwarded-for", &["6.6.6.6"]);
        assert_eq!(front.forward(ip("203.0.113.9"), &sent), "203.0.113.9");
        assert_eq!(front.forward(ip("10.0.0.5"), &sent), "6.6.6.6, 10.0.0.5");
    }

    #[test]
    fn a_list_is_addresses_and_blocks() {
        assert_eq!(proxies("10.0.0.0/8, ::1").to_string(), "10.0.0.0/8,::1/128");
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("proxy.local".parse::<TrustedProxies>().is_err());
        assert!("forwarded".parse::<ForwardedHeader>().is_ok());
        assert!("x-real-ip".parse::<ForwardedHeader>().is_err());
    }
}
