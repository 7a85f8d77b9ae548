//! One colour per state, the same everywhere (`model::color::Palette`, which the config file
//! may change); without colour (`--color never`, NO_COLOR) only bold and dim.

use crate::model::color::{Colour, Palette};
use crate::tracker::Phase;
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// Whether to colour at all: decided once for every command (`options::color`).
    pub color: bool,
    pub palette: Palette,
}

impl Theme {
    pub fn new(color: bool, palette: Palette) -> Theme {
        Theme { color, palette }
    }

    /// No colour, the default palette (for tests).
    pub fn plain() -> Theme {
        Theme::new(false, Palette::default())
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
            Phase::State(st) => self.palette.state(st),
            Phase::Gone => self.palette.gone(),
        };
        self.fg(ratatui_colour(c))
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

fn ratatui_colour(c: Colour) -> Color {
    match c {
        Colour::Black => Color::Black,
        Colour::Red => Color::Red,
        Colour::Green => Color::Green,
        Colour::Yellow => Color::Yellow,
        Colour::Blue => Color::Blue,
        Colour::Magenta => Color::Magenta,
        Colour::Cyan => Color::Cyan,
        Colour::Gray => Color::Gray,
        Colour::DarkGray => Color::DarkGray,
        Colour::LightRed => Color::LightRed,
        Colour::LightGreen => Color::LightGreen,
        Colour::LightYellow => Color::LightYellow,
        Colour::LightBlue => Color::LightBlue,
        Colour::LightMagenta => Color::LightMagenta,
        Colour::LightCyan => Color::LightCyan,
        Colour::White => Color::White,
        Colour::Indexed(i) => Color::Indexed(i),
        Colour::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TcpState;

    /// The default palette keeps the view's colours as they were.
    #[test]
    fn the_default_palette_is_the_views_colours() {
        let t = Theme::new(true, Palette::default());
        let fg = |s| t.state(s).fg;
        assert_eq!(fg(Phase::State(TcpState::Listen)), Some(Color::Blue));
        assert_eq!(fg(Phase::State(TcpState::TimeWait)), Some(Color::Magenta));
        assert_eq!(fg(Phase::State(TcpState::CloseWait)), Some(Color::Red));
        assert_eq!(
            fg(Phase::State(TcpState::FinWait2)),
            Some(Color::LightYellow)
        );
        assert_eq!(fg(Phase::Gone), Some(Color::DarkGray));
        assert_eq!(Theme::plain().state(Phase::Gone).fg, None);
    }

    #[test]
    fn a_palette_entry_changes_the_views_colour() {
        let mut p = Palette::default();
        p.set(
            crate::model::color::PaletteKey::State(TcpState::TimeWait),
            Colour::Rgb(1, 2, 3),
        );
        let t = Theme::new(true, p);
        assert_eq!(
            t.state(Phase::State(TcpState::TimeWait)).fg,
            Some(Color::Rgb(1, 2, 3))
        );
    }
}
