//! What the node API answers, built from the state for one node. Reads are
//! local: a node's attributes change rarely, and every write the node makes
//! itself goes through the leader before the node moves on.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use cohort_api::catalog::{self, Sensitivity};
use cohort_api::nodeapi::{
    DEPLOY_CONFIG_VERSION, DeployConfig, Interface, IpMethod, MemberUrls, NodeList, ScriptList,
    SshCertReply, parse_ids,
};
use cohort_state::{State, TreeEntry};
use ssh_key::PublicKey;
use ssh_key::certificate::{Builder, CertType};

use super::{ApiRefusal, NodeApiService};
use crate::https::{Lookup, TreeView};

/// The largest private file served (they are configuration, not media).
const MAX_PRIVATE: u64 = 64 * 1024 * 1024;

/// Time zone, keymap and locale of the member's own host, given to nodes
/// as confluent does (read once at start).
pub struct HostDefaults {
    timezone: String,
    keymap: String,
    locale: String,
}

impl HostDefaults {
    pub fn read() -> HostDefaults {
        let file = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let timezone = std::fs::read_link("/etc/localtime")
            .ok()
            .and_then(|t| {
                let t = t.to_string_lossy().into_owned();
                t.split_once("zoneinfo/").map(|(_, z)| z.to_owned())
            })
            .or_else(|| Some(file("/etc/timezone").trim().to_owned()))
            .filter(|z| !z.is_empty())
            .unwrap_or_else(|| "UTC".to_owned());
        let keymap = shell_var(&file("/etc/vconsole.conf"), "KEYMAP")
            .or_else(|| shell_var(&file("/etc/default/keyboard"), "XKBLAYOUT"))
            .unwrap_or_else(|| "us".to_owned());
        let locale = shell_var(&file("/etc/locale.conf"), "LANG")
            .or_else(|| shell_var(&file("/etc/default/locale"), "LANG"))
            .unwrap_or_else(|| "en_US.UTF-8".to_owned());
        HostDefaults {
            timezone,
            keymap,
            locale,
        }
    }
}

/// `NAME=value` or `NAME="value"` of a shell-style file.
fn shell_var(text: &str, name: &str) -> Option<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix(name)?.strip_prefix('='))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .find(|v| !v.is_empty())
}

/// Every non-empty, non-broken effective value of a node.
fn values(state: &State, node: &str) -> Result<BTreeMap<String, String>, ApiRefusal> {
    let values = state
        .inventory()
        .node_values(node)
        .ok_or_else(|| ApiRefusal::NotFound(format!("no node named {node:?}")))?;
    Ok(values
        .into_iter()
        .filter(|v| !v.value.is_empty() && v.broken.is_none())
        .map(|v| (v.name.to_owned(), v.value.to_owned()))
        .collect())
}

