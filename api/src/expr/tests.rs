//! Table-driven tests: every case goes through [`check`], which parses
//! with the real catalog, or [`check_with`] with a stand-in catalog, so the
//! evaluator can be exercised independently of the catalog's contents.

use super::*;
use proptest::prelude::*;

/// A node with a name and some attribute values; a value starting with
/// `ERR:` is a broken attribute.
struct TestEnv<'a> {
    name: &'a str,
    attrs: &'a [(&'a str, &'a str)],
}

impl ExprEnv for TestEnv<'_> {
    fn node_name(&self) -> &str {
        self.name
    }
    fn attribute(&self, canonical: &str) -> Result<String, String> {
        match self.attrs.iter().find(|(k, _)| *k == canonical) {
            Some((_, v)) => match v.strip_prefix("ERR:") {
                Some(e) => Err(e.to_owned()),
                None => Ok((*v).to_owned()),
            },
            None => Ok(String::new()),
        }
    }
}

/// A tiny catalog: a few names and aliases, one secret.
fn fake_resolve(name: &str) -> Result<(String, Sensitivity), CatalogError> {
    let canonical = match name {
        "location.rack" | "location.u" | "id.index" | "net.mgt.ipv4_address" => name,
        "bmc" | "hardwaremanagement.manager" => "hardwaremanagement.manager",
        "bmcpass" => {
            return Ok((
                "secret.hardwaremanagementpassword".into(),
                Sensitivity::Secret,
            ));
        }
        "location.rck" => {
            return Err(CatalogError::Unknown {
                name: name.into(),
                suggestion: Some("location.rack"),
            });
        }
        _ => {
            return Err(CatalogError::Unknown {
                name: name.into(),
                suggestion: None,
            });
        }
    };
    Ok((canonical.to_owned(), Sensitivity::Plain))
}

/// Parses `template` (real catalog), evaluates it on `node` and compares:
/// `Ok(text)` is the exact output, `Err(s)` a substring of the error,
/// which reads `syntax: ...` or `eval: ...`.
#[track_caller]
fn check(template: &str, node: &str, attrs: &[(&str, &str)], want: Result<&str, &str>) {
    check_with(&catalog_resolver, template, node, attrs, want);
}

#[track_caller]
fn check_with(
    resolve: Resolver<'_>,
    template: &str,
    node: &str,
    attrs: &[(&str, &str)],
    want: Result<&str, &str>,
) {
    let got = Expression::parse_with(template, resolve)
        .and_then(|e| e.evaluate(&TestEnv { name: node, attrs }))
        .map_err(|e| match e {
            ExprError::Syntax(m) => format!("syntax: {m}"),
            ExprError::Eval(m) => format!("eval: {m}"),
        });
    match (&got, want) {
        (Ok(text), Ok(expected)) if text == expected => {}
        (Err(msg), Err(part)) if msg.contains(part) => {}
        _ => {
            let short = |s: &str| s.chars().take(200).collect::<String>();
            panic!(
                "{:?} on {node}: got {:?}, want {want:?}",
                short(template),
                got.map(|g| short(&g))
            )
        }
    }
}

#[track_caller]
fn fake(template: &str, node: &str, attrs: &[(&str, &str)], want: Result<&str, &str>) {
    check_with(&fake_resolve, template, node, attrs, want);
}

#[test]
fn confluent_documented_examples() {
    check("rack{(n1-1)/42+1}", "n43", &[], Ok("rack2"));
    check("{(n1-1)%42+1}", "n43", &[], Ok("1"));
    check("10.2.3.{n1}", "n7", &[], Ok("10.2.3.7"));
    check("{node}-imm", "n7", &[], Ok("n7-imm"));
    check("r{n1}pdu{(n2-1)/12+1}", "r3u13", &[], Ok("r3pdu2"));
}

