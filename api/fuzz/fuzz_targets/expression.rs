//! Fuzzes attribute expressions: parsing and evaluation must never panic,
//! and what they return must respect the module's invariants.
//!
//! Input: the template, optionally followed by a newline and the node name
//! to evaluate it for (so the fuzzer can vary the `nN` numbers too).

#![no_main]

use cohort_api::expr::{ExprEnv, Expression, MAX_OUTPUT_LEN, looks_like_expression};
use libfuzzer_sys::fuzz_target;

/// A node with a numeric, a textual and a broken attribute.
struct Env {
    name: String,
}

impl ExprEnv for Env {
    fn node_name(&self) -> &str {
        &self.name
    }

    fn attribute(&self, canonical: &str) -> Result<String, String> {
        match canonical {
            "location.rack" => Ok("7".to_owned()),
            "location.room" => Ok("lab".to_owned()),
            "hardwaremanagement.manager" => Ok("10.0.0.1".to_owned()),
            "id.index" => Err("broken on purpose".to_owned()),
            _ => Ok(String::new()),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (template, name) = match text.split_once('\n') {
        Some((template, name)) => (template, name),
        None => (&*text, "r3u13"),
    };
    let Ok(expr) = Expression::parse(template) else {
        return;
    };
    assert_eq!(expr.source(), template);
    let env = Env {
        name: name.to_owned(),
    };
    let result = expr.evaluate(&env);
    if expr.has_fields() {
        assert!(looks_like_expression(template));
        assert!(expr.literal().is_none());
        if let Ok(out) = result {
            assert!(out.chars().count() <= MAX_OUTPUT_LEN);
        }
    } else {
        // Without fields the result is the unescaped literal, always.
        assert_eq!(result.ok(), expr.literal());
        assert!(expr.references().is_empty());
    }
});
