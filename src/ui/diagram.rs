//! The TCP state diagram (RFC 793's shape, Linux's state names), with a connection's path and
//! current state highlighted.

use super::theme::Theme;
use crate::model::TcpState;
use crate::tracker::Phase;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use std::collections::HashSet;

const DIAGRAM: &[&str] = &[
    "                 CLOSE",
    "      listen()  /     \\  connect(): SYN",
    "               v       v",
    "          LISTEN       SYN_SENT",
    "  rcv SYN: SYN+ACK|       | rcv SYN+ACK: ACK",
    "               v       v",
    "          SYN_RECV ─ACK─> ESTABLISHED",
    "                 close(): FIN /   \\ rcv FIN: ACK",
    "                         v       v",
    "                FIN_WAIT1         CLOSE_WAIT",
    "     rcv ACK /    \\ rcv FIN: ACK       | close(): FIN",
    "            v      v                  v",
    "   FIN_WAIT2      CLOSING          LAST_ACK",
    "    rcv FIN |        | rcv ACK        | rcv ACK",
    "            v        v                v",
    "            TIME_WAIT ─60 s─> GONE   CLOSE",
];

/// The columns the diagram takes: a pane that shows it is at least this wide inside.
pub fn width() -> u16 {
    DIAGRAM.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u16
}

/// The diagram's lines; states on `path` in their colour, `current` reversed and bold.
pub fn lines(path: &HashSet<Phase>, current: Phase, theme: Theme) -> Vec<Line<'static>> {
    DIAGRAM
        .iter()
        .map(|line| {
            let mut spans = Vec::new();
            let mut rest = *line;
            while !rest.is_empty() {
                let word_len = rest
                    .find(|c: char| !(c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()))
                    .unwrap_or(rest.len());
                if word_len == 0 {
                    let other = rest
                        .find(|c: char| c.is_ascii_uppercase())
                        .unwrap_or(rest.len());
                    spans.push(Span::styled(rest[..other].to_string(), theme.dim()));
                    rest = &rest[other..];
                    continue;
                }
                let word = &rest[..word_len];
                let step = if word == "GONE" {
                    Some(Phase::Gone)
                } else {
                    word.parse::<TcpState>().ok().map(Phase::State)
                };
                let style = match step {
                    Some(s) if s == current => theme
                        .state(s)
                        .add_modifier(Modifier::BOLD | Modifier::REVERSED),
                    Some(s) if path.contains(&s) => theme.state(s).add_modifier(Modifier::BOLD),
                    _ => theme.dim(),
                };
                spans.push(Span::styled(word.to_string(), style));
                rest = &rest[word_len..];
            }
            Line::from(spans)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn its_width_is_its_widest_line() {
        assert_eq!(super::width(), 53, "`| close(): FIN` ends the widest line");
    }
}
