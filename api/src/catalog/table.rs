//! The catalog itself: one entry per attribute, sorted by name.
//!
//! Descriptions are written for the admin reading `nodeattrib` help, in
//! our own words after confluent's. Entries ending in `.*` stand for a
//! family of free-form names (`custom.<anything>`).

use super::ValueType::{Bool, Enum, EnumList, Int, KeyValues, List, Text};
use super::checks;
use super::{AttrSpec, Check, Scope, Sensitivity, ValueType};

/// Builds a plain attribute settable on nodes and groups; the methods below
/// adjust it, so each table row reads as one sentence.
const fn attr(name: &'static str, ty: ValueType, description: &'static str) -> AttrSpec {
    AttrSpec {
        name,
        description,
        ty,
        sensitivity: Sensitivity::Plain,
        scope: Scope::Both,
        check: None,
    }
}

impl AttrSpec {
    const fn secret(mut self) -> Self {
        self.sensitivity = Sensitivity::Secret;
        self
    }
    const fn crypted(mut self) -> Self {
        self.sensitivity = Sensitivity::Crypted;
        self
    }
    const fn only(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }
    const fn check(mut self, check: Check) -> Self {
        self.check = Some(check);
        self
    }
}

const IP_METHODS: &[&str] = &["dhcp", "static", "firmwaredhcp", "firmwarenone", "none"];

const HM_METHODS: &[&str] = &[
    "affluent",
    "cnos",
    "cooltera",
    "deltapdu",
    "eatonpdu",
    "enclosure",
    "enlogic",
    "enos",
    "geist",
    "ipmi",
    "null",
    "nxos",
    "pdu",
    "proxmox",
    "raritan",
    "redfish",
    "srlinux",
    "vcenter",
];

/// `ml2` is named in confluent's own description of the attribute.
const BMC_PORTS: &[&str] = &["dedicated", "lom", "ocp", "ml2", "lom_*", "ocp_*"];

