//! The colours of the states, the same in the interactive view and in `list`'s table: a
//! terminal colour (the 16 named ones, a palette index, or `#rrggbb`), and one per state.

use super::TcpState;

/// A terminal colour, named as ratatui names them (`light_red`, `dark gray`, `grey` all work).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Black,
    Red,
    Green,
    Yellow,
    Blue,
    Magenta,
    Cyan,
    Gray,
    DarkGray,
    LightRed,
    LightGreen,
    LightYellow,
    LightBlue,
    LightMagenta,
    LightCyan,
    White,
    /// One of the terminal's 256.
    Indexed(u8),
    Rgb(u8, u8, u8),
}

/// The names `Colour::parse` takes, for error messages.
pub const COLOUR_NAMES: &str = "black, red, green, yellow, blue, magenta, cyan, gray, dark_gray, light_red, light_green, light_yellow, light_blue, light_magenta, light_cyan, white, 0 to 255, or #rrggbb";

impl Colour {
    /// `yellow`, `Light-Red`, `dark_grey`, `bright blue`, `208`, `#ff8800`.
    pub fn parse(text: &str) -> Result<Colour, String> {
        let name = text
            .to_lowercase()
            .replace([' ', '-', '_'], "")
            .replace("bright", "light")
            .replace("grey", "gray");
        let named = match name.as_str() {
            "black" => Colour::Black,
            "red" => Colour::Red,
            "green" => Colour::Green,
            "yellow" => Colour::Yellow,
            "blue" => Colour::Blue,
            "magenta" => Colour::Magenta,
            "cyan" => Colour::Cyan,
            "gray" => Colour::Gray,
            "darkgray" => Colour::DarkGray,
            "lightred" => Colour::LightRed,
            "lightgreen" => Colour::LightGreen,
            "lightyellow" => Colour::LightYellow,
            "lightblue" => Colour::LightBlue,
            "lightmagenta" => Colour::LightMagenta,
            "lightcyan" => Colour::LightCyan,
            "white" => Colour::White,
            _ => {
                if let Ok(index) = name.parse::<u8>() {
                    Colour::Indexed(index)
                } else if let Some((r, g, b)) = hex(&name) {
                    Colour::Rgb(r, g, b)
                } else {
                    return Err(format!("{text:?} is not a colour: {COLOUR_NAMES}"));
                }
            }
        };
        Ok(named)
    }

    /// The ANSI SGR parameters that set it as the foreground (`33`, `38;5;208`, `38;2;r;g;b`).
    pub fn sgr_foreground(self) -> String {
        let basic = |n: u8| n.to_string();
        match self {
            Colour::Black => basic(30),
            Colour::Red => basic(31),
            Colour::Green => basic(32),
            Colour::Yellow => basic(33),
            Colour::Blue => basic(34),
            Colour::Magenta => basic(35),
            Colour::Cyan => basic(36),
            Colour::Gray => basic(37),
            Colour::DarkGray => basic(90),
            Colour::LightRed => basic(91),
            Colour::LightGreen => basic(92),
            Colour::LightYellow => basic(93),
            Colour::LightBlue => basic(94),
            Colour::LightMagenta => basic(95),
            Colour::LightCyan => basic(96),
            Colour::White => basic(97),
            Colour::Indexed(i) => format!("38;5;{i}"),
            Colour::Rgb(r, g, b) => format!("38;2;{r};{g};{b}"),
        }
    }
}

fn hex(s: &str) -> Option<(u8, u8, u8)> {
    let digits = s.strip_prefix('#')?;
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&digits[i..i + 2], 16).ok();
    Some((byte(0)?, byte(2)?, byte(4)?))
}

/// One colour per state, and one for a connection that is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    /// By `TcpState::kernel_number() - 1`.
    states: [Colour; 12],
    gone: Colour,
}

