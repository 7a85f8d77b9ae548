//! Keys map to actions in one table; the help screen is printed from the same table.

use super::Action;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// (key, what the help says, action) for the normal mode.
pub const KEYS: &[(KeyCode, &str, Action)] = &[
    (KeyCode::Char('q'), "q        quit", Action::Quit),
    (KeyCode::Char('?'), "?        this help", Action::ToggleHelp),
    (KeyCode::Up, "↑ k      up", Action::Up),
    (KeyCode::Char('k'), "", Action::Up),
    (KeyCode::Down, "↓ j      down", Action::Down),
    (KeyCode::Char('j'), "", Action::Down),
    (KeyCode::PageUp, "PgUp/Dn  page up / down", Action::PageUp),
    (KeyCode::PageDown, "", Action::PageDown),
    (KeyCode::Home, "Home/End first / last", Action::Home),
    (KeyCode::End, "", Action::End),
    (
        KeyCode::Tab,
        "Tab      next pane (ports, connections, transitions)",
        Action::NextPane,
    ),
    (KeyCode::BackTab, "S-Tab    previous pane", Action::PrevPane),
    (
        KeyCode::Enter,
        "Enter    details of the connection",
        Action::OpenDetails,
    ),
    (KeyCode::Esc, "Esc      back", Action::Back),
    (
        KeyCode::Char('/'),
        "/        filter: words, list flags (nginx --port 80 --process redis)",
        Action::StartFilter,
    ),
    (
        KeyCode::Char('s'),
        "s        sort by the next column",
        Action::SortNext,
    ),
    (
        KeyCode::Char('S'),
        "S        reverse the sort",
        Action::SortReverse,
    ),
    (
        KeyCode::Char('p'),
        "p        pause the display (data keeps coming)",
        Action::TogglePause,
    ),
    (
        KeyCode::Char('y'),
        "y Y      copy the row as text / as JSON (to the clipboard, OSC 52)",
        Action::CopyRow,
    ),
    (KeyCode::Char('Y'), "", Action::CopyRowJson),
    (
        KeyCode::Char('m'),
        "m        mouse to the terminal (to select text) or back to tcpscope",
        Action::ToggleMouse,
    ),
    (
        KeyCode::Char('g'),
        "g        hide or show closed connections (GONE, kept --ghost-secs)",
        Action::ToggleGhosts,
    ),
    (
        KeyCode::Char('a'),
        "a        actions on the selected socket (abort, shutdown; lab calls)",
        Action::OpenActions,
    ),
    (
        KeyCode::Char('b'),
        "b        could a server bind this port now? who holds it, what would work",
        Action::CanBind,
    ),
    (
        KeyCode::Char('n'),
        "n r d    lab scenario: next step, start again, next actor in the diagram",
        Action::ScenarioNext,
    ),
    (KeyCode::Char('r'), "", Action::ScenarioRestart),
    (KeyCode::Char('d'), "", Action::DiagramActor),
    (
        KeyCode::Char('L'),
        "L        the lab: sockets of tcpscope's own to listen, connect, close…",
        Action::ToggleLab,
    ),
];

/// The help screen's lines, the key table first; `true` marks a note (drawn dim).
pub fn help_lines() -> Vec<(&'static str, bool)> {
    let mut lines: Vec<(&str, bool)> = KEYS
        .iter()
        .filter(|(_, text, _)| !text.is_empty())
        .map(|(_, text, _)| (*text, false))
        .collect();
    lines.extend([
        ("mouse    click selects, wheel scrolls", false),
        (
            "traced: from the kernel, exact time   observed: seen in a snapshot",
            true,
        ),
        ("inferred: from two snapshots (kernel events off)", true),
        (
            "In st. ≥1.9s: in that state already when tcpscope first saw it",
            true,
        ),
    ]);
    lines
}

/// Whether `key` came without Ctrl or Alt (Shift makes capitals). A chord is not its letter:
/// Ctrl-Y must not confirm an abort, and a terminal in raw mode reads a newline as Ctrl-J,
/// which must not type a `j` into the filter. Alt-x reaches us as Esc then x typed fast, so
/// where a letter is safe it is taken (the main view), and where Esc is the safe half (a
/// menu, a confirmation) Esc wins.
fn plain(key: KeyEvent) -> bool {
    !key.modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
}

