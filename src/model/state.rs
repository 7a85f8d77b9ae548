//! TCP states with the kernel's numbering and names (include/net/tcp_states.h).

use serde::{Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A TCP state as the kernel numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum TcpState {
    Established = 1,
    SynSent = 2,
    SynRecv = 3,
    FinWait1 = 4,
    FinWait2 = 5,
    TimeWait = 6,
    Close = 7,
    CloseWait = 8,
    LastAck = 9,
    Listen = 10,
    Closing = 11,
    NewSynRecv = 12,
}

impl TcpState {
    pub const ALL: [TcpState; 12] = [
        TcpState::Established,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::TimeWait,
        TcpState::Close,
        TcpState::CloseWait,
        TcpState::LastAck,
        TcpState::Listen,
        TcpState::Closing,
        TcpState::NewSynRecv,
    ];

    /// The state for the kernel's number, `None` for a number the kernel does not use.
    pub fn from_kernel(n: u8) -> Option<TcpState> {
        TcpState::ALL.get(usize::from(n).checked_sub(1)?).copied()
    }

    pub fn kernel_number(self) -> u8 {
        self as u8
    }

    /// The kernel's name, as in `include/trace/events/sock.h` (`TCP_` dropped).
    pub fn name(self) -> &'static str {
        match self {
            TcpState::Established => "ESTABLISHED",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::FinWait1 => "FIN_WAIT1",
            TcpState::FinWait2 => "FIN_WAIT2",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::Listen => "LISTEN",
            TcpState::Closing => "CLOSING",
            TcpState::NewSynRecv => "NEW_SYN_RECV",
        }
    }

    /// What the state means and whose move it is, in one line.
    pub fn meaning(self) -> &'static str {
        match self {
            TcpState::Listen => {
                "waiting for connections: the kernel completes handshakes and queues them for accept()"
            }
            TcpState::SynSent => {
                "connect() sent SYN; waiting for the peer's SYN-ACK: the peer's move"
            }
            TcpState::SynRecv | TcpState::NewSynRecv => {
                "SYN received, SYN-ACK sent; waiting for the client's ACK: the peer's move"
            }
            TcpState::Established => "open both ways: either side may send, or close",
            TcpState::FinWait1 => {
                "this side closed and sent FIN; waiting for its ACK: the peer's move"
            }
            TcpState::FinWait2 => {
                "our FIN is acknowledged; waiting for the peer's FIN: the peer application's move (after close() it times out in tcp_fin_timeout; after shutdown(SHUT_WR) it waits for ever)"
            }
            TcpState::Closing => {
                "both sides sent FIN at once; waiting for the ACK of ours: the peer's move"
            }
            TcpState::TimeWait => {
                "this side closed first: the 4-tuple is held 60 s so that late segments die out; nobody's move, the kernel's timer ends it"
            }
            TcpState::CloseWait => {
                "the peer closed; this application has not called close(): a lasting CLOSE_WAIT is a leak in the local application"
            }
            TcpState::LastAck => {
                "the peer closed, then this side closed; waiting for the ACK of our FIN: the peer's move"
            }
            TcpState::Close => {
                "no connection (a failed connect, a reset, a close); the socket is freed when its last fd is closed. It is in no table: ss, /proc/net/tcp and snapshots do not show it, only kernel events"
            }
        }
    }

    /// The bit of this state in the kernel's `idiag_states` mask.
    pub fn mask_bit(self) -> u32 {
        1 << u32::from(self.kernel_number())
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl Serialize for TcpState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// A state name the user typed that matches no state or group.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown TCP state {0:?} (use a kernel name such as ESTABLISHED, TIME_WAIT, CLOSE_WAIT, or a group: all, connected, closing)"
)]
pub struct UnknownState(pub String);

/// Normalises a user-typed state name: case-insensitive, `-` and `_` alike.
fn normalise(name: &str) -> String {
    name.trim().to_ascii_uppercase().replace('-', "_")
}