#[test]
fn node_numbers() {
    check("{n1}{n2}{n3}{n4}", "b1o2r3u4", &[], Ok("1234"));
    check("{n0}", "b1o2r3u4", &[], Ok("4"));
    check("{n01}", "r007", &[], Ok("7"));
    check("{nodename}", "r007", &[], Ok("r007"));
    check(
        "{n3}",
        "r1",
        &[],
        Err("eval: name \"r1\" has no 3rd number (n3)"),
    );
    check("{n2}", "r1", &[], Err("has no 2nd number (n2)"));
    check("{n11}", "r1", &[], Err("has no 11th number"));
    check(
        "{n0}",
        "login",
        &[],
        Err("eval: name \"login\" has no number (n0)"),
    );
    check(
        "{n1}",
        "n99999999999999999999",
        &[],
        Err("eval: number 99999999999999999999"),
    );
    check("{n99999999999999999999999}", "n1", &[], Err("syntax:"));
}

#[test]
fn format_specs() {
    check("{n1:02d}", "n7", &[], Ok("07"));
    check("{n1:x}", "n255", &[], Ok("ff"));
    check("{n1:02X}", "n10", &[], Ok("0A"));
    check("{n1:#x}", "n255", &[], Ok("0xff"));
    check("{n1:+d}", "n3", &[], Ok("+3"));
    check("{n1:>4}", "n7", &[], Ok("   7"));
    check("{node:<8}|", "n7", &[], Ok("n7      |"));
    check("{node:*^6}", "n7", &[], Ok("**n7**"));
    check("{-n1:05}", "n7", &[], Ok("-0007"));
    check("{n1:b}", "n5", &[], Ok("101"));
    check("{n1:o}", "n8", &[], Ok("10"));
    check("{n1:,}", "n1234567", &[], Ok("1,234,567"));
    check("{node:.3}", "node17", &[], Ok("nod"));
    check("{n1:s}", "n7", &[], Ok("7"));
    check("{n1:}", "n7", &[], Ok("7"));
    check("{n1:_x}", "n1234567", &[], Ok("12_d687"));
    check("{-n1:#x}", "n255", &[], Ok("-0xff"));
    check("{n1:^4}", "n7", &[], Ok(" 7  "));
    check("{n1:0>4}", "n7", &[], Ok("0007"));
    check("{n1:<04}", "n7", &[], Ok("7000"));
    check("{node:05}", "ab", &[], Ok("ab000"));
    check("{node[0:3]:>5}", "node17", &[], Ok("  nod"));
}

#[test]
fn format_spec_errors() {
    check(
        "{n1:02dxxxxxx}",
        "n7",
        &[],
        Err("syntax: invalid format spec \"02dxxxxxx\""),
    );
    check("{n1:123456789}", "n7", &[], Err("longer than 8 characters"));
    check(
        "{n1:q}",
        "n7",
        &[],
        Err("syntax: invalid format spec \"q\""),
    );
    check("{n1:+.2}", "n7", &[], Err("syntax:"));
    check("{n1:,x}", "n7", &[], Err("syntax:"));
    check("{n1:.}", "n7", &[], Err("syntax:"));
    check(
        "{node:d}",
        "n7",
        &[],
        Err("eval: cannot format \"n7\" with the integer format \"d\""),
    );
    check("{n1:9999999}", "n7", &[], Err("eval: width 9999999"));
    check("{n1:{n2}}", "n7", &[], Err("syntax: '{' at character 5"));
}

#[test]
fn escapes_and_literals() {
    let e = Expression::parse("{{literal}}").unwrap();
    assert!(!e.has_fields());
    assert_eq!(e.literal().as_deref(), Some("{literal}"));
    check("{{literal}}", "n1", &[], Ok("{literal}"));
    check("a{{{n1}}}b", "n5", &[], Ok("a{5}b"));
    check("plain", "n5", &[], Ok("plain"));
    check("", "n5", &[], Ok(""));
    let e = Expression::parse("x{n1}").unwrap();
    assert!(e.has_fields());
    assert_eq!(e.literal(), None);
    assert_eq!(e.source(), "x{n1}");
    assert!(looks_like_expression("a}"));
    assert!(!looks_like_expression("plain"));
}

