//! `cohort attributes`: the attribute catalog, as an admin reads it.
//!
//! Printed from `cohort_api::catalog` itself, so the list is exactly the
//! names the validation accepts; no member is asked. An unknown attribute
//! error points here.

use std::io::Write;

use clap::Args;
use cohort_api::catalog::{self, AttrSpec, Scope, Sensitivity, ValueType};
use cohort_api::glob::{glob_match, is_glob};

const ABOUT: &str = "\
List the attributes nodes and groups can have, with what each is for and \
which values it takes.

Names such as `net.hwaddr` stand for every interface's attribute \
(`net.mgt.hwaddr`, `net.data.hwaddr`, ...), and `power.pdu` for every power \
input's. `custom.*` holds a site's own attributes, unchecked. The list comes \
from this binary's catalog: it needs no member.

With PATTERN, only the attributes whose name contains it, or matches it as a \
glob (`*`, `?`).";

const EXAMPLES: &str = "\
Examples:
  cohort attributes
  cohort attributes deployment
  cohort attributes 'net.*'
  cohort attributes --json console";

/// List the attributes nodes and groups can have.
#[derive(Debug, Args)]
#[command(long_about = ABOUT, after_long_help = EXAMPLES)]
pub struct AttributesArgs {
    /// Only attributes whose name contains PATTERN or matches it as a glob.
    pub pattern: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &AttributesArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let wanted = |name: &str| match args.pattern.as_deref() {
        None => true,
        Some(p) if is_glob(p) => glob_match(p, name),
        Some(p) => name.contains(p),
    };
    let specs: Vec<&AttrSpec> = catalog::all().iter().filter(|s| wanted(s.name)).collect();
    let aliases: Vec<(&str, &str)> = catalog::aliases()
        .iter()
        .copied()
        .filter(|(alias, real)| wanted(alias) || wanted(real))
        .collect();
    if specs.is_empty() && aliases.is_empty() {
        let pattern = args.pattern.as_deref().unwrap_or_default();
        anyhow::bail!(
            "no attribute name contains or matches {pattern:?}; `cohort attributes` lists them all"
        );
    }
    if args.json {
        let mut list: Vec<serde_json::Value> = specs.iter().map(|s| json(s)).collect();
        list.extend(
            aliases
                .iter()
                .map(|(alias, real)| serde_json::json!({ "name": alias, "alias_of": real })),
        );
        serde_json::to_writer_pretty(&mut *out, &list)?;
        writeln!(out)?;
        return Ok(());
    }
    let width = specs
        .iter()
        .map(|s| s.name.len())
        .chain(aliases.iter().map(|(a, _)| a.len()))
        .max()
        .unwrap_or(0);
    for spec in &specs {
        let notes = notes(spec);
        if notes.is_empty() {
            writeln!(out, "{:<width$}  {}", spec.name, spec.description)?;
        } else {
            writeln!(
                out,
                "{:<width$}  {} [{}]",
                spec.name,
                spec.description,
                notes.join("; ")
            )?;
        }
    }
    for (alias, real) in &aliases {
        writeln!(out, "{alias:<width$}  Another name for {real}")?;
    }
    Ok(())
}

/// What the description does not say: values, kind, secrecy, scope.
fn notes(spec: &AttrSpec) -> Vec<String> {
    let mut notes = Vec::new();
    match spec.ty {
        ValueType::Text => {}
        ValueType::Bool => notes.push("true or false".to_owned()),
        ValueType::Int => notes.push("a whole number".to_owned()),
        ValueType::List => notes.push("comma list".to_owned()),
        ValueType::Enum(values) => notes.push(format!("one of: {}", values.join(", "))),
        ValueType::EnumList(values) => {
            notes.push(format!("comma list of: {}", values.join(", ")));
        }
        ValueType::KeyValues(keys) => {
            notes.push(format!(
                "comma list of key=value, keys: {}",
                keys.join(", ")
            ));
        }
    }
    match spec.sensitivity {
        Sensitivity::Plain => {}
        Sensitivity::Secret => notes.push("secret: stored encrypted, shown as ********".to_owned()),
        Sensitivity::Crypted => notes.push("hashed: never shown".to_owned()),
    }
    match spec.scope {
        Scope::Both => {}
        Scope::Node => notes.push("nodes only".to_owned()),
        Scope::Group => notes.push("groups only".to_owned()),
    }
    notes
}

