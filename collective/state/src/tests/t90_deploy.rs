//! Deployment commands: arming, disarming, API key registration and
//! status reports, including the races the commands exist for.

use super::*;
use crate::NodeStatus;

const KEY: &str = "$6$saltsalt$c2VjcmV0aGFzaA";

fn profile_file(profile: &str) -> Command {
    Command::TreePut {
        entries: vec![(
            format!("public/os/{profile}/profile.yaml"),
            TreeEntry::File {
                sha256: [7; 32],
                size: 10,
                mode: 0o644,
            },
        )],
    }
}

fn arm(noderange: &str, profile: &str) -> Command {
    Command::ArmDeployment {
        noderange: noderange.to_owned(),
        profile: profile.to_owned(),
    }
}

fn register(node: &str, key: &str) -> Command {
    Command::RegisterNodeKey {
        node: node.to_owned(),
        crypted_key: key.to_owned(),
    }
}

fn status(node: &str, status: Option<NodeStatus>, state: Option<&str>) -> Command {
    Command::NodeDeployStatus {
        node: node.to_owned(),
        status,
        state: state.map(str::to_owned),
        detail: None,
        client_ip: "10.0.0.9".to_owned(),
    }
}

#[test]
fn arming_needs_a_profile_and_unlocked_nodes() {
    let s = check(&[
        (define("n[1-3]", &[]), Changed(3)),
        (
            arm("n1", "el9"),
            Refused(ErrorCode::NotFound, "no OS profile \"el9\""),
        ),
        (profile_file("el9"), Done),
        (
            arm("n1", "../x"),
            Refused(ErrorCode::NotFound, "no OS profile"),
        ),
        (arm("nope", "el9"), Refused(ErrorCode::NotFound, "nope")),
        (
            set("n2", &["deployment.lock=locked", "deployment.state=old"]),
            Done,
        ),
        (
            arm("n[1-3]", "el9"),
            Refused(ErrorCode::FailedPrecondition, "n2"),
        ),
        (arm("n1,n3", "el9"), Changed(2)),
    ]);
    assert_eq!(
        attr(&s, "n1", "deployment.apiarmed").as_deref(),
        Some("once")
    );
    assert_eq!(
        attr(&s, "n3", "deployment.pendingprofile").as_deref(),
        Some("el9")
    );
    assert_eq!(attr(&s, "n2", "deployment.apiarmed"), None);
    assert_eq!(attr(&s, "n2", "deployment.state").as_deref(), Some("old"));
}

#[test]
fn arming_clears_stale_state_and_disarming_clears_the_arm() {
    let s = check(&[
        (
            define(
                "n1",
                &["deployment.stagedprofile=old", "deployment.state=failed"],
            ),
            Changed(1),
        ),
        (profile_file("el9"), Done),
        (arm("n1", "el9"), Changed(1)),
    ]);
    assert_eq!(attr(&s, "n1", "deployment.stagedprofile"), None);
    assert_eq!(attr(&s, "n1", "deployment.state"), None);
    let mut s = s;
    let s = check_at(
        &mut s,
        &[(
            T0,
            Command::DisarmDeployment {
                noderange: "n1".to_owned(),
            },
            Changed(1),
        )],
    );
    assert_eq!(attr(&s, "n1", "deployment.apiarmed"), None);
    assert_eq!(attr(&s, "n1", "deployment.pendingprofile"), None);
}

#[test]
fn once_admits_exactly_one_registration() {
    let s = check(&[
        (define("n[1-2]", &[]), Changed(2)),
        (
            register("n1", KEY),
            Refused(ErrorCode::PermissionDenied, "nodedeploy n1"),
        ),
        (profile_file("el9"), Done),
        (arm("n1", "el9"), Changed(1)),
        (
            register("n1", "clear text"),
            Refused(ErrorCode::InvalidArgument, "crypt hash"),
        ),
        (register("n1", KEY), Changed(1)),
        (
            register("n1", "$6$other$b3RoZXI"),
            Refused(ErrorCode::PermissionDenied, "not armed"),
        ),
        (register("n3", KEY), Refused(ErrorCode::NotFound, "n3")),
    ]);
    assert_eq!(attr(&s, "n1", "crypted.selfapikey").as_deref(), Some(KEY));
    assert_eq!(attr(&s, "n1", "deployment.apiarmed"), None);
}

#[test]
fn continuous_and_timed_arms() {
    let until = "2026-11-05T01:00:00Z"; // T0 + 1 h
    let mut s = check(&[
        (
            define("n[1-2]", &["deployment.apiarmed=continuous"]),
            Changed(2),
        ),
        (set("n2", &[&format!("deployment.apiarmed={until}")]), Done),
        (register("n1", KEY), Changed(1)),
        (register("n1", KEY), Changed(0)),
        (register("n1", "$6$other$b3RoZXI"), Changed(1)),
        (register("n2", KEY), Changed(1)),
    ]);
    let later = T0 + 3_600_000;
    let s = check_at(
        &mut s,
        &[(
            later,
            register("n2", "$6$new$a2V5"),
            Refused(ErrorCode::PermissionDenied, "has passed"),
        )],
    );
    assert_eq!(
        attr(&s, "n1", "deployment.apiarmed").as_deref(),
        Some("continuous")
    );
}

#[test]
fn status_moves_profiles_along() {
    let s = check(&[
        (define("n1", &["deployment.lock=autolock"]), Changed(1)),
        (
            status("n1", Some(NodeStatus::Staged), None),
            Refused(ErrorCode::FailedPrecondition, "no deployment pending"),
        ),
        (profile_file("el9"), Done),
        (arm("n1", "el9"), Changed(1)),
        (status("n1", None, Some("installing")), Changed(1)),
        (status("n1", Some(NodeStatus::Staged), None), Changed(1)),
    ]);
    assert_eq!(
        attr(&s, "n1", "deployment.stagedprofile").as_deref(),
        Some("el9")
    );
    assert_eq!(
        attr(&s, "n1", "deployment.state").as_deref(),
        Some("installing")
    );
    assert_eq!(
        attr(&s, "n1", "deployment.client_ip").as_deref(),
        Some("10.0.0.9")
    );
    assert_eq!(
        attr(&s, "n1", "deployment.state_last_updated").as_deref(),
        Some("2026-11-05T00:00:00Z")
    );
    let mut s = s;
    let s = check_at(
        &mut s,
        &[(
            T0,
            status("n1", Some(NodeStatus::Completed), None),
            Changed(1),
        )],
    );
    assert_eq!(attr(&s, "n1", "deployment.profile").as_deref(), Some("el9"));
    assert_eq!(attr(&s, "n1", "deployment.pendingprofile"), None);
    assert_eq!(attr(&s, "n1", "deployment.stagedprofile"), None);
    assert_eq!(attr(&s, "n1", "deployment.lock").as_deref(), Some("locked"));
    let mut s = s;
    let s = check_at(
        &mut s,
        &[
            // A retried "completed" is accepted; "staged" needs a pending one.
            (
                T0,
                status("n1", Some(NodeStatus::Completed), None),
                Changed(1),
            ),
            (
                T0,
                status("n1", Some(NodeStatus::Staged), None),
                Refused(ErrorCode::FailedPrecondition, "no deployment pending"),
            ),
        ],
    );
    assert_eq!(attr(&s, "n1", "deployment.profile").as_deref(), Some("el9"));
}