#[test]
fn broken_templates() {
    check("a}b", "n1", &[], Err("syntax: single '}' at character 2"));
    check(
        "ab{n1",
        "n1",
        &[],
        Err("syntax: '{' at character 3 is never closed"),
    );
    check("{}", "n1", &[], Err("syntax: empty field"));
    check("{  }", "n1", &[], Err("syntax: empty field"));
    check("{node.replace('a}", "n1", &[], Err("not terminated"));
    check(
        "{n1 n2}",
        "n1",
        &[],
        Err("syntax: unexpected name \"n2\" after the expression"),
    );
    check("{n1 +}", "n1", &[], Err("syntax: expression ends"));
    check("{n1 ** 2}", "n1", &[], Err("'**' (power) is not supported"));
    check("{n1 == 2}", "n1", &[], Err("syntax: '=' is not supported"));
    check("{n1!r}", "n1", &[], Err("syntax: '!' is not supported"));
    check("{0x10}", "n1", &[], Err("syntax: invalid number \"0x10\""));
    check(
        "{99999999999999999999}",
        "n1",
        &[],
        Err("syntax: number 99999999999999999999 is too large"),
    );
    check("{(n1}", "n1", &[], Err("syntax: expected ')'"));
    check("{n1 @ 2}", "n1", &[], Err("unexpected character '@'"));
}

#[test]
fn arithmetic_and_precedence() {
    check("{-n1}", "n3", &[], Ok("-3"));
    check("{n1<<2|1}", "n3", &[], Ok("13"));
    check("{n1 ^ 1}", "n3", &[], Ok("2"));
    check("{n1 & 6}", "n3", &[], Ok("2"));
    check("{-7/2}", "n1", &[], Ok("-4"));
    check("{-7//2}", "n1", &[], Ok("-4"));
    check("{7/-2}", "n1", &[], Ok("-4"));
    check("{-7%3}", "n1", &[], Ok("2"));
    check("{7%-3}", "n1", &[], Ok("-2"));
    check("{1+2*3}", "n1", &[], Ok("7"));
    check("{(1+2)*3}", "n1", &[], Ok("9"));
    check("{1|2^3&4}", "n1", &[], Ok("3"));
    check("{1+1<<2}", "n1", &[], Ok("8"));
    check("{--n1}", "n3", &[], Ok("3"));
    check("{+n1}", "n3", &[], Ok("3"));
    check("{-n1*2}", "n3", &[], Ok("-6"));
    check("{10-2-3}", "n1", &[], Ok("5"));
    check("{-5 >> 1}", "n1", &[], Ok("-3"));
}

#[test]
fn whitespace_and_nesting() {
    check("{ n1 + 1 }", "n3", &[], Ok("4"));
    check("{\tn1\n*2}", "n3", &[], Ok("6"));
    let deep = format!("{{{}n1{}}}", "(".repeat(60), ")".repeat(60));
    check(&deep, "n3", &[], Ok("3"));
    let too_deep = format!("{{{}n1{}}}", "(".repeat(100), ")".repeat(100));
    check(
        &too_deep,
        "n3",
        &[],
        Err("syntax: expression is nested more than 64 levels"),
    );
    let unbalanced = format!("{{{}}}", "(".repeat(10_000));
    check(&unbalanced, "n3", &[], Err("syntax: expression is nested"));
    let minus = format!("{{{}n1}}", "-".repeat(10_000));
    check(&minus, "n3", &[], Err("syntax: expression is nested"));
    let chain = format!("{{n1{}}}", "+n1".repeat(1000));
    check(&chain, "n3", &[], Err("syntax: expression is nested"));
    let subs = format!("{{node{}}}", "[0]".repeat(1000));
    check(&subs, "n3", &[], Err("syntax: expression is nested"));
}

