//! The live preview: find the dev server's port, and serve it to the preview pane through a
//! loopback reverse proxy that only answers requests carrying the preview's secret.

pub mod ports;
pub mod proxy;

pub use proxy::{system_tls, PreviewProxy, ProxyError, Upstream};