fn list(value: Option<&str>) -> Vec<String> {
    value
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

impl NodeApiService {
    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        self.member.core().state.read(f)
    }

    /// The node whose `net.*.hwaddr` or `id.uuid` matches.
    pub(super) fn whoami(&self, ids: &str) -> Result<String, ApiRefusal> {
        let (macs, uuid) =
            parse_ids(ids).map_err(|e| ApiRefusal::BadRequest(format!("cohort-ids: {e}")))?;
        let state = self.member.core().state.clone();
        let found = self.ids.find(&state, &macs, uuid.as_deref());
        found.ok_or_else(|| {
            ApiRefusal::NotFound(format!(
                "no node has {ids}; set net.hwaddr or id.uuid with `cohort nodeattrib`"
            ))
        })
    }

    pub(super) fn deploy_config(&self, node: &str) -> Result<DeployConfig, ApiRefusal> {
        let (vals, members, tree_keys) = self.read(|s| {
            let members: Vec<_> = s.members().values().cloned().collect();
            let keys: Vec<[u8; 32]> = s
                .tree()
                .range("public/site/ssh/".to_owned()..)
                .take_while(|(p, _)| p.starts_with("public/site/ssh/"))
                .filter(|(p, _)| p.ends_with(".rootpubkey"))
                .filter_map(|(_, e)| match e {
                    TreeEntry::File { sha256, size, .. } if *size <= 65536 => Some(*sha256),
                    _ => None,
                })
                .collect();
            (values(s, node), members, keys)
        });
        let vals = vals?;
        let domain = vals.get("dns.domain").cloned();
        let root_authorized_keys = tree_keys
            .iter()
            .filter_map(|sha| std::fs::read_to_string(self.member.tree.blobs().path(sha)).ok())
            .flat_map(|text| {
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        Ok(DeployConfig {
            version: DEPLOY_CONFIG_VERSION,
            hostname: node.to_owned(),
            fqdn: domain.as_ref().map(|d| format!("{node}.{d}")),
            profile: profile_of(&vals),
            dnsdomain: domain,
            nameservers: list(vals.get("dns.servers").map(String::as_str)),
            ntpservers: list(vals.get("ntp.servers").map(String::as_str)),
            timezone: self.host.timezone.clone(),
            keymap: self.host.keymap.clone(),
            locale: self.host.locale.clone(),
            rootpassword: vals.get("crypted.rootpassword").cloned(),
            interfaces: interfaces(&vals),
            members: members
                .iter()
                .map(|m| MemberUrls {
                    name: m.name.clone(),
                    urls: m
                        .https_addresses
                        .iter()
                        .map(|a| format!("https://{a}"))
                        .collect(),
                })
                .collect(),
            ssh_cas: members
                .iter()
                .map(|m| m.ssh_ca_public.trim().to_owned())
                .filter(|k| !k.is_empty())
                .collect(),
            root_authorized_keys,
        })
    }

    /// Non-secret attributes only: secrets and hashes never leave.
    pub(super) fn my_attributes(&self, node: &str) -> Result<BTreeMap<String, String>, ApiRefusal> {
        let vals = self.read(|s| values(s, node))?;
        Ok(vals
            .into_iter()
            .filter(|(name, _)| {
                catalog::resolve(name).is_ok_and(|a| a.spec.sensitivity == Sensitivity::Plain)
            })
            .collect())
    }

    /// `ssh.trustnodes` (all nodes by default), by name and FQDN.
    pub(super) fn node_list(&self, node: &str) -> Result<NodeList, ApiRefusal> {
        self.read(|s| {
            let vals = values(s, node)?;
            let inv = s.inventory();
            let names: Vec<String> = match vals.get("ssh.trustnodes") {
                Some(range) => inv
                    .expand_names(range)
                    .map_err(|e| ApiRefusal::Internal(format!("ssh.trustnodes of {node}: {e}")))?,
                None => inv.node_names().map(str::to_owned).collect(),
            };
            let mut nodes = Vec::with_capacity(names.len() * 2);
            for n in names {
                let domain = inv.node_value(&n, "dns.domain").map(|v| v.value.to_owned());
                if let Some(d) = domain.filter(|d| !d.is_empty()) {
                    nodes.push(format!("{n}.{d}"));
                }
                nodes.push(n);
            }
            Ok(NodeList { nodes })
        })
    }

    /// A host certificate for one of the node's public keys, signed by
    /// this member's SSH CA.
    pub(super) fn sign_host_key(
        &self,
        node: &str,
        pubkey: &str,
    ) -> Result<SshCertReply, ApiRefusal> {
        let key = PublicKey::from_openssh(pubkey.trim()).map_err(|e| {
            ApiRefusal::BadRequest(format!("pubkey is not an OpenSSH public key: {e}"))
        })?;
        let vals = self.read(|s| values(s, node))?;
        let principals = principals(node, &vals);
        let mut nonce = [0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce)
            .map_err(|_| ApiRefusal::Internal("the random generator failed".to_owned()))?;
        let now = crate::server::member::now_ms() / 1000;
        let sign = || -> Result<String, ssh_key::Error> {
            // No end of validity, as confluent: a host key lives as long as
            // the installation; a minute of slack for the node's clock.
            let mut b = Builder::new(
                nonce.to_vec(),
                key.key_data().clone(),
                now.saturating_sub(60),
                i64::MAX as u64,
            )?;
            b.cert_type(CertType::Host)?;
            b.key_id(node)?;
            for p in &principals {
                b.valid_principal(p.clone())?;
            }
            b.sign(self.member.identity.ssh_ca_key())?.to_openssh()
        };
        let certificate =
            sign().map_err(|e| ApiRefusal::Internal(format!("cannot sign the host key: {e}")))?;
        Ok(SshCertReply {
            certificate,
            member: self.member.name.clone(),
            principals,
        })
    }

    pub(super) fn script_list(&self, node: &str, phase: &str) -> Result<ScriptList, ApiRefusal> {
        if !is_plain_name(phase) {
            return Err(ApiRefusal::BadRequest(format!(
                "{phase:?} is not a phase name"
            )));
        }
        self.read(|s| {
            let profile = profile_of(&values(s, node)?).ok_or_else(|| no_profile(node))?;
            let dir = format!("public/os/{profile}/scripts/{phase}.d/");
            let scripts = s
                .tree()
                .range(dir.clone()..)
                .take_while(|(p, _)| p.starts_with(&dir))
                .filter_map(|(p, _)| p[dir.len()..].split('/').next().map(str::to_owned))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            Ok(ScriptList { scripts })
        })
    }

    /// A file of `private/os/<profile>/`: the node API's only way to it.
    pub(super) async fn private_file(&self, node: &str, file: &str) -> Result<Vec<u8>, ApiRefusal> {
        if file.is_empty() || !file.split('/').all(is_plain_name) {
            return Err(ApiRefusal::BadRequest(format!(
                "{file:?}: give a path of plain names inside the profile's private directory"
            )));
        }
        let profile = self
            .read(|s| values(s, node).map(|v| profile_of(&v)))?
            .ok_or_else(|| no_profile(node))?;
        let path = format!("private/os/{profile}/{file}");
        let view = crate::tree::ManifestView::new(self.member.clone());
        let read = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiRefusal> {
            let found = match view.lookup(&path) {
                Lookup::Present(f) if f.len <= MAX_PRIVATE => f,
                Lookup::Present(_) => {
                    return Err(ApiRefusal::Internal(format!(
                        "{path} is too large to serve"
                    )));
                }
                Lookup::Pending => {
                    return Err(ApiRefusal::Unavailable(format!(
                        "{path} is not yet synchronized to this member; retry"
                    )));
                }
                Lookup::Absent => return Err(ApiRefusal::NotFound(format!("no file {path}"))),
            };
            let mut file = view
                .open(&found)
                .map_err(|e| ApiRefusal::Internal(format!("{path}: {e}")))?
                .ok_or_else(|| ApiRefusal::Unavailable(format!("{path} changed; retry")))?;
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut bytes)
                .map_err(|e| ApiRefusal::Internal(format!("{path}: {e}")))?;
            Ok(bytes)
        });
        read.await
            .map_err(|e| ApiRefusal::Internal(e.to_string()))?
    }
}