impl FromStr for TcpState {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = normalise(s);
        // `ss` spellings are accepted too, so that habits carry over.
        let wanted = match wanted.as_str() {
            "ESTAB" => "ESTABLISHED",
            "FIN_WAIT_1" => "FIN_WAIT1",
            "FIN_WAIT_2" => "FIN_WAIT2",
            "SYN_RECEIVED" => "SYN_RECV",
            "CLOSED" => "CLOSE",
            other => other,
        };
        TcpState::ALL
            .into_iter()
            .find(|st| st.name() == wanted)
            .ok_or_else(|| UnknownState(s.to_string()))
    }
}

/// A set of states, stored as the kernel's `idiag_states` bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateSet(u32);

impl StateSet {
    pub const ALL: StateSet = StateSet(0x1ffe);
    pub const EMPTY: StateSet = StateSet(0);

    /// Every state but LISTEN and CLOSE, as `ss state connected` means it.
    pub fn connected() -> StateSet {
        StateSet(StateSet::ALL.0 & !StateSet::of(&[TcpState::Listen, TcpState::Close]).0)
    }

    /// The teardown states: FIN_WAIT1|FIN_WAIT2|CLOSING|LAST_ACK|TIME_WAIT|CLOSE_WAIT.
    pub fn closing() -> StateSet {
        StateSet::of(&[
            TcpState::FinWait1,
            TcpState::FinWait2,
            TcpState::Closing,
            TcpState::LastAck,
            TcpState::TimeWait,
            TcpState::CloseWait,
        ])
    }

    pub fn of(states: &[TcpState]) -> StateSet {
        StateSet(states.iter().fold(0, |m, s| m | s.mask_bit()))
    }

    pub fn contains(self, state: TcpState) -> bool {
        self.0 & state.mask_bit() != 0
    }

    pub fn union(self, other: StateSet) -> StateSet {
        StateSet(self.0 | other.0)
    }

    pub fn without(self, state: TcpState) -> StateSet {
        StateSet(self.0 & !state.mask_bit())
    }

    pub fn bits(self) -> u32 {
        self.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Parses one state name or group name (`all`, `connected`, `closing`).
    ///
    /// `closing` names the group of teardown states (which includes the CLOSING state).
    pub fn parse_one(s: &str) -> Result<StateSet, UnknownState> {
        match normalise(s).as_str() {
            "ALL" => Ok(StateSet::ALL),
            "CONNECTED" => Ok(StateSet::connected()),
            "CLOSING" => Ok(StateSet::closing()),
            _ => s.parse::<TcpState>().map(|st| StateSet::of(&[st])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_numbers_round_trip() {
        for st in TcpState::ALL {
            assert_eq!(TcpState::from_kernel(st.kernel_number()), Some(st));
        }
        assert_eq!(TcpState::from_kernel(0), None);
        assert_eq!(TcpState::from_kernel(13), None);
        assert_eq!(TcpState::from_kernel(255), None);
    }

    #[test]
    fn names_parse_case_insensitively_with_dash_or_underscore() {
        assert_eq!("time-wait".parse(), Ok(TcpState::TimeWait));
        assert_eq!("Close_Wait".parse(), Ok(TcpState::CloseWait));
        assert_eq!("fin-wait-2".parse(), Ok(TcpState::FinWait2));
        assert_eq!("estab".parse(), Ok(TcpState::Established));
        assert!("bogus".parse::<TcpState>().is_err());
    }

    #[test]
    fn groups_parse() {
        let closing = StateSet::parse_one("closing").unwrap();
        assert!(closing.contains(TcpState::Closing));
        assert!(closing.contains(TcpState::CloseWait));
        assert!(!closing.contains(TcpState::Established));
        let connected = StateSet::parse_one("CONNECTED").unwrap();
        assert!(connected.contains(TcpState::Established));
        assert!(connected.contains(TcpState::SynSent));
        assert!(!connected.contains(TcpState::Listen));
        assert!(!connected.contains(TcpState::Close));
        assert!(StateSet::parse_one("nope").is_err());
    }

    #[test]
    fn all_mask_covers_every_state() {
        for st in TcpState::ALL {
            assert!(StateSet::ALL.contains(st), "{st}");
        }
    }
}