// One row per attribute, unwrapped, so the table reads and diffs as a list.
#[rustfmt::skip]
pub(super) static TABLE: &[AttrSpec] = &[
    attr("collective.manager", Text, "Collective member currently responsible for this node (console, hardware operations)"),
    attr("collective.managercandidates", Text, "Noderange of members allowed to manage and deploy this node; enables failover"),
    attr("console.logging", Enum(&["full", "memory", "interactive", "none"]), "How much console output is kept: full (default), memory, interactive or none"),
    attr("console.method", Enum(&["ssh", "ipmi", "openbmc", "tsmsol", "vcenter", "proxmox"]), "How to reach the node's text console; unset disables the console"),
    attr("crypted.grubpassword", Text, "Password required to change GRUB settings at boot; only a hash is kept").crypted(),
    attr("crypted.rootpassword", Text, "Root password of the deployed OS; only a one-way hash is kept").crypted(),
    attr("crypted.selfapikey", Text, "Hash of the API key the node uses for its self-service requests").crypted(),
    attr("custom.*", Text, "Site-defined attribute with any name under custom.; not checked"),
    attr("custom.nodesecret.*", Text, "Site-defined secret, encrypted and never shown; readable by the node itself").secret(),
    attr("deployment.apiarmed", Text, "Whether the node may fetch an API key: once, continuous, or until a time like 2026-11-30T18:00:00Z").check(checks::apiarmed),
    attr("deployment.client_ip", Text, "Address the node last reported deployment progress from"),
    attr("deployment.encryptboot", Enum(&["tpm2", "tpm2:*", "none"]), "Encrypt the installed OS disk: tpm2 (unlocked by this TPM) or none"),
    attr("deployment.lock", Enum(&["autolock", "locked", "unlocked"]), "Guard against redeployment: locked refuses, autolock locks after the next deployment"),
    attr("deployment.pendingprofile", Text, "OS profile offered to the node at its next network boot"),
    attr("deployment.profile", Text, "OS profile whose deployment last completed"),
    attr("deployment.sealedapikey", Text, "TPM-sealed API key the node stored, returned when key fetching is not armed"),
    attr("deployment.stagedprofile", Text, "OS profile installed and awaiting its final boot"),
    attr("deployment.state", Text, "Deployment state reported by the node, such as failed or succeeded"),
    attr("deployment.state_detail", Text, "Details of the deployment state, as reported by the OS profile"),
    attr("deployment.state_last_updated", Text, "When the node last reported deployment state"),
    attr("deployment.storage", Text, "Disk to install the OS on: a device name or a hint such as m2"),
    attr("deployment.useinsecureprotocols", Enum(&["never", "firmware", "always"]), "Allow TFTP/plain HTTP during boot: never (default), firmware, always"),
    attr("discovery.nodeconfig", Text, "nodeconfig settings applied after the node is discovered, e.g. bmc.ipv4_address=..."),
    attr("discovery.passwordrules", KeyValues(&["expiration", "loginfailures", "complexity", "reuse"]), "BMC password rules set at discovery, e.g. expiration=no,loginfailures=no"),
    attr("discovery.policy", EnumList(&["manual", "permissive", "pxe", "open", "verified"]), "How discovered nodes are configured: comma list of manual, permissive, pxe, open, verified"),
    attr("dns.domain", Text, "DNS domain given to the node at deployment"),
    attr("dns.servers", List, "DNS server addresses given to the node at deployment (comma list)").check(checks::address_list),
    attr("enclosure.bay", Int, "Bay number of the node in its enclosure").check(checks::positive),
    attr("enclosure.extends", Text, "For daisy-chained enclosures, the manager node one step closer to the uplink"),
    attr("enclosure.manager", Text, "Node that manages this node's enclosure (chassis)"),
    attr("groups", List, "Groups of this node, highest priority first; everything is always last").only(Scope::Node),
    attr("hardwaremanagement.manager", Text, "BMC address or name, optionally with /prefix (e.g. 10.1.0.5/16)"),
    attr("hardwaremanagement.manager_tls_name", Text, "Name to verify the BMC's TLS certificate against"),
    attr("hardwaremanagement.method", Enum(HM_METHODS), "Protocol for power, sensors and inventory; unset means not managed"),
    attr("hardwaremanagement.port", Enum(BMC_PORTS), "BMC network port applied at deployment: dedicated, lom, ocp, ml2, or a numbered lom_N/ocp_N"),
    attr("hardwaremanagement.vlan", Text, "VLAN the BMC should tag its traffic with, applied at deployment"),
    attr("id.index", Int, "Numeric index of the node, assigned automatically").check(checks::positive),
    attr("id.model", Text, "Model number of the node, set by discovery"),
    attr("id.serial", Text, "Manufacturer serial number of the node, set by discovery"),
    attr("id.uuid", Text, "SMBIOS UUID of the node, set by discovery").check(checks::uuid),
    attr("info.note", Text, "Free-form note for administrators"),
    attr("location.height", Text, "Height of the system in rack units"),
    attr("location.rack", Text, "Rack the node is in"),
    attr("location.room", Text, "Room the node is in"),
    attr("location.row", Text, "Row of the rack the node is in"),
    attr("location.u", Text, "Position of the node in its rack (rack unit)"),
    attr("net.bootable", Bool, "Whether this interface network-boots; PXE discovery records its MAC here"),
    attr("net.connection_name", Text, "Connection or team name to give this interface in the deployed OS"),
    attr("net.extra_settings", Text, "Extra network settings passed to the OS profile for this interface"),
    attr("net.hostname", List, "Host names of this interface (comma list of aliases), used as TLS and SSH names"),
    attr("net.hwaddr", Text, "MAC address of this interface, usually filled in by PXE discovery").check(checks::mac),
    attr("net.interface_names", List, "OS interface name(s) this entry applies to; several names make a team"),
    attr("net.ipv4_address", Text, "Static IPv4 address, optionally with /prefix; unset resolves the node name").check(checks::ipv4_address),
    attr("net.ipv4_gateway", Text, "IPv4 default gateway for this interface").check(checks::ipv4_gateway),
    attr("net.ipv4_method", Enum(IP_METHODS), "IPv4 configuration: dhcp, static, firmwaredhcp, firmwarenone or none"),
    attr("net.ipv6_address", Text, "Static IPv6 address, optionally with /prefix; unset resolves the node name").check(checks::ipv6_address),
    attr("net.ipv6_gateway", Text, "IPv6 default gateway for this interface").check(checks::ipv6_gateway),
    attr("net.ipv6_method", Enum(IP_METHODS), "IPv6 configuration: dhcp, static, firmwaredhcp, firmwarenone or none"),
    attr("net.mtu", Int, "MTU to configure on this interface").check(checks::mtu),
    attr("net.switch", Text, "Switch node this interface is cabled to (used by discovery)"),
    attr("net.switchport", Text, "Switch port this interface is cabled to (used by discovery)"),
    attr("net.team_mode", Enum(&["lacp", "loadbalance", "roundrobin", "activebackup", "none"]), "Make this interface a team (bond) with this mode"),
    attr("net.vlan_id", Text, "Ethernet VLAN id or InfiniBand partition key of this connection"),
    attr("noderange", Text, "Makes this a dynamic group: its members are this noderange").only(Scope::Group),
    attr("nodes", List, "Static members of this group (comma list)").only(Scope::Group),
    attr("ntp.servers", List, "NTP servers given to the node at deployment (comma list)"),
    attr("power.outlet", Text, "PDU outlet feeding this power input"),
    attr("power.pdu", Text, "PDU node feeding this power input"),
    attr("pubkeys.addpolicy", Enum(&["tofu", "manual", "ca", "ca-only"]), "Accepting unknown keys: tofu (first seen, default), manual, ca, ca-only"),
    attr("pubkeys.ssh", Text, "Pinned SSH host key fingerprint of the node"),
    attr("pubkeys.tls", Text, "Pinned TLS certificate fingerprint of the node"),
    attr("pubkeys.tls_hardwaremanager", Text, "Pinned TLS certificate fingerprint of the BMC (sha256$hex)"),
    attr("pubkeys.tls_lifetime", Int, "Lifetime in days of TLS certificates issued to the node (default 47)").check(checks::positive),
    attr("secret.hardwaremanagementpassword", Text, "Password for the BMC or switch (alias bmcpass, switchpass)").secret(),
    attr("secret.hardwaremanagementuser", Text, "User name for the BMC or switch (alias bmcuser, switchuser)").secret(),
    attr("secret.ipmikg", Text, "IPMI Kg key; rarely needed, defaults to the password").secret(),
    attr("secret.selfapiarmtoken", Text, "One-time token a node image uses to obtain its API key").secret(),
    attr("secret.snmpcommunity", Text, "SNMPv1/v2c community string (default public)").secret(),
    attr("snmp.privacyprotocol", Enum(&["aes", "des"]), "SNMPv3 privacy protocol: aes or des"),
    attr("ssh.trustnodes", Text, "Noderange of nodes allowed to SSH into this node without a password"),
    attr("trusted.subnets", List, "Remote subnets (comma list of CIDRs) trusted like local ones for API key grants").check(checks::subnets),
    attr("type", Enum(&["switch", "server", "rackmount", "dense", "enclosure"]), "Kind of node: switch, server, rackmount, dense or enclosure"),
];

