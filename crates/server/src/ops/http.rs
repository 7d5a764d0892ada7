//! The operations port: `GET /metrics` (Prometheus text format) and `GET /health`, over
//! HTTP/1.1 served by hyper.
//!
//! ```text
//!   --metrics-listen ──accept──► (≤ 64 connections, each ≤ 30 s) ──► hyper http1 ──► route
//!     GET /metrics ──► 200 text/plain; version=0.0.4   Metrics::render()
//!     GET /health  ──► 200 {"status":"ok",...}          a leader is known and the WAL is healthy
//!                  └─► 503 {"status":"unavailable",...} otherwise (election, or WAL failed)
//!     anything else ─► 404
//! ```
//!
//! `/health` is a readiness check for a load balancer or an orchestrator: a node with no known
//! leader can neither write nor serve linearizable reads, so it should not get traffic.
//! Road not taken: axum, whose router and tower stack are more than two fixed routes need.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use distributed_core::NodeId;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::{debug, warn};

use crate::ops::metrics::Metrics;

/// Most HTTP connections served at once; more are closed at accept.
const HTTP_CONNECTIONS_MAX: usize = 64;
/// Longest life of one HTTP connection: bounds what a slow or idle client holds.
const HTTP_CONNECTION_SECS: u64 = 30;

/// Serve `/metrics` and `/health` on `listener` forever.
pub(crate) async fn serve(listener: TcpListener, node: NodeId, metrics: Arc<Metrics>) {
    let slots = Arc::new(Semaphore::new(HTTP_CONNECTIONS_MAX));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                warn!("metrics accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            debug!("{HTTP_CONNECTIONS_MAX} metrics connections open; closing a new one");
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                let response = route(&req, node, &metrics);
                async move { Ok::<_, Infallible>(response) }
            });
            let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            let limit = Duration::from_secs(HTTP_CONNECTION_SECS);
            if let Ok(Err(e)) = tokio::time::timeout(limit, conn).await {
                debug!("metrics connection: {e}");
            }
            drop(permit);
        });
    }
}

fn route<B>(req: &Request<B>, node: NodeId, metrics: &Metrics) -> Response<Full<Bytes>> {
    if req.method() != Method::GET {
        return respond(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n".into(),
        );
    }
    match req.uri().path() {
        "/metrics" => respond(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.render(),
        ),
        "/health" => {
            let (status, body) = health(node, metrics);
            respond(status, "application/json", body)
        }
        _ => respond(
            StatusCode::NOT_FOUND,
            "text/plain",
            "try /metrics or /health\n".into(),
        ),
    }
}

/// 200 when a leader is known and the WAL is healthy, else 503; a one-line JSON body.
pub(crate) fn health(node: NodeId, metrics: &Metrics) -> (StatusCode, String) {
    let leader = metrics.leader.get();
    let wal_ok = metrics.wal_healthy.get() == 1;
    let ok = leader != 0 && wal_ok;
    let body = format!(
        "{{\"status\":\"{}\",\"node\":{},\"leader\":{},\"term\":{},\"wal\":\"{}\"}}\n",
        if ok { "ok" } else { "unavailable" },
        node.0,
        if leader == 0 {
            "null".to_string()
        } else {
            leader.to_string()
        },
        metrics.term.get(),
        if wal_ok { "ok" } else { "failed" },
    );
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, body)
}

fn respond(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_is_503_without_a_leader_and_200_with_one_and_a_healthy_wal() {
        let m = Metrics::new();
        let (status, body) = health(NodeId(1), &m);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("\"leader\":null"), "{body}");
        m.leader.set(2);
        let (status, body) = health(NodeId(1), &m);
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("\"status\":\"ok\""), "{body}");
        m.wal_healthy.set(0);
        let (status, body) = health(NodeId(1), &m);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("\"wal\":\"failed\""), "{body}");
    }
}