#[test]
fn division_and_overflow() {
    check(
        "{n1/0}",
        "n1",
        &[],
        Err("eval: division by zero in \"{n1/0}\""),
    );
    check("{n1%(n1-1)}", "n1", &[], Err("eval: division by zero"));
    check(
        "{9223372036854775807+n1}",
        "n1",
        &[],
        Err("eval: integer overflow"),
    );
    check(
        "{-9223372036854775807-2}",
        "n1",
        &[],
        Err("eval: integer overflow"),
    );
    check(
        "{(-9223372036854775807-1)/-1}",
        "n1",
        &[],
        Err("eval: integer overflow"),
    );
    check("{(-9223372036854775807-1)%-1}", "n1", &[], Ok("0"));
    check(
        "{4611686018427387904*2}",
        "n1",
        &[],
        Err("eval: integer overflow"),
    );
    check(
        "{-(-9223372036854775807-1)}",
        "n1",
        &[],
        Err("eval: integer overflow"),
    );
}

#[test]
fn shifts() {
    check("{n1<<62}", "n1", &[], Ok("4611686018427387904"));
    check("{n1<<63}", "n1", &[], Err("eval: integer overflow"));
    check("{n1<<1000}", "n1", &[], Err("eval: integer overflow"));
    check("{0<<1000}", "n1", &[], Ok("0"));
    check("{-1<<63}", "n1", &[], Ok("-9223372036854775808"));
    check("{n1>>1000}", "n5", &[], Ok("0"));
    check("{-n1>>1000}", "n5", &[], Ok("-1"));
    check("{n1<<-1}", "n5", &[], Err("eval: negative shift count -1"));
    check("{n1>>-1}", "n5", &[], Err("eval: negative shift count"));
}

#[test]
fn subscripts_and_slices() {
    check("{node[0:3]}", "node17", &[], Ok("nod"));
    check("{node[2]}", "node17", &[], Ok("d"));
    check("{node[-1]}", "node17", &[], Ok("7"));
    check("{node[-3:]}", "node17", &[], Ok("e17"));
    check("{node[:4]}", "node17", &[], Ok("node"));
    check("{node[::2]}", "node17", &[], Ok("nd1"));
    check("{node[::-1]}", "node17", &[], Ok("71edon"));
    check("{node[-100:100]}", "node17", &[], Ok("node17"));
    check("{node[4:2]}", "node17", &[], Ok(""));
    check("{node[5:1:-2]}", "node17", &[], Ok("7e"));
    check("{node[n1-16]}", "node17", &[], Ok("o"));
    check(
        "{node[6]}",
        "node17",
        &[],
        Err("eval: index 6 is out of range for \"node17\""),
    );
    check(
        "{node[-7]}",
        "node17",
        &[],
        Err("eval: index -7 is out of range"),
    );
    check(
        "{node[::0]}",
        "node17",
        &[],
        Err("eval: slice step cannot be zero"),
    );
    check(
        "{n1[0]}",
        "node17",
        &[],
        Err("eval: indexing works on text, but \"n1\" is a number"),
    );
    check("{node[]}", "n1", &[], Err("syntax: empty subscript"));
    check("{node[0:3}", "node17", &[], Err("syntax: expected ']'"));
    check(
        "{node[1:9223372036854775807:9223372036854775807]}",
        "node17",
        &[],
        Ok("o"),
    );
}

#[test]
fn methods() {
    check("{n1.block_number(4)}", "n5", &[], Ok("2"));
    check("{n1.block_offset(4)}", "n5", &[], Ok("1"));
    check("{n1.block_offset(4)}", "n8", &[], Ok("4"));
    check("{node.upper()}", "n1", &[], Ok("N1"));
    check("{node.upper().lower()}", "N1", &[], Ok("n1"));
    check("{node.replace('n','c')}", "n1", &[], Ok("c1"));
    check("{node.replace(\"n\", \"\")}", "n1", &[], Ok("1"));
    check("{node.replace('}', 'x')}", "a}b", &[], Ok("axb"));
    check("{node[0:2].upper()}", "rack1", &[], Ok("RA"));
    check("{node.replace(':', '-')}", "a:b", &[], Ok("a-b"));
    check("{node.replace(':', '-'):>4}", "a:b", &[], Ok(" a-b"));
    check("{node.replace('\\'', '')}", "a'b", &[], Ok("ab"));
    check(
        "{n1.block_number(0)}",
        "n5",
        &[],
        Err("eval: block size must be positive, got 0"),
    );
    check(
        "{n1.upper()}",
        "n5",
        &[],
        Err("eval: .upper() works on text"),
    );
    check(
        "{node.strip()}",
        "n5",
        &[],
        Err("syntax: unknown method .strip()"),
    );
    check(
        "{node.upper(1)}",
        "n5",
        &[],
        Err("syntax: .upper() takes 0 arguments, not 1"),
    );
    check(
        "{node.replace('a')}",
        "n5",
        &[],
        Err("takes 2 arguments, not 1"),
    );
    check(
        "{node[0].x}",
        "n5",
        &[],
        Err("syntax: \".x\" must be a method call"),
    );
    check(
        "{node.replace('', '0123456789')}",
        &"n".repeat(2000),
        &[],
        Err("eval: intermediate text longer"),
    );
}

