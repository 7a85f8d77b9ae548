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
    (KeyCode::PageUp, "PgUp     page up", Action::PageUp),
    (KeyCode::PageDown, "PgDn     page down", Action::PageDown),
    (KeyCode::Home, "Home     first", Action::Home),
    (KeyCode::End, "End      last", Action::End),
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
        "/        filter (the list flags: --port 80 --state time-wait -4 ...)",
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
        "n        lab scenario: play the next step",
        Action::ScenarioNext,
    ),
    (
        KeyCode::Char('r'),
        "r        lab scenario: start again",
        Action::ScenarioRestart,
    ),
    (
        KeyCode::Char('d'),
        "d        lab scenario: the next actor in the state diagram",
        Action::DiagramActor,
    ),
    (
        KeyCode::Char('L'),
        "L        the lab: sockets of tcpscope's own to listen, connect, close…",
        Action::ToggleLab,
    ),
];

/// The action for a key in the normal mode.
pub fn normal(key: KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
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
        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => Some(Action::Quit),
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            Some(Action::FilterClear)
        }
        KeyCode::Char(c) => Some(Action::FilterChar(c)),
        _ => None,
    }
}

/// The action for a key while a menu is open: its items' keys, arrows, Enter, Esc.
pub fn menu(key: KeyEvent) -> Option<Action> {
    match key.code {
        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => Some(Action::Quit),
        KeyCode::Up => Some(Action::Up),
        KeyCode::Down => Some(Action::Down),
        KeyCode::Enter => Some(Action::Select),
        KeyCode::Esc => Some(Action::Back),
        KeyCode::Char(c) => Some(Action::MenuPick(c)),
        _ => None,
    }
}

/// The action for a key while a confirmation dialog is open: y does it, anything else
/// cancels (nothing is touched by a stray key).
pub fn confirm(key: KeyEvent) -> Option<Action> {
    match key.code {
        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => Some(Action::Quit),
        KeyCode::Char('y' | 'Y') => Some(Action::Confirm),
        _ => Some(Action::Back),
    }
}
