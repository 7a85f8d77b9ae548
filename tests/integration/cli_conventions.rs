//! What a well-kept command line ships: completion scripts, a manual page, `--color`, and a
//! config file (found the XDG way) under the command line.

use crate::common::tcpscope;
use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `program args` with `input` on its stdin; its output.
fn feed(program: &str, args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout_of(args: &[&str]) -> String {
    let out = tcpscope(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_shell_gets_a_completion_script_naming_the_commands() {
    let _host = crate::common::host::shared();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout_of(&["completions", shell]);
        for command in [
            "list", "watch", "can-bind", "kill", "shutdown", "lab", "man",
        ] {
            assert!(
                script.contains(command),
                "{shell}: no {command} in the script"
            );
        }
        assert!(script.contains("--state"), "{shell}: no --state");
    }
    let bash = stdout_of(&["completions", "bash"]);
    assert!(bash.contains("complete -F"), "{bash}");
    let out = tcpscope(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
#[cfg_attr(
    not(tcpscope_test_has_bash),
    ignore = "needs bash: to check the bash script's syntax"
)]
fn the_bash_script_is_valid_bash() {
    let _host = crate::common::host::shared();
    let script = stdout_of(&["completions", "bash"]);
    let out = feed("bash", &["-n"], script.as_bytes());
    assert!(
        out.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The script, sourced, registers the function for tcpscope.
    let check = format!("{script}\ncomplete -p tcpscope\n");
    let out = feed("bash", &[], check.as_bytes());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("_tcpscope") && said.contains("tcpscope"),
        "{said}"
    );
}

#[test]
fn the_manual_page_is_roff_with_every_command() {
    let _host = crate::common::host::shared();
    let page = stdout_of(&["man"]);
    let title = page.lines().find(|l| l.starts_with(".TH")).unwrap_or("");
    assert!(title.starts_with(".TH tcpscope 1"), "{page}");
    assert!(
        page.lines()
            .take_while(|l| !l.starts_with(".TH"))
            .all(|l| l.starts_with('.')),
        "only requests before .TH: {page}"
    );
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for command in [
        "list",
        "watch",
        "can\\-bind",
        "kill",
        "shutdown",
        "lab",
        "completions",
    ] {
        assert!(
            page.contains(&format!("tcpscope\\-{command}(1)")),
            "no {command}: {page}"
        );
    }
    assert!(!page.contains("__lab"), "a hidden command in the page");
    // One command's own page, nested ones too.
    let list = stdout_of(&["man", "list"]);
    assert!(list.contains(".TH tcpscope-list 1"), "{list}");
    assert!(list.contains("\\-\\-json"), "{list}");
    let run = stdout_of(&["man", "lab", "run"]);
    assert!(run.contains(".TH tcpscope-lab-run 1"), "{run}");
    let out = tcpscope(&["man", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("nope") && stderr.contains("list"),
        "{stderr}"
    );
}

#[test]
#[cfg_attr(
    not(tcpscope_test_has_man),
    ignore = "needs man (man-db): to render the manual page"
)]
fn man_renders_the_page() {
    let _host = crate::common::host::shared();
    for args in [&["man"][..], &["man", "watch"][..]] {
        let page = stdout_of(args);
        let out = feed("man", &["--warnings", "-l", "-"], page.as_bytes());
        let text = String::from_utf8_lossy(&out.stdout);
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {warnings}");
        assert!(
            warnings.trim().is_empty(),
            "{args:?}: man warns: {warnings}"
        );
        assert!(text.contains("NAME") && text.contains("OPTIONS"), "{text}");
        assert!(text.contains("--interval"), "{args:?}: {text}");
    }
}

/// The binary with these environment variables set (`None`: removed).
fn tcpscope_env(args: &[&str], env: &[(&str, Option<&str>)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tcpscope"));
    cmd.args(args);
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.output().expect("run tcpscope")
}

/// `list` with a listener of its own, so that there is at least one row.
fn listed(args: &[&str], env: &[(&str, Option<&str>)]) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let mut all = vec!["list", "--no-owners", "--port", &port];
    all.extend_from_slice(args);
    let out = tcpscope_env(&all, env);
    assert!(
        out.status.success(),
        "{all:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn color_always_colours_the_state_column_and_nothing_else() {
    let _host = crate::common::host::shared();
    for env in [&[("NO_COLOR", None)][..], &[("NO_COLOR", Some("1"))][..]] {
        let text = listed(&["--color", "always"], env);
        let row = text.lines().nth(1).unwrap_or_default();
        // LISTEN in the view's blue, then the reset, then the plain columns.
        assert!(
            row.starts_with("\x1b[34mLISTEN\x1b[0m "),
            "{env:?}: {row:?}"
        );
        assert_eq!(row.matches('\x1b').count(), 2, "{row:?}");
        assert!(!text.lines().next().unwrap().contains('\x1b'), "the header");
    }
    // JSON is never coloured.
    let json = listed(&["--json", "--color", "always"], &[]);
    assert!(!json.contains('\x1b'), "{json}");
    assert!(json.contains("\"LISTEN\""), "{json}");
}

#[test]
fn color_never_and_no_color_and_a_pipe_print_plain() {
    let _host = crate::common::host::shared();
    for (args, env) in [
        (&["--color", "never"][..], &[("NO_COLOR", None)][..]),
        (&["--color", "auto"][..], &[("NO_COLOR", Some("1"))][..]),
        // auto on a pipe (the test's stdout) is plain even without NO_COLOR.
        (&[][..], &[("NO_COLOR", None)][..]),
    ] {
        let text = listed(args, env);
        assert!(text.contains("LISTEN"), "{args:?} {env:?}: {text}");
        assert!(!text.contains('\x1b'), "{args:?} {env:?}: {text:?}");
    }
}

#[test]
fn color_is_taken_by_every_command_and_checked() {
    let _host = crate::common::host::shared();
    for args in [
        &["completions", "bash", "--color", "never"][..],
        &["man", "--color", "always"][..],
        &["lab", "list", "--color", "never"][..],
        &["can-bind", "--color", "never", "--help"][..],
    ] {
        let out = tcpscope(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = tcpscope(&["list", "--color", "sometimes"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sometimes") && stderr.lines().count() == 1,
        "{stderr}"
    );
}
