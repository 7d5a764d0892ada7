//! The etcd backend: etcd v3 `Put` and `Range` over gRPC through the `etcd-client` crate.
//!
//! ```text
//!   --conns N ──► N etcd_client::Client, connection i pinned to endpoint i mod len
//!   client c ──► KvClient of connection c mod N (HTTP/2 multiplexes the clients sharing it)
//!   SET ──► Put(key, value)        GET ──► Range(key) [+ serializable = true]
//!   gRPC status ──► error kind "grpc:<Code>"   transport failure ──► "transport"
//! ```
//!
//! Each connection names one endpoint, not the whole list, so `--conns` counts TCP
//! connections the way `--conns` does for RESP; etcd members forward writes (and read-index
//! requests) to the leader themselves, as our followers do.
//!
//! Behind the `etcd` cargo feature: `etcd-client`'s build script needs `protoc` (see `mod.rs`).

use etcd_client::{Client, Error, GetOptions, KvClient};

/// One client's handle on a shared gRPC connection.
pub struct EtcdConn {
    /// The KV service stub; cloning it shares the underlying channel.
    kv: KvClient,
    /// Ask for serializable (member-local) reads.
    serializable: bool,
}

/// Open `conns` connections, round-robin over `endpoints`.
pub async fn connect_all(endpoints: &[String], conns: usize) -> Result<Vec<KvClient>, String> {
    let mut out = Vec::with_capacity(conns);
    for i in 0..conns {
        let endpoint = &endpoints[i % endpoints.len()];
        let url = format!("http://{endpoint}");
        let client = Client::connect([url.as_str()], None)
            .await
            .map_err(|e| format!("cannot connect to etcd at {endpoint}: {e}"))?;
        out.push(client.kv_client());
    }
    Ok(out)
}

impl EtcdConn {
    /// A client's handle on connection `kv`.
    pub fn new(kv: KvClient, serializable: bool) -> EtcdConn {
        EtcdConn { kv, serializable }
    }

    /// `Put(key, value)`; the error kind on failure.
    pub async fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), String> {
        self.kv
            .put(key, value, None)
            .await
            .map(|_| ())
            .map_err(kind)
    }

    /// `Range(key)`, serializable if asked; the error kind on failure.
    pub async fn get(&mut self, key: &[u8]) -> Result<(), String> {
        let options = self
            .serializable
            .then(|| GetOptions::new().with_serializable());
        self.kv.get(key, options).await.map(|_| ()).map_err(kind)
    }
}

fn kind(e: Error) -> String {
    match e {
        Error::GRpcStatus(status) => format!("grpc:{:?}", status.code()),
        Error::TransportError(_) => "transport".into(),
        Error::IoError(_) => "io".into(),
        _ => "etcd".into(),
    }
}