impl Default for Palette {
    /// The view's colours: blue listeners, cyan handshakes, green established, the teardown
    /// from yellow (ours) through magenta to red (the peer application's move).
    fn default() -> Palette {
        let mut states = [Colour::DarkGray; 12];
        for s in TcpState::ALL {
            states[index(s)] = match s {
                TcpState::Listen => Colour::Blue,
                TcpState::SynSent | TcpState::SynRecv | TcpState::NewSynRecv => Colour::Cyan,
                TcpState::Established => Colour::Green,
                TcpState::FinWait1 => Colour::Yellow,
                TcpState::FinWait2 => Colour::LightYellow,
                TcpState::Closing => Colour::LightMagenta,
                TcpState::TimeWait => Colour::Magenta,
                TcpState::CloseWait => Colour::Red,
                TcpState::LastAck => Colour::LightRed,
                TcpState::Close => Colour::DarkGray,
            };
        }
        Palette {
            states,
            gone: Colour::DarkGray,
        }
    }
}

fn index(s: TcpState) -> usize {
    usize::from(s.kernel_number() - 1)
}

/// What a palette entry is for: a state, or GONE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaletteKey {
    State(TcpState),
    Gone,
}

impl PaletteKey {
    /// A state's kernel name in any case, `-` or `_` (`time_wait`, `FIN-WAIT2`), or `gone`.
    pub fn parse(name: &str) -> Option<PaletteKey> {
        let norm = name.to_uppercase().replace('-', "_");
        if norm == "GONE" {
            return Some(PaletteKey::Gone);
        }
        TcpState::ALL
            .into_iter()
            .find(|s| s.name() == norm)
            .map(PaletteKey::State)
    }
}

impl Palette {
    pub fn state(&self, s: TcpState) -> Colour {
        self.states[index(s)]
    }

    pub fn gone(&self) -> Colour {
        self.gone
    }

    pub fn set(&mut self, key: PaletteKey, colour: Colour) {
        match key {
            PaletteKey::State(s) => self.states[index(s)] = colour,
            PaletteKey::Gone => self.gone = colour,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_as_ratatui_names_them() {
        assert_eq!(Colour::parse("yellow"), Ok(Colour::Yellow));
        assert_eq!(Colour::parse("Light-Red"), Ok(Colour::LightRed));
        assert_eq!(Colour::parse("dark_grey"), Ok(Colour::DarkGray));
        assert_eq!(Colour::parse("bright blue"), Ok(Colour::LightBlue));
        assert_eq!(Colour::parse("208"), Ok(Colour::Indexed(208)));
        assert_eq!(Colour::parse("#FF8800"), Ok(Colour::Rgb(255, 136, 0)));
        for bad in ["", "purpleish", "#ff88", "#gg0000", "256", "#ff88001"] {
            let err = Colour::parse(bad).unwrap_err();
            assert!(
                err.contains("is not a colour") && err.contains("#rrggbb"),
                "{err}"
            );
        }
    }

    #[test]
    fn sgr_is_the_terminals_own_palette_or_rgb() {
        assert_eq!(Colour::Yellow.sgr_foreground(), "33");
        assert_eq!(Colour::LightYellow.sgr_foreground(), "93");
        assert_eq!(Colour::Indexed(208).sgr_foreground(), "38;5;208");
        assert_eq!(Colour::Rgb(1, 2, 3).sgr_foreground(), "38;2;1;2;3");
    }

    #[test]
    fn a_palette_entry_is_set_by_state_name() {
        let mut p = Palette::default();
        assert_eq!(p.state(TcpState::TimeWait), Colour::Magenta);
        p.set(PaletteKey::parse("time_wait").unwrap(), Colour::Yellow);
        p.set(PaletteKey::parse("GONE").unwrap(), Colour::White);
        assert_eq!(p.state(TcpState::TimeWait), Colour::Yellow);
        assert_eq!(p.gone(), Colour::White);
        assert_eq!(p.state(TcpState::FinWait2), Colour::LightYellow);
        assert_eq!(
            PaletteKey::parse("fin-wait2"),
            Some(PaletteKey::State(TcpState::FinWait2))
        );
        assert_eq!(PaletteKey::parse("half_open"), None);
    }
}
