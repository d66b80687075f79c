//! The node self-service API's wire contract (DESIGN §9,
//! docs/design/0006-node-api.md): what a node being deployed sends to and
//! receives from any member's HTTPS listener under `/api/self/`.
//!
//! These are the only serde types of `cohort-api`: they *are* a wire
//! format, shared by the member (which serves them) and `cohort-agent`
//! (which reads them), so both sides compile against one definition.
//! Members answer YAML by default and JSON on `Accept: application/json`;
//! the agent asks for JSON. Fields may be added (readers ignore unknown
//! fields and default missing ones); none is ever renamed or reused.
//! `version` in [`DeployConfig`] is the marker.

use serde::{Deserialize, Serialize};

/// The path prefix of every node API route.
pub const PREFIX: &str = "/api/self/";

/// Request header naming the node (every route but `whoami`).
pub const NODE_HEADER: &str = "cohort-node";
/// Request header with the node's API key, in clear (TLS protects it);
/// members keep only its crypt hash (`crypted.selfapikey`).
pub const APIKEY_HEADER: &str = "cohort-apikey";
/// `whoami` request header: `mac=aa:bb:cc:dd:ee:ff/uuid=...`, any number of
/// `mac=` and at most one `uuid=`, separated by `/`.
pub const IDS_HEADER: &str = "cohort-ids";

/// Version of [`DeployConfig`]'s shape.
pub const DEPLOY_CONFIG_VERSION: u32 = 1;

/// `GET whoami`: the node a MAC or UUID belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhoAmI {
    pub node: String,
}

/// How an address family of an interface is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum IpMethod {
    /// Address, prefix and gateway below.
    Static,
    Dhcp,
    /// Leave this family unconfigured.
    #[default]
    None,
}

/// One network interface of the node (`net.<name>.*`, or the unnamed
/// `net.*` entry under the name `""`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Interface {
    /// The `net.<name>` entry name (not necessarily the OS's name).
    pub name: String,
    /// OS interface names this entry applies to (`net.*.interface_names`).
    pub interface_names: Vec<String>,
    /// MAC address, lower case with colons, when known.
    pub hwaddr: Option<String>,
    pub ipv4_method: IpMethod,
    /// Without prefix.
    pub ipv4_address: Option<String>,
    pub ipv4_prefix: Option<u8>,
    pub ipv4_gateway: Option<String>,
    pub ipv6_method: IpMethod,
    pub ipv6_address: Option<String>,
    pub ipv6_prefix: Option<u8>,
    pub ipv6_gateway: Option<String>,
    pub mtu: Option<u32>,
    /// Host name aliases of this interface (`net.*.hostname`).
    pub hostnames: Vec<String>,
}

/// A member the node may talk to, with its deployment URLs
/// (`https://HOST:PORT`, no trailing slash), tried in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct MemberUrls {
    pub name: String,
    pub urls: Vec<String>,
}

/// `GET deploycfg`: everything the agent needs to configure the target OS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DeployConfig {
    pub version: u32,
    /// The node's name, also its short host name.
    pub hostname: String,
    /// `hostname.dnsdomain` when a domain is set.
    pub fqdn: Option<String>,
    /// The profile being deployed (`deployment.pendingprofile`, else the
    /// staged one, else the current one).
    pub profile: Option<String>,
    pub dnsdomain: Option<String>,
    pub nameservers: Vec<String>,
    pub ntpservers: Vec<String>,
    /// IANA name, e.g. `Europe/Paris`.
    pub timezone: String,
    pub keymap: String,
    pub locale: String,
    /// `crypted.rootpassword`: a `$6$`, `$5$` or `$y$` hash, never clear.
    pub rootpassword: Option<String>,
    pub interfaces: Vec<Interface>,
    /// Every member of the collective and how to reach it.
    pub members: Vec<MemberUrls>,
    /// Every member's SSH CA public key (`ssh-ed25519 AAAA... NAME`), from
    /// `public/site/ssh/*.ca`: one `@cert-authority` line each.
    pub ssh_cas: Vec<String>,
    /// Public keys allowed to log in as root (`public/site/ssh/*.rootpubkey`).
    pub root_authorized_keys: Vec<String>,
}

/// `POST sshcert`: one host public key, OpenSSH one-line format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshCertRequest {
    pub pubkey: String,
}

/// The answer to [`SshCertRequest`]: an OpenSSH host certificate, signed
/// by the answering member's SSH CA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshCertReply {
    /// `ssh-ed25519-cert-v01@openssh.com AAAA...` one line.
    pub certificate: String,
    /// Which member signed it.
    pub member: String,
    pub principals: Vec<String>,
}

/// Deployment progress, in confluent's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeployStatus {
    /// The OS is installed; its first boot remains (pending -> staged).
    Staged,
    /// The first boot finished (staged -> current profile).
    Completed,
}

/// `POST updatestatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct StatusUpdate {
    pub status: Option<DeployStatus>,
    /// Free text such as `installing`, `failed`.
    pub state: Option<String>,
    pub state_detail: Option<String>,
}

/// `GET nodelist`: the nodes allowed to SSH in without a password
/// (`ssh.trustnodes`, all nodes by default), by name and FQDN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct NodeList {
    pub nodes: Vec<String>,
}

/// `GET scriptlist/<phase>`: file names of `scripts/<phase>.d/` of the
/// node's profile, in name order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ScriptList {
    pub scripts: Vec<String>,
}

/// Every refusal's body: a stable code and a message naming the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

/// Parses the `cohort-ids` header: `(macs, uuid)`, MACs lower case.
/// Unknown keys and empty items are errors, so a typo is not silently a
/// failed lookup.
pub fn parse_ids(header: &str) -> Result<(Vec<String>, Option<String>), String> {
    let mut macs = Vec::new();
    let mut uuid = None;
    for item in header.split('/').map(str::trim).filter(|s| !s.is_empty()) {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| format!("{item:?}: expected mac=... or uuid=..."))?;
        match key.trim().to_ascii_lowercase().as_str() {
            "mac" => macs.push(value.trim().to_ascii_lowercase().replace('-', ":")),
            "uuid" => uuid = Some(value.trim().to_ascii_lowercase()),
            other => return Err(format!("{other:?}: unknown id kind (mac or uuid)")),
        }
    }
    if macs.is_empty() && uuid.is_none() {
        return Err("no mac=... or uuid=... given".to_owned());
    }
    Ok((macs, uuid))
}

/// The inverse of [`parse_ids`].
pub fn format_ids(macs: &[String], uuid: Option<&str>) -> String {
    macs.iter()
        .map(|m| format!("mac={m}"))
        .chain(uuid.map(|u| format!("uuid={u}")))
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_refuse_junk() {
        let (macs, uuid) = parse_ids("mac=AA-BB-CC-DD-EE-FF/uuid=ABC").expect("parses");
        assert_eq!(macs, ["aa:bb:cc:dd:ee:ff"]);
        assert_eq!(uuid.as_deref(), Some("abc"));
        assert_eq!(
            parse_ids(&format_ids(&macs, uuid.as_deref())),
            Ok((macs, uuid))
        );
        assert!(parse_ids("").is_err());
        assert!(parse_ids("serial=1").is_err());
        assert!(parse_ids("mac").is_err());
    }

    #[test]
    fn deploy_config_reads_with_missing_and_unknown_fields() {
        let cfg: DeployConfig =
            serde_json::from_str(r#"{"hostname":"n1","future":1}"#).expect("lenient");
        assert_eq!(cfg.hostname, "n1");
        assert!(cfg.interfaces.is_empty());
    }
}
