//! Plain data: states, socket records, owners and filters. No I/O.

pub mod accept_queue;
pub mod color;
pub mod endpoint;
pub mod event;
pub mod filter;
pub mod netns;
pub mod owner;
pub mod ports;
pub mod safe_text;
pub mod socket;
pub mod state;
pub mod time;

pub use endpoint::Endpoint;
pub use event::{KernelEvent, KernelEventKind};
pub use filter::Filter;
pub use owner::Owner;
pub use socket::{Family, SocketRecord, TcpInfo, Timer, TimerKind};
pub use state::{StateSet, TcpState};
