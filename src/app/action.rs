//! The vocabulary of the view: what the user can ask for, the panes, the prompts, the sort
//! keys.

/// What the user can ask for; keys and mouse map to these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    ToggleHelp,
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    NextPane,
    PrevPane,
    OpenDetails,
    Back,
    StartFilter,
    FilterChar(char),
    FilterBackspace,
    /// Ctrl-U: empties the prompt.
    FilterClear,
    FilterSubmit,
    FilterCancel,
    SortNext,
    SortReverse,
    TogglePause,
    /// Hide or show the connections that closed (ghosts).
    ToggleGhosts,
    /// Copy the selected row to the clipboard: as text, or as JSON.
    CopyRow,
    CopyRowJson,
    /// Leave the mouse to the terminal (to select text), or take it back.
    ToggleMouse,
    /// A click on a row of a pane (row index within the pane's list).
    Click(Pane, usize),
    ScrollUp,
    ScrollDown,
    /// The actions menu for the selected socket (or the lab).
    OpenActions,
    /// The can-bind report for the selected port.
    CanBind,
    /// Opens or closes the lab pane.
    ToggleLab,
    /// Enter in a menu.
    Select,
    /// A menu item's key.
    MenuPick(char),
    /// Yes in a confirmation dialog.
    Confirm,
    /// The lab scenario's next step.
    ScenarioNext,
    /// The lab scenario from the start.
    ScenarioRestart,
    /// The next actor in the scenario's state diagram.
    DiagramActor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Ports,
    Connections,
    Log,
    /// Only while the lab is open.
    Lab,
}

/// What the bottom prompt is asking for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    Filter,
    LabListen,
    LabConnect,
    LabSend(crate::actions::lab::LabId),
    LabRebind(crate::actions::lab::LabId),
}

impl PromptKind {
    /// The prompt's label and its hint.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            PromptKind::Filter => (
                "/",
                "e.g. nginx --port 8080 --state time-wait --process redis",
            ),
            PromptKind::LabListen => ("listen on ", "ADDR [backlog=N] [reuseaddr] [reuseport]"),
            PromptKind::LabConnect => ("connect to ", "ADDR [from=ADDR] [reuseaddr] [reuseport]"),
            PromptKind::LabSend(_) => ("send ", "the text to send (\\n for a newline)"),
            PromptKind::LabRebind(_) => ("rebind with ", "options: reuseaddr reuseport (or none)"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    State,
    Local,
    Remote,
    RecvQ,
    SendQ,
    Age,
    /// The time left on the socket's timer (none last).
    Timer,
    /// The owner's name, then its pid (unknown last).
    Owner,
}

impl SortKey {
    const ORDER: [SortKey; 8] = [
        SortKey::State,
        SortKey::Local,
        SortKey::Remote,
        SortKey::Timer,
        SortKey::RecvQ,
        SortKey::SendQ,
        SortKey::Age,
        SortKey::Owner,
    ];

    pub(super) fn next(self) -> SortKey {
        let i = SortKey::ORDER.iter().position(|k| *k == self).unwrap_or(0);
        SortKey::ORDER[(i + 1) % SortKey::ORDER.len()]
    }

    pub fn name(self) -> &'static str {
        match self {
            SortKey::State => "state",
            SortKey::Local => "local",
            SortKey::Remote => "remote",
            SortKey::RecvQ => "recv-q",
            SortKey::SendQ => "send-q",
            SortKey::Age => "time in state",
            SortKey::Timer => "timer",
            SortKey::Owner => "owner",
        }
    }
}
