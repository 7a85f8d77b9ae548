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

/// A config directory of the test's own (`$XDG_CONFIG_HOME`), removed when dropped.
struct ConfigHome {
    dir: std::path::PathBuf,
}

impl ConfigHome {
    fn new(tag: &str, text: &str) -> ConfigHome {
        let dir = std::env::temp_dir().join(format!("tcpscope-test-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("tcpscope")).unwrap();
        let home = ConfigHome { dir };
        home.write(text);
        home
    }

    fn file(&self) -> std::path::PathBuf {
        self.dir.join("tcpscope/config.toml")
    }

    fn write(&self, text: &str) {
        std::fs::write(self.file(), text).unwrap();
    }

    fn dir(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    /// The binary with this directory as `$XDG_CONFIG_HOME`.
    fn run(&self, args: &[&str]) -> std::process::Output {
        tcpscope_env(
            args,
            &[("XDG_CONFIG_HOME", Some(self.dir())), ("NO_COLOR", None)],
        )
    }
}

impl Drop for ConfigHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A usage error: exit 2, one line naming `mentions`, nothing on stdout.
fn assert_one_line_error(out: &std::process::Output, mentions: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.starts_with("tcpscope: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for m in mentions {
        assert!(stderr.contains(m), "{stderr:?} should mention {m:?}");
    }
    assert!(out.stdout.is_empty());
}

#[test]
fn a_bad_value_in_the_config_file_is_one_line_naming_the_file_and_the_key() {
    let _host = crate::common::host::shared();
    let home = ConfigHome::new("bad-value", "# too fast\ninterval = 5\n");
    let file = home.file();
    let path = file.to_str().unwrap();
    for args in [&["list"][..], &["watch"][..], &["config"][..], &[][..]] {
        let out = home.run(args);
        assert_one_line_error(
            &out,
            &[
                &format!("{path}:2: interval: "),
                "the interval in milliseconds is a whole number from 10 to 3600000",
            ],
        );
    }
    home.write("[colors]\ntime_wait = \"purpleish\"\n");
    assert_one_line_error(
        &home.run(&["list"]),
        &[path, "colors.time_wait", "is not a colour"],
    );
    home.write("events = \"ebpf\"\n");
    assert_one_line_error(
        &home.run(&["watch"]),
        &[path, "events", "auto, bpf, tracefs, off"],
    );
    home.write("interval = = 3\n");
    assert_one_line_error(&home.run(&["config"]), &[path]);
    // Not read at all: too big, or no file where --config points.
    home.write(&"# padding\n".repeat(7000));
    assert_one_line_error(&home.run(&["config"]), &[path, "larger than 64 KiB"]);
    let missing = format!("{}/nope.toml", home.dir());
    assert_one_line_error(&home.run(&["config", "--config", &missing]), &[&missing]);
    // What prints the binary itself never depends on the file.
    assert_eq!(home.run(&["completions", "fish"]).status.code(), Some(0));
    assert_eq!(home.run(&["man"]).status.code(), Some(0));
}

#[test]
fn an_unknown_key_in_the_config_file_is_an_error() {
    let _host = crate::common::host::shared();
    let home = ConfigHome::new("unknown-key", "ghost_secs = 5\ncolour = \"never\"\n");
    let file = home.file();
    assert_one_line_error(
        &home.run(&["list"]),
        &[
            &format!("{}:2: colour: ", file.display()),
            "unknown field `colour`",
        ],
    );
    // --no-config ignores it.
    let out = home.run(&["config", "--no-config"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("none (--no-config)"));
}

/// `tcpscope config`'s line for a setting: its value and where it comes from.
fn setting(printed: &str, key: &str) -> String {
    let line = printed
        .lines()
        .find(|l| l.split_whitespace().next() == Some(key))
        .unwrap_or_else(|| panic!("no {key} in {printed}"));
    line.split_whitespace()
        .skip(1)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_command_line_beats_the_file_which_beats_the_defaults() {
    let _host = crate::common::host::shared();
    let home = ConfigHome::new(
        "precedence",
        "interval = 500\nghost_secs = 5\nevents = \"off\"\ncolor = \"never\"\n",
    );
    let from_file = format!("file {}", home.file().display());
    let out = home.run(&["config", "--ghost-secs", "9", "--color", "always"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        setting(&printed, "config"),
        format!("file {}", home.file().display())
    );
    assert_eq!(setting(&printed, "interval"), format!("500 {from_file}"));
    assert_eq!(setting(&printed, "ghost_secs"), "9 command line");
    assert_eq!(setting(&printed, "events"), format!("off {from_file}"));
    assert_eq!(setting(&printed, "full_every"), "10 default");
    assert_eq!(setting(&printed, "color"), "always command line");
    // A flag equal to the default still beats the file: typed is typed.
    let out = home.run(&["config", "--interval", "1000"]);
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(setting(&printed, "interval"), "1000 command line");
    // Without the file, the defaults.
    let out = home.run(&["config", "--no-config"]);
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(setting(&printed, "interval"), "1000 default");
    assert_eq!(setting(&printed, "ghost_secs"), "60 default");
}

#[test]
fn the_file_is_found_under_home_without_xdg_and_by_config() {
    let _host = crate::common::host::shared();
    let home = ConfigHome::new("home", "ghost_secs = 7\n");
    let dotconfig = home.dir.join(".config/tcpscope");
    std::fs::create_dir_all(&dotconfig).unwrap();
    std::fs::write(dotconfig.join("config.toml"), "ghost_secs = 8\n").unwrap();
    let printed = |out: std::process::Output| {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let out = tcpscope_env(
        &["config"],
        &[("XDG_CONFIG_HOME", None), ("HOME", Some(home.dir()))],
    );
    assert!(setting(&printed(out), "ghost_secs").starts_with("8 file "));
    let out = home.run(&["config"]);
    assert!(setting(&printed(out), "ghost_secs").starts_with("7 file "));
    let other = home.dir.join("other.toml");
    std::fs::write(&other, "ghost_secs = 6\n").unwrap();
    let out = home.run(&["config", "--config", other.to_str().unwrap()]);
    assert_eq!(
        setting(&printed(out), "ghost_secs"),
        format!("6 file {}", other.display())
    );
}

#[test]
fn the_files_colors_and_color_reach_the_table() {
    let _host = crate::common::host::shared();
    let home = ConfigHome::new(
        "colors",
        "color = \"always\"\n[colors]\nlisten = \"#ff8800\"\n",
    );
    let env = [("XDG_CONFIG_HOME", Some(home.dir())), ("NO_COLOR", None)];
    let text = listed(&[], &env);
    let row = text.lines().nth(1).unwrap_or_default();
    assert!(
        row.starts_with("\x1b[38;2;255;136;0mLISTEN\x1b[0m "),
        "{row:?}"
    );
    // The command line's --color never beats the file's always.
    let text = listed(&["--color", "never"], &env);
    assert!(!text.contains('\x1b'), "{text:?}");
}

/// A program run as another user with the caller's HOME (setpriv, sudo -u) reads no file
/// there, and runs: a config it may not read is skipped, not an error (but `--config` is).
#[test]
#[cfg_attr(
    not(tcpscope_test_as_nobody),
    ignore = "needs root, setpriv and a build directory nobody can enter"
)]
fn a_config_file_another_user_may_not_read_is_skipped() {
    let _host = crate::common::host::shared();
    use std::os::unix::fs::PermissionsExt;
    let home = ConfigHome::new("unreadable", "ghost_secs = 5\n");
    std::fs::set_permissions(&home.dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let as_nobody = |args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_tcpscope"))
            .args(args)
            .env("XDG_CONFIG_HOME", home.dir())
            .output()
            .unwrap()
    };
    let out = as_nobody(&["config"]);
    let printed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(printed.contains("may not be read: skipped"), "{printed}");
    assert_eq!(setting(&printed, "ghost_secs"), "60 default");
    let file = home.file();
    let out = as_nobody(&["config", "--config", file.to_str().unwrap()]);
    assert_one_line_error(&out, &[file.to_str().unwrap(), "Permission denied"]);
}
