//! Terminal setup and restore in one place. The panic hook restores the terminal before the
//! previous hook prints, so a panic never leaves a garbled screen.

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::Stdout;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

pub fn setup() -> std::io::Result<Term> {
    install_panic_hook();
    enable_raw_mode()?;
    let mut stdout = std::io::stdout();
    if let Err(e) = execute!(stdout, EnterAlternateScreen, EnableMouseCapture) {
        restore();
        return Err(e);
    }
    let mut term = Terminal::new(CrosstermBackend::new(stdout))?;
    term.hide_cursor()?;
    Ok(term)
}

/// Leaves the alternate screen, raw mode and mouse capture; errors are ignored (there is
/// nothing better to do with them while exiting or panicking).
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}
