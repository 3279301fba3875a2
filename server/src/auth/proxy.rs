//! The trusted reverse proxy (oauth2-proxy and the like): it authenticates users itself and
//! passes who they are in request headers. Those headers are honoured **only** when the TCP
//! peer is one of the configured proxy addresses or networks; from anyone else they are
//! ignored, since any client can send them. The user's groups map to a role (and a
//! maintainer's targets) by the configured rules.

use std::net::{IpAddr, SocketAddr};

use app::viewer::Role;
use axum::http::{HeaderMap, HeaderName};
use ipnet::IpNet;

/// Why a proxy setting does not parse.
#[derive(Debug, thiserror::Error)]
pub enum ProxyConfigError {
    /// Not an address or CIDR network.
    #[error("trusted proxy {0:?} is not an IP address or CIDR network")]
    Address(String),
    /// Not a header name.
    #[error("{0:?} is not a valid header name")]
    Header(String),
    /// Not `GROUP=ROLE[:TARGET]`.
    #[error("proxy group rule {0:?}: expected GROUP=ROLE or GROUP=maintainer:TARGET (roles: maintainer, admin)")]
    Rule(String),
}

/// One group→role rule: members of `group` get `role`, a maintainer rule optionally
/// limited to `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRule {
    /// Group name as the proxy sends it.
    pub group: String,
    /// The role members get.
    pub role: Role,
    /// The one target a maintainer rule is limited to; `None`: every target.
    pub target: Option<String>,
}

impl GroupRule {
    /// Parses `GROUP=ROLE` or `GROUP=maintainer:TARGET`.
    pub fn parse(s: &str) -> Result<GroupRule, ProxyConfigError> {
        let bad = || ProxyConfigError::Rule(s.to_string());
        let (group, rest) = s.split_once('=').ok_or_else(bad)?;
        let (role, target) = match rest.split_once(':') {
            Some((role, target)) => (role, Some(target.trim().to_string())),
            None => (rest, None),
        };
        let role = Role::parse(role.trim()).ok_or_else(bad)?;
        let group = group.trim().to_string();
        if group.is_empty()
            || target
                .as_deref()
                .is_some_and(|t| !super::names::valid_target(t))
            || (role == Role::Admin && target.is_some())
        {
            return Err(bad());
        }
        Ok(GroupRule {
            group,
            role,
            target,
        })
    }
}

/// The trusted proxy's configuration; with no trusted address, proxy headers are never
/// honoured.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Peers whose headers are trusted.
    pub trusted: Vec<IpNet>,
    /// Header with the user name.
    pub user_header: HeaderName,
    /// Header with the user's groups, comma separated.
    pub groups_header: HeaderName,
    /// Group→role rules.
    pub rules: Vec<GroupRule>,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            trusted: Vec::new(),
            user_header: HeaderName::from_static("x-forwarded-user"),
            groups_header: HeaderName::from_static("x-forwarded-groups"),
            rules: Vec::new(),
        }
    }
}

/// Parses a trusted proxy: an address (`10.0.0.5`, `::1`) or a network (`10.0.0.0/24`).
pub fn parse_trusted(s: &str) -> Result<IpNet, ProxyConfigError> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| ProxyConfigError::Address(s.to_string()))
}

/// Parses a header name.
pub fn parse_header(s: &str) -> Result<HeaderName, ProxyConfigError> {
    HeaderName::try_from(s.trim()).map_err(|_| ProxyConfigError::Header(s.to_string()))
}

/// What the proxy says about a request from a trusted peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyIdentity {
    /// User name.
    pub user: String,
    /// The role and targets the groups map to; `None` when no rule matches.
    pub mapped: Option<(Role, Option<Vec<String>>)>,
}