fn ctrl(key: KeyEvent, c: char) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char(c)
}

/// The action for a key in the normal mode.
pub fn normal(key: KeyEvent) -> Option<Action> {
    if ctrl(key, 'c') {
        return Some(Action::Quit);
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return None;
    }
    KEYS.iter()
        .find(|(code, _, _)| *code == key.code)
        .map(|(_, _, a)| *a)
}

/// The action for a key while the filter prompt is open.
pub fn prompt(key: KeyEvent) -> Option<Action> {
    match key.code {
        KeyCode::Enter => Some(Action::FilterSubmit),
        KeyCode::Esc => Some(Action::FilterCancel),
        KeyCode::Backspace => Some(Action::FilterBackspace),
        _ if ctrl(key, 'c') => Some(Action::Quit),
        _ if ctrl(key, 'u') => Some(Action::FilterClear),
        // Enter as a raw terminal may send it: a newline (Ctrl-J) or a carriage return.
        _ if ctrl(key, 'j') || ctrl(key, 'm') => Some(Action::FilterSubmit),
        KeyCode::Char(c) if plain(key) => Some(Action::FilterChar(c)),
        _ => None,
    }
}

/// The action for a key while a menu is open: its items' keys, arrows, Enter, Esc.
pub fn menu(key: KeyEvent) -> Option<Action> {
    match key.code {
        _ if ctrl(key, 'c') => Some(Action::Quit),
        KeyCode::Up => Some(Action::Up),
        KeyCode::Down => Some(Action::Down),
        KeyCode::Enter => Some(Action::Select),
        KeyCode::Esc => Some(Action::Back),
        KeyCode::Char(c) if plain(key) => Some(Action::MenuPick(c)),
        KeyCode::Char(_) if key.modifiers.contains(KeyModifiers::ALT) => Some(Action::Back),
        _ => None,
    }
}

/// The action for a key while a confirmation dialog is open: y does it, anything else
/// cancels (nothing is touched by a stray key).
pub fn confirm(key: KeyEvent) -> Option<Action> {
    match key.code {
        _ if ctrl(key, 'c') => Some(Action::Quit),
        KeyCode::Char('y' | 'Y') if plain(key) => Some(Action::Confirm),
        _ => Some(Action::Back),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn a_chord_is_not_its_letter() {
        let ctrl = |c| with(KeyCode::Char(c), KeyModifiers::CONTROL);
        let alt = |c| with(KeyCode::Char(c), KeyModifiers::ALT);
        assert_eq!(confirm(ctrl('y')), Some(Action::Back), "Ctrl-Y confirmed");
        assert_eq!(confirm(alt('y')), Some(Action::Back));
        assert_eq!(
            prompt(ctrl('j')),
            Some(Action::FilterSubmit),
            "a newline is Enter"
        );
        assert_eq!(prompt(ctrl('m')), Some(Action::FilterSubmit));
        assert_eq!(prompt(ctrl('x')), None);
        assert_eq!(menu(ctrl('k')), None, "Ctrl-K picked abort");
        assert_eq!(menu(alt('K')), Some(Action::Back), "Esc then K: Esc wins");
        assert_eq!(normal(alt('q')), Some(Action::Quit), "Esc then q: q");
        assert_eq!(normal(ctrl('q')), None);
        assert_eq!(normal(ctrl('c')), Some(Action::Quit));
    }

    #[test]
    fn plain_and_shifted_keys_keep_their_meaning() {
        let key = |c, m| with(KeyCode::Char(c), m);
        assert_eq!(confirm(key('y', KeyModifiers::NONE)), Some(Action::Confirm));
        assert_eq!(
            confirm(key('Y', KeyModifiers::SHIFT)),
            Some(Action::Confirm)
        );
        assert_eq!(
            prompt(key('A', KeyModifiers::SHIFT)),
            Some(Action::FilterChar('A'))
        );
        assert_eq!(
            menu(key('K', KeyModifiers::SHIFT)),
            Some(Action::MenuPick('K'))
        );
        assert_eq!(
            normal(key('S', KeyModifiers::SHIFT)),
            Some(Action::SortReverse)
        );
        assert_eq!(
            normal(with(KeyCode::Down, KeyModifiers::NONE)),
            Some(Action::Down)
        );
    }
}
