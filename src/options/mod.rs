//! The option grammar shared by the command line and the interactive view (clap derive): what
//! to show (the filter proper), where the sockets come from, and the view's own settings. It
//! sits below both users: the view's `/` prompt takes the filter alone, and the lab view builds
//! its settings without parsing anything.

pub mod color;
pub mod config;
mod filter;
pub mod number;
mod source;
mod view;

pub use color::ColorChoice;
pub use filter::FilterArgs;
pub use source::SourceArgs;
pub use view::TuiArgs;
