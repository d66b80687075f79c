//! The real `cohort` binary as an admin runs it: environment variables,
//! multi-call through a symlink, exit statuses. No member runs here; the
//! socket paths point into empty temp dirs, so every admin command ends in
//! the "cannot reach" error, which names the socket it tried.

// Wrapped in `mod cli` so `cargo test cli` selects these too.
mod cli {
    use std::path::Path;
    use std::process::{Command, Output};

    const COHORT: &str = env!("CARGO_BIN_EXE_cohort");

    fn run(program: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_remove("COHORT_SOCKET")
            .env_remove("COHORT_DATA_DIR");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run cohort")
    }

    fn stderr(o: &Output) -> String {
        String::from_utf8_lossy(&o.stderr).into_owned()
    }

    #[test]
    fn cohort_socket_env_names_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("elsewhere.sock");
        let o = run(
            Path::new(COHORT),
            &["nodelist"],
            &[("COHORT_SOCKET", &socket)],
        );
        assert_eq!(o.status.code(), Some(1));
        assert!(o.stdout.is_empty());
        let want = format!(
            "Error: cannot reach the cohort member at {}: No such file or directory; is `cohort serve` running? \
         (use --socket or COHORT_SOCKET to point elsewhere)\n",
            socket.display()
        );
        assert_eq!(stderr(&o), want);
    }

    #[test]
    fn data_dir_env_gives_the_default_socket_and_the_flag_wins() {
        let dir = tempfile::tempdir().unwrap();
        let o = run(
            Path::new(COHORT),
            &["nodegrouplist"],
            &[("COHORT_DATA_DIR", dir.path())],
        );
        let expected = dir.path().join("cohort.sock");
        assert!(
            stderr(&o).contains(&format!("at {}:", expected.display())),
            "{}",
            stderr(&o)
        );

        let flag = dir.path().join("flag.sock");
        let flag_arg = flag.to_string_lossy().into_owned();
        let o = run(
            Path::new(COHORT),
            &["nodelist", "--socket", &flag_arg],
            &[("COHORT_SOCKET", &dir.path().join("env.sock"))],
        );
        assert!(
            stderr(&o).contains(&format!("at {}:", flag.display())),
            "{}",
            stderr(&o)
        );
    }

    #[test]
    fn a_symlink_named_like_a_command_is_that_command() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("nodeattrib");
        std::os::unix::fs::symlink(COHORT, &link).unwrap();
        let socket = dir.path().join("none.sock");
        // Mixed arguments: refused before connecting, status 1.
        let o = run(&link, &["n1", "a.b=1", "c"], &[("COHORT_SOCKET", &socket)]);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stderr(&o).contains("\"c\" is not an assignment"),
            "{}",
            stderr(&o)
        );
        // Usage errors keep clap's status 2.
        let o = run(&link, &[], &[]);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("cohort nodeattrib"), "{}", stderr(&o));
    }

    #[test]
    fn help_and_completions_print_to_stdout() {
        let o = run(Path::new(COHORT), &["nodeattrib", "--help"], &[]);
        assert_eq!(o.status.code(), Some(0));
        let help = String::from_utf8_lossy(&o.stdout);
        assert!(help.contains("nodeattrib compute -b"), "{help}");
        assert!(help.contains("COHORT_SOCKET"), "{help}");
        let o = run(Path::new(COHORT), &["completions", "zsh"], &[]);
        assert_eq!(o.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&o.stdout).contains("nodegroupattrib"));
    }
}
