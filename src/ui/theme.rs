//! One colour per state, the same everywhere; NO_COLOR respected (then only bold and dim).

use crate::model::TcpState;
use crate::tracker::Phase;
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colours unless NO_COLOR is set to anything (https://no-color.org).
    pub fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    pub fn state(self, s: Phase) -> Style {
        let c = match s {
            Phase::State(TcpState::Listen) => Color::Blue,
            Phase::State(TcpState::SynSent | TcpState::SynRecv | TcpState::NewSynRecv) => {
                Color::Cyan
            }
            Phase::State(TcpState::Established) => Color::Green,
            Phase::State(TcpState::FinWait1) => Color::Yellow,
            Phase::State(TcpState::FinWait2) => Color::LightYellow,
            Phase::State(TcpState::Closing) => Color::LightMagenta,
            Phase::State(TcpState::TimeWait) => Color::Magenta,
            Phase::State(TcpState::CloseWait) => Color::Red,
            Phase::State(TcpState::LastAck) => Color::LightRed,
            Phase::State(TcpState::Close) | Phase::Gone => Color::DarkGray,
        };
        self.fg(c)
    }

    /// A row that just changed state: bold, in the new state's colour, reversed.
    pub fn flash(self, s: Phase) -> Style {
        self.state(s)
            .add_modifier(Modifier::BOLD | Modifier::REVERSED)
    }

    pub fn ghost(self) -> Style {
        self.fg(Color::DarkGray).add_modifier(Modifier::DIM)
    }

    pub fn selected(self) -> Style {
        if self.color {
            Style::default()
                .bg(Color::Rgb(40, 44, 52))
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        }
    }

    pub fn focus_border(self, focused: bool) -> Style {
        match (focused, self.color) {
            (true, true) => Style::default()
                .fg(Color::White)
                .add_modifier(Modifier::BOLD),
            (true, false) => Style::default().add_modifier(Modifier::BOLD),
            (false, _) => self.fg(Color::DarkGray),
        }
    }

    pub fn warn(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn dim(self) -> Style {
        self.fg(Color::Gray)
    }
}