#[test]
fn catalog_attributes() {
    check("{location.rack}", "n1", &[("location.rack", "7")], Ok("7"));
    check(
        "{location.rack*2}",
        "n1",
        &[("location.rack", "7")],
        Ok("14"),
    );
    check(
        "{location.rack:03}",
        "n1",
        &[("location.rack", "7")],
        Ok("007"),
    );
    check(
        "{net.mgt.ipv4_address}",
        "n1",
        &[("net.mgt.ipv4_address", "10.0.0.1")],
        Ok("10.0.0.1"),
    );
    check(
        "{bmc}",
        "n1",
        &[("hardwaremanagement.manager", "10.1.1.1")],
        Ok("10.1.1.1"),
    );
    check("{id.index+100}", "n1", &[("id.index", "5")], Ok("105"));
    check("[{location.rack}]", "n1", &[], Ok("[]"));
    let e = Expression::parse("{bmc}-{location.rack}{hardwaremanagement.manager}").unwrap();
    assert_eq!(
        e.references(),
        ["hardwaremanagement.manager", "location.rack"]
    );
    check(
        "{location.rck}",
        "n1",
        &[],
        Err("syntax: unknown attribute \"location.rck\" in \"{location.rck}\""),
    );
    check(
        "{bogus.thing}",
        "n1",
        &[],
        Err("syntax: unknown attribute \"bogus.thing\""),
    );
    check(
        "{bmcpass}",
        "n1",
        &[],
        Err("syntax: attribute \"secret.hardwaremanagementpassword\" is secret"),
    );
}

#[test]
fn attributes_with_stand_in_catalog() {
    let rack = [("location.rack", "7"), ("location.u", "abc")];
    fake("{location.rack}", "n1", &rack, Ok("7"));
    fake("{location.rack*2}", "n1", &rack, Ok("14"));
    fake("{location.rack + 1}", "n1", &rack, Ok("8"));
    fake("{location.rack + location.rack}", "n1", &rack, Ok("77"));
    fake(
        "{location.u*2}",
        "n1",
        &rack,
        Err("eval: cannot use \"abc\" (value of location.u) as a number"),
    );
    fake(
        "{location.u:d}",
        "n1",
        &rack,
        Err("eval: cannot format \"abc\""),
    );
    fake("{location.u.upper()}", "n1", &rack, Ok("ABC"));
    fake("{location.rack.block_number(4)}", "n1", &rack, Ok("2"));
    fake(
        "{bmc}",
        "n1",
        &[("hardwaremanagement.manager", "bmc1")],
        Ok("bmc1"),
    );
    fake(
        "{location.rack}",
        "n1",
        &[("location.rack", "ERR:division by zero")],
        Err("eval: attribute location.rack is broken (division by zero)"),
    );
    fake(
        "{location.rck}",
        "n1",
        &[],
        Err(
            "syntax: unknown attribute \"location.rck\" in \"{location.rck}\" (did you mean \"location.rack\"?)",
        ),
    );
    fake("{bmcpass}", "n1", &[], Err("is secret"));
    fake(
        "{node*2}",
        "n1",
        &[],
        Err("eval: cannot use \"n1\" (the node name) as a number"),
    );
    fake("{'ab'+'cd'}", "n1", &[], Ok("abcd"));
    fake("{'5'*2}", "n1", &[], Ok("10"));
    let e = Expression::parse_with(
        "{bmc}{location.rack}{hardwaremanagement.manager}{n1}",
        &fake_resolve,
    )
    .unwrap();
    assert_eq!(
        e.references(),
        ["hardwaremanagement.manager", "location.rack"]
    );
}

