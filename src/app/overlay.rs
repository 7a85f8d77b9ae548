//! What is drawn over the panes: help, a connection's details, a menu, a confirmation, a
//! report.

use super::confirm::Confirm;
use super::menu::Menu;
use crate::tracker::ConnId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    None,
    /// The keys, from this first line (the help scrolls on a small terminal).
    Help(usize),
    Details(ConnId),
    Menu(Menu),
    Confirm(Confirm),
    /// A text report (can-bind): title, lines, first line shown.
    Report(String, Vec<String>, usize),
}