impl ProxyConfig {
    /// Whether `peer` is a trusted proxy.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
            v4 => v4,
        };
        self.trusted.iter().any(|net| net.contains(&peer))
    }

    /// The identity in the headers, when `peer` is trusted and sent a user.
    pub fn identity(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Option<ProxyIdentity> {
        let peer = peer?;
        if !self.trusts(peer.ip()) {
            return None;
        }
        let user = headers
            .get(&self.user_header)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|u| !u.is_empty())?;
        let groups: Vec<&str> = headers
            .get_all(&self.groups_header)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .collect();
        Some(ProxyIdentity {
            user: user.to_string(),
            mapped: self.map_groups(&groups),
        })
    }

    /// The role of a member of `groups`: admin if any admin rule matches; else maintainer,
    /// limited to the union of the matching rules' targets unless one of them has none.
    pub fn map_groups(&self, groups: &[&str]) -> Option<(Role, Option<Vec<String>>)> {
        let matching: Vec<&GroupRule> = self
            .rules
            .iter()
            .filter(|r| groups.contains(&r.group.as_str()))
            .collect();
        if matching.iter().any(|r| r.role == Role::Admin) {
            return Some((Role::Admin, None));
        }
        if matching.is_empty() {
            return None;
        }
        if matching.iter().any(|r| r.target.is_none()) {
            return Some((Role::Maintainer, None));
        }
        let mut targets: Vec<String> = matching.iter().filter_map(|r| r.target.clone()).collect();
        targets.sort();
        targets.dedup();
        Some((Role::Maintainer, Some(targets)))
    }

    /// The client's address: the last `X-Forwarded-For` entry when the peer is a trusted
    /// proxy, else the peer itself; `None` when the connection's address is unknown.
    pub fn client_ip(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?.ip();
        if !self.trusts(peer) {
            return Some(peer);
        }
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse::<IpAddr>().ok())
            .next_back()
            .or(Some(peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ProxyConfig {
        ProxyConfig {
            trusted: vec![
                parse_trusted("10.0.0.0/24").expect("net"),
                parse_trusted("127.0.0.1").expect("addr"),
            ],
            rules: [
                "okd-admins=admin",
                "scos-maintainers=maintainer:4-scos-next",
                "scos-maintainers=maintainer:4-scos-stable",
                "release-team=maintainer",
            ]
            .iter()
            .map(|r| GroupRule::parse(r).expect("rule"))
            .collect(),
            ..ProxyConfig::default()
        }
    }

    fn headers(user: &str, groups: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-user", user.parse().expect("value"));
        h.insert("x-forwarded-groups", groups.parse().expect("value"));
        h
    }

    #[test]
    fn headers_count_only_from_trusted_peers() {
        let c = config();
        let h = headers("ada", "okd-admins");
        let trusted: SocketAddr = "10.0.0.7:4000".parse().expect("addr");
        let mapped_v6: SocketAddr = "[::ffff:127.0.0.1]:4000".parse().expect("addr");
        let stranger: SocketAddr = "10.0.1.7:4000".parse().expect("addr");
        assert_eq!(
            c.identity(Some(trusted), &h),
            Some(ProxyIdentity {
                user: "ada".into(),
                mapped: Some((Role::Admin, None))
            })
        );
        assert!(c.identity(Some(mapped_v6), &h).is_some());
        assert_eq!(c.identity(Some(stranger), &h), None);
        assert_eq!(c.identity(None, &h), None);
    }

    #[test]
    fn groups_map_to_roles_and_targets() {
        let c = config();
        assert_eq!(
            c.map_groups(&["scos-maintainers", "other"]),
            Some((
                Role::Maintainer,
                Some(vec!["4-scos-next".into(), "4-scos-stable".into()])
            ))
        );
        assert_eq!(
            c.map_groups(&["scos-maintainers", "release-team"]),
            Some((Role::Maintainer, None))
        );
        assert_eq!(c.map_groups(&["other"]), None);
        assert!(GroupRule::parse("x=root").is_err());
        assert!(GroupRule::parse("x=admin:4-scos-next").is_err());
        assert!(GroupRule::parse("=admin").is_err());
        assert!(parse_trusted("example.org").is_err());
    }

    #[test]
    fn client_address_comes_from_the_proxy_only_when_trusted() {
        let c = config();
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.4".parse().expect("v"),
        );
        let trusted: SocketAddr = "127.0.0.1:1".parse().expect("addr");
        let stranger: SocketAddr = "192.0.2.1:1".parse().expect("addr");
        assert_eq!(c.client_ip(Some(trusted), &h), "198.51.100.4".parse().ok());
        assert_eq!(c.client_ip(Some(stranger), &h), Some(stranger.ip()));
    }
}