#[test]
fn size_limits() {
    let long = "x".repeat(MAX_SOURCE_LEN + 1);
    check(
        &long,
        "n1",
        &[],
        Err("syntax: expression is 16385 bytes long"),
    );
    let wide = "{node:>9999}".repeat(2);
    check(
        &wide,
        "n1",
        &[],
        Err("eval: result is longer than 16384 characters"),
    );
    // 6385 + 9999 = 16384 characters: exactly at the limit.
    let just = format!("{}{{node:>9999}}", "x".repeat(6385));
    let padded = format!("{}{}n1", "x".repeat(6385), " ".repeat(9997));
    check(&just, "n1", &[], Ok(&padded));
    let over = format!("{}{{node:>9999}}", "x".repeat(6386));
    check(&over, "n1", &[], Err("eval: result is longer"));
}

#[test]
fn messages_stay_short() {
    // A long field is quoted shortened, so stored errors stay small.
    let long = format!("{{n1/(0{})}}", " ".repeat(4000));
    let err = Expression::parse(&long)
        .unwrap()
        .evaluate(&TestEnv {
            name: "n1",
            attrs: &[],
        })
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("division by zero in \"{n1/(0   "),
        "{err}"
    );
    assert!(err.to_string().len() < 300, "{err}");
}

#[test]
fn equality_and_clone() {
    let a = Expression::parse("{n1+1}").unwrap();
    assert_eq!(a, a.clone());
    assert_ne!(a, Expression::parse("{n1+2}").unwrap());
}

/// Pieces likely to hit interesting parser and evaluator paths.
fn fragments() -> impl Strategy<Value = String> {
    let parts = [
        "{",
        "}",
        "{{",
        "}}",
        "n1",
        "n0",
        "n7",
        "node",
        "(",
        ")",
        "[",
        "]",
        ":",
        "::",
        "-",
        "+",
        "*",
        "/",
        "//",
        "%",
        "<<",
        ">>",
        "&",
        "|",
        "^",
        "0",
        "1",
        "63",
        "-1",
        "9223372036854775807",
        ".upper()",
        ".replace('a','bbbb')",
        ".block_number(",
        ".block_offset(0)",
        "location.rack",
        "bmc",
        "'",
        "\"",
        ",",
        " ",
        "x",
        "02d",
        "#x",
        ">9999",
        "node[",
        "é",
        "\\",
    ];
    prop::collection::vec(prop::sample::select(parts.to_vec()), 0..40).prop_map(|v| v.concat())
}

fn never_panics(text: &str) {
    let env = TestEnv {
        name: "r3u13é",
        attrs: &[("location.rack", "7")],
    };
    if let Ok(e) = Expression::parse(text) {
        let _ = e.references();
        if e.has_fields() {
            if let Ok(out) = e.evaluate(&env) {
                assert!(out.chars().count() <= MAX_OUTPUT_LEN);
            }
        } else {
            assert_eq!(e.evaluate(&env).ok(), e.literal());
        }
    }
    if let Ok(e) = Expression::parse_with(text, &fake_resolve) {
        let _ = e.evaluate(&env);
    }
}

proptest! {
    #[test]
    fn parse_and_evaluate_never_panic(text in any::<String>()) {
        never_panics(&text);
    }

    #[test]
    fn expression_like_input_never_panics(text in fragments()) {
        never_panics(&text);
    }

    #[test]
    fn plain_text_is_its_own_literal(text in "[^{}]{0,50}") {
        let e = Expression::parse(&text).unwrap();
        prop_assert!(!e.has_fields());
        prop_assert_eq!(e.literal(), Some(text));
    }
}