/// Old spellings confluent accepts, resolved to the real name at the
/// boundary so storage, filters and expressions only ever see the real one.
pub(super) static ALIASES: &[(&str, &str)] = &[
    ("bmc", "hardwaremanagement.manager"),
    ("bmcpass", "secret.hardwaremanagementpassword"),
    ("bmcuser", "secret.hardwaremanagementuser"),
    ("switchpass", "secret.hardwaremanagementpassword"),
    ("switchuser", "secret.hardwaremanagementuser"),
];

/// Rewrites an accepted value into its one canonical spelling.
pub(super) type Form = fn(&str) -> String;

/// Attributes whose valid values have one canonical spelling, and the
/// function producing it (run after the type and check accepted the value).
/// A side table rather than an `AttrSpec` field, so the public struct stays
/// as the other modules know it.
pub(super) static CANONICAL_FORMS: &[(&str, Form)] = &[
    ("dns.servers", checks::address_list_form),
    ("id.uuid", checks::uuid_form),
    ("net.hwaddr", checks::mac_form),
    ("net.ipv4_address", checks::address_form),
    ("net.ipv4_gateway", checks::address_form),
    ("net.ipv6_address", checks::address_form),
    ("net.ipv6_gateway", checks::address_form),
    ("trusted.subnets", checks::subnets_form),
];