/// The profile a node is being deployed with: pending, else staged, else
/// the current one (confluent's order).
fn profile_of(vals: &BTreeMap<String, String>) -> Option<String> {
    [
        "deployment.pendingprofile",
        "deployment.stagedprofile",
        "deployment.profile",
    ]
    .iter()
    .find_map(|a| vals.get(*a).cloned())
}

fn no_profile(node: &str) -> ApiRefusal {
    ApiRefusal::Conflict(format!(
        "node {node} has no profile; run `cohort nodedeploy {node} -n PROFILE`"
    ))
}

fn is_plain_name(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._-+".contains(&c))
}

/// Name, FQDN, every `net.*.hostname` alias (and its FQDN) and every
/// configured address.
fn principals(node: &str, vals: &BTreeMap<String, String>) -> Vec<String> {
    let domain = vals.get("dns.domain");
    let mut out = vec![node.to_owned()];
    let add = |name: &str, out: &mut Vec<String>| {
        if !name.is_empty() && !out.iter().any(|o| o == name) {
            out.push(name.to_owned());
        }
    };
    if let Some(d) = domain {
        add(&format!("{node}.{d}"), &mut out);
    }
    for (name, value) in vals {
        if !name.starts_with("net.") {
            continue;
        }
        if name.ends_with("hostname") {
            for alias in list(Some(value.as_str())) {
                add(&alias, &mut out);
                if let Some(d) = domain.filter(|_| !alias.contains('.')) {
                    add(&format!("{alias}.{d}"), &mut out);
                }
            }
        } else if name.ends_with("ipv4_address") || name.ends_with("ipv6_address") {
            let ip = value.split('/').next().unwrap_or_default();
            if ip.parse::<IpAddr>().is_ok() {
                add(ip, &mut out);
            }
        }
    }
    out
}

