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
