//! The operators' door: Prometheus metrics pushed from the node task, and the HTTP port that
//! serves them with a health check.
//!
//! ```text
//!   node task, connections ──► metrics.rs (registry) ──► http.rs: GET /metrics, GET /health
//! ```

pub(crate) mod http;
pub mod metrics;