/// `net.<iface>.<attr>` (and `net.<attr>` for the unnamed one) grouped by
/// interface.
fn interfaces(vals: &BTreeMap<String, String>) -> Vec<Interface> {
    let mut by_name: BTreeMap<String, BTreeMap<&str, &str>> = BTreeMap::new();
    for (name, value) in vals {
        let Some(rest) = name.strip_prefix("net.") else {
            continue;
        };
        let (iface, attr) = rest.rsplit_once('.').unwrap_or(("", rest));
        by_name
            .entry(iface.to_owned())
            .or_default()
            .insert(attr, value.as_str());
    }
    by_name
        .into_iter()
        .map(|(name, a)| {
            let (v4, v4p) = split_prefix(a.get("ipv4_address").copied());
            let (v6, v6p) = split_prefix(a.get("ipv6_address").copied());
            Interface {
                interface_names: list(a.get("interface_names").copied()),
                hwaddr: a.get("hwaddr").map(|s| s.to_ascii_lowercase()),
                ipv4_method: method(a.get("ipv4_method").copied(), v4.is_some(), true),
                ipv4_prefix: v4p.or(v4.as_ref().map(|_| 24)),
                ipv4_address: v4,
                ipv4_gateway: a.get("ipv4_gateway").map(|s| s.to_string()),
                ipv6_method: method(a.get("ipv6_method").copied(), v6.is_some(), false),
                ipv6_prefix: v6p.or(v6.as_ref().map(|_| 64)),
                ipv6_address: v6,
                ipv6_gateway: a.get("ipv6_gateway").map(|s| s.to_string()),
                mtu: a.get("mtu").and_then(|m| m.parse().ok()),
                hostnames: list(a.get("hostname").copied()),
                name,
            }
        })
        .collect()
}

fn split_prefix(value: Option<&str>) -> (Option<String>, Option<u8>) {
    match value {
        None => (None, None),
        Some(v) => match v.split_once('/') {
            Some((ip, p)) => (Some(ip.to_owned()), p.parse().ok()),
            None => (Some(v.to_owned()), None),
        },
    }
}

/// The method as the OS should apply it. confluent's `firmwaredhcp` and
/// `firmwarenone` mean "static once the OS runs"; unset means static when
/// an address is given, else DHCP for IPv4 and nothing for IPv6.
fn method(set: Option<&str>, has_address: bool, v4: bool) -> IpMethod {
    match set {
        Some("dhcp") => IpMethod::Dhcp,
        Some("none") => IpMethod::None,
        Some(_) if has_address => IpMethod::Static,
        Some(_) => IpMethod::None,
        None if has_address => IpMethod::Static,
        None if v4 => IpMethod::Dhcp,
        None => IpMethod::None,
    }
}
