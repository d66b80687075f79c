//! Argument parsing: every command, the multi-call rewrite, the
//! nodeattrib set/show/clear rule, globals.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::CommandFactory;

use super::args::{self, AttribAction, Cli, Command, classify, parse};
use super::collective::CollectiveCommand;
use super::serve::short_hostname;
use super::user::{Role, UserCommand};

fn argv(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

fn ok(args: &[&str]) -> Cli {
    match parse(argv(args)) {
        Ok(cli) => cli,
        Err(e) => panic!("{args:?}: {}", e.render()),
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn command_tree_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn nodeattrib_show_set_clear_blame() {
    let Command::NodeAttrib(a) = ok(&["cohort", "nodeattrib", "n1-n4", "location.rack=7"]).command
    else {
        panic!("not nodeattrib")
    };
    assert_eq!(a.noderange, "n1-n4");
    assert_eq!(a.attributes, ["location.rack=7"]);
    assert!(!a.clear && !a.blame);

    let Command::NodeAttrib(a) = ok(&["cohort", "nodeattrib", "compute", "-b", "--json"]).command
    else {
        panic!("not nodeattrib")
    };
    assert!(a.blame && a.read.json && !a.read.local);

    let Command::NodeAttrib(a) = ok(&[
        "cohort",
        "nodeattrib",
        "n1",
        "-c",
        "location.rack",
        "--local",
    ])
    .command
    else {
        panic!("not nodeattrib")
    };
    assert!(a.clear && a.read.local);
    assert_eq!(a.attributes, ["location.rack"]);
}

#[test]
fn nodeattrib_clear_and_blame_conflict() {
    let e = parse(argv(&["cohort", "nodeattrib", "n1", "-c", "-b", "x"])).unwrap_err();
    assert_eq!(e.exit_code(), 2);
}

#[test]
fn nodeattrib_needs_a_noderange() {
    let e = parse(argv(&["cohort", "nodeattrib"])).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.render().to_string().contains("<NODERANGE>"));
}

#[test]
fn classify_show_set_clear() {
    assert_eq!(classify(&[], false, false), Ok(AttribAction::Show(vec![])));
    assert_eq!(
        classify(&strings(&["location.rack", "net.*"]), false, true),
        Ok(AttribAction::Show(strings(&["location.rack", "net.*"])))
    );
    assert_eq!(
        classify(
            &strings(&["a.b=1", "groups,=gpu", "groups^=x"]),
            false,
            false
        ),
        Ok(AttribAction::Set(strings(&[
            "a.b=1",
            "groups,=gpu",
            "groups^=x"
        ])))
    );
    assert_eq!(
        classify(&strings(&["location.rack"]), true, false),
        Ok(AttribAction::Clear(strings(&["location.rack"])))
    );
}

#[test]
fn classify_mixed_arguments_name_the_offender() {
    let e = classify(
        &strings(&["location.rack=7", "location.room"]),
        false,
        false,
    )
    .unwrap_err();
    assert!(e.contains("\"location.room\" is not an assignment"), "{e}");
    assert!(e.contains("\"location.rack=7\""), "{e}");
}

#[test]
fn classify_clear_refuses_assignments_and_nothing() {
    let e = classify(&strings(&["location.rack=7"]), true, false).unwrap_err();
    assert!(e.contains("\"location.rack=7\" is an assignment"), "{e}");
    let e = classify(&[], true, false).unwrap_err();
    assert!(e.contains("needs the names"), "{e}");
}

#[test]
fn classify_blame_with_assignments_is_refused() {
    let e = classify(&strings(&["a.b=1"]), false, true).unwrap_err();
    assert!(e.contains("-b/--blame"), "{e}");
}

#[test]
fn define_takes_only_assignments() {
    assert_eq!(
        args::assignments_only(&strings(&["groups=compute"])),
        Ok(strings(&["groups=compute"]))
    );
    let e = args::assignments_only(&strings(&["groups=compute", "rack"])).unwrap_err();
    assert!(e.contains("\"rack\" is not an attribute assignment"), "{e}");
    let Command::NodeDefine(a) =
        ok(&["cohort", "nodedefine", "n[1-4]", "groups=compute,rack1"]).command
    else {
        panic!("not nodedefine")
    };
    assert_eq!((a.noderange.as_str(), a.assignments.len()), ("n[1-4]", 1));
}

#[test]
fn nodelist_forms() {
    let Command::NodeList(a) = ok(&["cohort", "nodelist"]).command else {
        panic!("not nodelist")
    };
    assert_eq!(a.noderange, None);
    let Command::NodeList(a) = ok(&["cohort", "nodelist", "--json", "compute"]).command else {
        panic!("not nodelist")
    };
    assert_eq!(a.noderange.as_deref(), Some("compute"));
    assert!(a.read.json);
    let Command::NodeList(a) = ok(&["cohort", "nodelist", "rack1", "location.u"]).command else {
        panic!("not nodelist")
    };
    assert_eq!(a.attributes, ["location.u"]);
}

#[test]
fn nodelist_double_dash_takes_any_expression() {
    let Command::NodeList(a) = ok(&["cohort", "nodelist", "--", "-weird,n1"]).command else {
        panic!("not nodelist")
    };
    assert_eq!(a.noderange.as_deref(), Some("-weird,n1"));
    let Command::NodeList(a) =
        ok(&["cohort", "nodelist", "--local", "--", "location.rack=7"]).command
    else {
        panic!("not nodelist")
    };
    assert_eq!(a.noderange.as_deref(), Some("location.rack=7"));
    assert!(a.read.local);
}

#[test]
fn remove_and_rename() {
    assert!(matches!(
        ok(&["cohort", "noderemove", "n5"]).command,
        Command::NodeRemove(a) if a.noderange == "n5"
    ));
    assert!(matches!(
        ok(&["cohort", "noderename", "n1", "r1u1"]).command,
        Command::NodeRename(a) if a.old == "n1" && a.new == "r1u1"
    ));
    assert!(matches!(
        ok(&["cohort", "nodegroupremove", "rack1"]).command,
        Command::GroupRemove(a) if a.group == "rack1"
    ));
    assert!(matches!(
        ok(&["cohort", "nodegrouprename", "rack1", "row1"]).command,
        Command::GroupRename(a) if a.old == "rack1" && a.new == "row1"
    ));
    assert!(parse(argv(&["cohort", "noderename", "n1"])).is_err());
}

#[test]
fn group_commands() {
    assert!(matches!(
        ok(&["cohort", "nodegroupdefine", "gpu", "console.method=ipmi"]).command,
        Command::GroupDefine(a) if a.group == "gpu" && a.assignments == ["console.method=ipmi"]
    ));
    assert!(matches!(
        ok(&["cohort", "nodegroupattrib", "compute", "-c", "console.method"]).command,
        Command::GroupAttrib(a) if a.clear && a.attributes == ["console.method"]
    ));
    assert!(matches!(
        ok(&["cohort", "nodegrouplist", "--json"]).command,
        Command::GroupList(a) if a.read.json
    ));
}

#[test]
fn multicall_inserts_the_command_name() {
    let rewritten = args::multicall_argv(argv(&["/usr/bin/nodeattrib", "n1", "-b"]));
    assert_eq!(rewritten, argv(&["cohort", "nodeattrib", "n1", "-b"]));
    assert!(matches!(
        ok(&["/usr/local/bin/nodelist", "compute"]).command,
        Command::NodeList(a) if a.noderange.as_deref() == Some("compute")
    ));
    assert!(matches!(
        ok(&["nodegroupattrib", "compute"]).command,
        Command::GroupAttrib(_)
    ));
    for name in args::MULTICALL_NAMES {
        let cmd = Cli::command();
        assert!(
            cmd.find_subcommand(name).is_some(),
            "{name} is not a subcommand"
        );
    }
}

#[test]
fn other_argv0_is_left_alone() {
    let same = argv(&["/usr/bin/cohort", "nodelist"]);
    assert_eq!(args::multicall_argv(same.clone()), same);
    assert_eq!(args::multicall_argv(vec![]), Vec::<OsString>::new());
    // Only the file name counts, not a directory named like a command.
    let dir = argv(&["/opt/nodelist/cohort", "serve"]);
    assert_eq!(args::multicall_argv(dir.clone()), dir);
}

#[test]
fn global_socket_goes_anywhere() {
    let cli = ok(&["cohort", "--socket", "/tmp/a.sock", "nodelist"]);
    assert_eq!(cli.socket, Some(PathBuf::from("/tmp/a.sock")));
    let cli = ok(&["nodeattrib", "n1", "--socket", "/tmp/b.sock"]);
    assert_eq!(cli.socket, Some(PathBuf::from("/tmp/b.sock")));
}

#[test]
fn default_socket_follows_the_data_dir() {
    use std::ffi::OsStr;
    assert_eq!(
        args::default_socket(None),
        PathBuf::from("/var/lib/cohort/cohort.sock")
    );
    assert_eq!(
        args::default_socket(Some(OsStr::new("/srv/c1"))),
        PathBuf::from("/srv/c1/cohort.sock")
    );
    assert_eq!(
        args::default_socket(Some(OsStr::new(""))),
        PathBuf::from("/var/lib/cohort/cohort.sock")
    );
}

#[test]
fn json_is_only_on_listings() {
    assert!(parse(argv(&["cohort", "noderemove", "n1", "--json"])).is_err());
    assert!(parse(argv(&["cohort", "collective", "invite", "m2", "--json"])).is_err());
    assert!(parse(argv(&["cohort", "collective", "show", "--json"])).is_ok());
}

#[test]
fn serve_defaults_need_no_flags() {
    let Command::Serve(a) = ok(&["cohort", "serve"]).command else {
        panic!("not serve")
    };
    let cfg = a.into_config(Some("mgt1".into()));
    assert_eq!(cfg.name.as_deref(), Some("mgt1"));
    assert_eq!(cfg.listen, "0.0.0.0:13001".parse::<SocketAddr>().unwrap());
    assert_eq!(
        cfg.https_listen,
        "0.0.0.0:8443".parse::<SocketAddr>().unwrap()
    );
    assert!(cfg.advertise.is_empty());
    // COHORT_DATA_DIR may be set where tests run; the flag always wins.
    let Command::Serve(a) = ok(&["cohort", "serve", "--data-dir", "/srv/c"]).command else {
        panic!("not serve")
    };
    let cfg = a.into_config(None);
    assert_eq!(cfg.socket_path(), PathBuf::from("/srv/c/cohort.sock"));
    assert_eq!(cfg.name, None);
}

#[test]
fn serve_flags() {
    let Command::Serve(a) = ok(&[
        "cohort",
        "serve",
        "--name",
        "mgt2",
        "--listen",
        "10.0.0.2:13001",
        "--https-listen",
        "127.0.0.1:0",
        "--advertise",
        "10.0.0.2:13001",
        "--advertise",
        "[fd00::2]:13001",
    ])
    .command
    else {
        panic!("not serve")
    };
    let cfg = a.into_config(Some("ignored".into()));
    assert_eq!(cfg.name.as_deref(), Some("mgt2"));
    assert_eq!(cfg.listen.port(), 13001);
    assert_eq!(cfg.https_listen.port(), 0);
    assert_eq!(cfg.advertise, ["10.0.0.2:13001", "[fd00::2]:13001"]);
    let e = parse(argv(&["cohort", "serve", "--listen", "nohost"])).unwrap_err();
    assert_eq!(e.exit_code(), 2);
}

#[test]
fn short_hostnames() {
    assert_eq!(
        short_hostname("mgt1.example.com\n").as_deref(),
        Some("mgt1")
    );
    assert_eq!(short_hostname("mgt1").as_deref(), Some("mgt1"));
    assert_eq!(short_hostname("  \n"), None);
    assert_eq!(short_hostname("(none)"), None);
}

#[test]
fn collective_commands() {
    let Command::Collective(CollectiveCommand::Invite(a)) = ok(&[
        "cohort",
        "collective",
        "invite",
        "mgt2",
        "--nonvoting",
        "--ttl",
        "15m",
    ])
    .command
    else {
        panic!("not invite")
    };
    assert_eq!(
        (a.name.as_str(), a.nonvoting, a.ttl.as_str()),
        ("mgt2", true, "15m")
    );
    let Command::Collective(CollectiveCommand::Invite(a)) =
        ok(&["cohort", "collective", "invite", "mgt3"]).command
    else {
        panic!("not invite")
    };
    assert_eq!(a.ttl, "1h");
    let Command::Collective(CollectiveCommand::Join(a)) = ok(&[
        "cohort",
        "collective",
        "join",
        "10.0.0.1:13001",
        "--token",
        "abc",
        "--force",
    ])
    .command
    else {
        panic!("not join")
    };
    assert_eq!(
        (a.address.as_str(), a.token.as_str(), a.force),
        ("10.0.0.1:13001", "abc", true)
    );
    assert!(matches!(
        ok(&["cohort", "collective", "remove", "mgt3"]).command,
        Command::Collective(CollectiveCommand::Remove(a)) if a.name == "mgt3"
    ));
    assert!(matches!(
        ok(&["cohort", "collective", "show", "--local"]).command,
        Command::Collective(CollectiveCommand::Show(a)) if a.read.local
    ));
}

#[test]
fn user_add_roles() {
    let Command::User(UserCommand::Add(a)) = ok(&["cohort", "user", "add", "alice"]).command else {
        panic!("not user add")
    };
    assert_eq!((a.name.as_str(), a.role), ("alice", Role::Admin));
    let Command::User(UserCommand::Add(a)) =
        ok(&["cohort", "user", "add", "graf", "--role", "monitor"]).command
    else {
        panic!("not user add")
    };
    assert_eq!(a.role, Role::Monitor);
    assert!(parse(argv(&["cohort", "user", "add", "x", "--role", "root"])).is_err());
}

#[test]
fn hidden_packaging_commands() {
    let cli = ok(&["cohort", "completions", "bash"]);
    assert!(matches!(cli.command, Command::Completions { .. }));
    let help = Cli::command().render_help().to_string();
    assert!(
        !help.contains("completions") && !help.contains("manpages"),
        "{help}"
    );
    assert!(help.contains("nodeattrib"));
}

#[test]
fn help_and_usage_errors_keep_clap_status() {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = super::run(
        argv(&["cohort", "nodeattrib", "--help"]),
        &mut out,
        &mut err,
    );
    let help = String::from_utf8_lossy(&out);
    assert_eq!(code, 0);
    assert!(help.contains("nodeattrib n1-n4 location.rack=7"), "{help}");
    let mut out = Vec::new();
    let code = super::run(argv(&["cohort", "nodebogus"]), &mut out, &mut err);
    assert_eq!(code, 2);
    assert!(out.is_empty());
}

#[test]
fn completions_and_manpages_are_generated() {
    let mut out = Vec::new();
    let mut err = Vec::new();
    assert_eq!(
        super::run(argv(&["cohort", "completions", "bash"]), &mut out, &mut err),
        0
    );
    assert!(String::from_utf8_lossy(&out).contains("nodeattrib"));
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("man1");
    let target_arg = target.to_string_lossy().into_owned();
    let code = super::run(
        argv(&["cohort", "manpages", &target_arg]),
        &mut out,
        &mut err,
    );
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    for page in [
        "cohort.1",
        "cohort-nodeattrib.1",
        "cohort-collective-show.1",
        "cohort-serve.1",
    ] {
        assert!(target.join(page).is_file(), "{page} missing");
    }
    let page = std::fs::read_to_string(target.join("cohort-nodeattrib.1")).unwrap();
    assert!(page.contains("blame"), "{page}");
    let redirect = std::fs::read_to_string(target.join("nodeattrib.1")).unwrap();
    assert_eq!(redirect, ".so man1/cohort-nodeattrib.1\n");
    assert!(!target.join("cohort-completions.1").exists());
}