fn json(spec: &AttrSpec) -> serde_json::Value {
    let (kind, values): (&str, &[&str]) = match spec.ty {
        ValueType::Text => ("text", &[]),
        ValueType::Bool => ("bool", &[]),
        ValueType::Int => ("integer", &[]),
        ValueType::List => ("list", &[]),
        ValueType::Enum(v) => ("one_of", v),
        ValueType::EnumList(v) => ("list_of", v),
        ValueType::KeyValues(v) => ("key_values", v),
    };
    let sensitivity = match spec.sensitivity {
        Sensitivity::Plain => "plain",
        Sensitivity::Secret => "secret",
        Sensitivity::Crypted => "crypted",
    };
    let scope = match spec.scope {
        Scope::Both => "nodes_and_groups",
        Scope::Node => "nodes",
        Scope::Group => "groups",
    };
    serde_json::json!({
        "name": spec.name,
        "description": spec.description,
        "type": kind,
        "values": values,
        "sensitivity": sensitivity,
        "scope": scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(pattern: Option<&str>, json: bool) -> anyhow::Result<String> {
        let args = AttributesArgs {
            pattern: pattern.map(str::to_owned),
            json,
        };
        let mut out = Vec::new();
        run(&args, &mut out)?;
        Ok(String::from_utf8(out)?)
    }

    #[test]
    fn every_catalog_name_and_alias_is_listed_once() -> anyhow::Result<()> {
        let all = text(None, false)?;
        let names: Vec<&str> = all
            .lines()
            .map(|l| l.split_whitespace().next().unwrap_or_default())
            .collect();
        let mut want: Vec<&str> = catalog::all().iter().map(|s| s.name).collect();
        want.extend(catalog::aliases().iter().map(|(a, _)| *a));
        assert_eq!(names, want);
        // Every listed name is one the validation accepts (the open
        // families through a member of theirs).
        for name in names {
            let probe = name.replace(".*", ".x");
            assert!(
                catalog::resolve(&probe).is_ok(),
                "{probe} is listed but refused"
            );
        }
        Ok(())
    }

    #[test]
    fn values_secrecy_and_scope_are_shown() -> anyhow::Result<()> {
        let out = text(Some("console.method"), false)?;
        assert!(
            out.starts_with("console.method  How to reach")
                && out.contains("[one of: ssh, ipmi, openbmc, tsmsol, vcenter, proxmox]"),
            "{out}"
        );
        let out = text(Some("secret.hardwaremanagementpassword"), false)?;
        assert!(out.contains("secret: stored encrypted"), "{out}");
        // The aliases that stand for it come along.
        assert!(
            out.contains("bmcpass") && out.contains("switchpass"),
            "{out}"
        );
        let out = text(Some("groups"), false)?;
        assert!(out.contains("nodes only"), "{out}");
        Ok(())
    }

    #[test]
    fn globs_and_substrings_select() -> anyhow::Result<()> {
        let out = text(Some("net.*"), false)?;
        assert!(out.lines().count() > 5, "{out}");
        assert!(out.lines().all(|l| l.starts_with("net.")), "{out}");
        let out = text(Some("rack"), false)?;
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.starts_with("location.rack"), "{out}");
        Ok(())
    }

    #[test]
    fn json_carries_type_values_and_aliases() -> anyhow::Result<()> {
        let out = text(Some("bmc"), true)?;
        let list: serde_json::Value = serde_json::from_str(&out)?;
        let alias = list
            .as_array()
            .and_then(|l| l.iter().find(|e| e["name"] == "bmc"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(alias["alias_of"], "hardwaremanagement.manager");
        let out = text(Some("console.logging"), true)?;
        let list: serde_json::Value = serde_json::from_str(&out)?;
        assert_eq!(list[0]["type"], "one_of");
        assert_eq!(list[0]["values"][0], "full");
        assert_eq!(list[0]["sensitivity"], "plain");
        assert_eq!(list[0]["scope"], "nodes_and_groups");
        Ok(())
    }

    #[test]
    fn a_pattern_matching_nothing_is_an_error_naming_it() {
        let e = text(Some("nosuchthing"), false).expect_err("nothing matches");
        assert!(e.to_string().contains("\"nosuchthing\""), "{e}");
    }
}
