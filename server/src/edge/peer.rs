//! Who is on the other end of a connection: the TCP peer ([`Peer`]), and the client a
//! per-client limit counts it as ([`client_key`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::extract::connect_info::{ConnectInfo, MockConnectInfo};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// The client an attempt counts against: an IPv4 address as it is, an IPv6 address as its
/// /64 network (an IPv4-mapped one as its IPv4 address), an unknown one as `0.0.0.0`.
pub fn client_key(address: Option<IpAddr>) -> IpAddr {
    match address {
        None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Some(IpAddr::V4(v4)) => IpAddr::V4(v4),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !(u128::from(u64::MAX));
                IpAddr::V6(Ipv6Addr::from(network))
            }
        },
    }
}

/// The TCP peer of the request, when the server was started with connection info; tests
/// set one with axum's `MockConnectInfo` layer, which only code can add.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<SocketAddr>);

impl Peer {
    /// The peer recorded in `parts`.
    pub fn of(parts: &Parts) -> Peer {
        let ext = &parts.extensions;
        Peer(
            ext.get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0)
                .or_else(|| ext.get::<MockConnectInfo<SocketAddr>>().map(|c| c.0)),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer::of(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().expect("ip"))
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        assert_eq!(
            client_key(ip("2001:db8:1:2:aaaa::1")),
            client_key(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            client_key(ip("2001:db8:1:2::1")),
            client_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            client_key(ip("::ffff:192.0.2.1")),
            ip("192.0.2.1").expect("v4")
        );
        assert_ne!(client_key(ip("192.0.2.1")), client_key(ip("192.0.2.2")));
        assert_eq!(client_key(None), client_key(ip("0.0.0.0")));
    }
}
