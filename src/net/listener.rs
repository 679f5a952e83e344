//! The HTTP listener of the daemon (`run --listen`) and of the MCP server (`mcp --listen`):
//! HTTP/1.1 with timeouts and connection caps, so that slow or idle clients cannot hold
//! connections or memory before they authenticate.
//!
//! | limit | default | what happens |
//! |---|---|---|
//! | [`ListenerLimits::header_read_timeout`] | 15 s | a request's line and headers must arrive within it, counted from the moment the connection is ready for a request: it is also the idle keep-alive timeout; else the connection is closed |
//! | [`ListenerLimits::body_read_timeout`] | 30 s | a request's body must arrive within it, counted from the end of its headers; else reading fails (the handler answers 4xx) and the connection is closed |
//! | [`ListenerLimits::max_header_bytes`] | 64 KiB | larger request heads are answered 431 |
//! | [`ListenerLimits::max_connections`] | 128 | connections open at once; one more is answered 503 and closed |
//! | [`ListenerLimits::max_connections_per_ip`] | 64 | connections open at once from one IP address (one /64 for IPv6); one more is answered 503 and closed |
//! | [`ListenerLimits::shutdown_drain`] | 10 s | on shutdown, open connections get this long to finish |
//!
//! Each request carries the peer's address as axum's `ConnectInfo<SocketAddr>`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// The answer to a connection beyond a cap, written before closing it.
const BUSY_ANSWER: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 84\r\n\
\r\n\
{\"error\":\"too-many-connections\",\"message\":\"too many open connections; retry later\"}\n";

/// How often, at most, refused connections are logged at `WARN`.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// The listener's limits (see the module documentation).
#[derive(Debug, Clone)]
pub struct ListenerLimits {
    /// Time for a request's line and headers, from the moment the connection is ready for a
    /// request (so also the idle keep-alive timeout).
    pub header_read_timeout: Duration,
    /// Time for a request's body, from the end of its headers.
    pub body_read_timeout: Duration,
    /// Largest request head (hyper's read buffer; at least 8 KiB).
    pub max_header_bytes: usize,
    /// Connections open at once.
    pub max_connections: usize,
    /// Connections open at once from one IP address (IPv6: one /64).
    pub max_connections_per_ip: usize,
    /// How long open connections may finish after shutdown was asked for.
    pub shutdown_drain: Duration,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(15),
            body_read_timeout: Duration::from_secs(30),
            max_header_bytes: 64 * 1024,
            max_connections: 128,
            max_connections_per_ip: 64,
            shutdown_drain: Duration::from_secs(10),
        }
    }
}

/// The key connections (and failed logins) are counted under: an IPv4 address, or the /64
/// network of an IPv6 address (one host usually owns a whole /64). IPv4-mapped IPv6 addresses
/// count as their IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerKey(IpAddr);

impl PeerKey {
    /// The key of a peer address (its port never counts).
    pub fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) => PeerKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => PeerKey(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    PeerKey(IpAddr::V6(prefix.into()))
                }
            },
        }
    }
}

impl std::fmt::Display for PeerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// Open connections, in total and per peer.
#[derive(Debug)]
struct Connections {
    limits: ListenerLimits,
    open: Mutex<(usize, HashMap<PeerKey, usize>)>,
}

/// One open connection; counted until dropped.
#[derive(Debug)]
struct Slot {
    connections: Arc<Connections>,
    peer: PeerKey,
}

impl Connections {
    fn admit(self: &Arc<Self>, peer: PeerKey) -> Option<Slot> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (total, per_peer) = &mut *open;
        let from_peer = per_peer.get(&peer).copied().unwrap_or(0);
        if *total >= self.limits.max_connections || from_peer >= self.limits.max_connections_per_ip
        {
            return None;
        }
        *total += 1;
        per_peer.insert(peer, from_peer + 1);
        Some(Slot {
            connections: self.clone(),
            peer,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .connections
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (total, per_peer) = &mut *open;
        *total = total.saturating_sub(1);
        if let Some(count) = per_peer.get_mut(&self.peer) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                per_peer.remove(&self.peer);
            }
        }
    }
}

/// A request body that fails once its deadline has passed.
struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    timeout: Duration,
}

/// The request body did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct BodyTimedOut(pub Duration);

impl hyper::body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut(self.timeout)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Serves `router` on `listener` under `limits` until `shutdown` completes; then stops
/// accepting, lets open connections finish for [`ListenerLimits::shutdown_drain`], and returns.
///
/// # Errors
/// Never today; accept failures (e.g. out of file descriptors) are logged and retried.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: ListenerLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let connections = Arc::new(Connections {
        limits: limits.clone(),
        open: Mutex::new((0, HashMap::new())),
    });
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut last_refusal_log: Option<tokio::time::Instant> = None;
    let mut refused_since_log: u64 = 0;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(error = %error, "listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let key = PeerKey::of(peer.ip());
        let Some(slot) = connections.admit(key) else {
            refuse_busy(&stream);
            drop(stream);
            refused_since_log += 1;
            let now = tokio::time::Instant::now();
            if last_refusal_log.is_none_or(|at| now.duration_since(at) >= REFUSAL_LOG_INTERVAL) {
                tracing::warn!(
                    peer = %key,
                    refused = refused_since_log,
                    max_connections = limits.max_connections,
                    max_connections_per_ip = limits.max_connections_per_ip,
                    "listener: refused connections beyond the connection limit"
                );
                last_refusal_log = Some(now);
                refused_since_log = 0;
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection = serve_connection(stream, peer, router.clone(), limits.clone());
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!(
            drain = ?limits.shutdown_drain,
            "listener: connections still open after the drain time were dropped"
        );
    }
    Ok(())
}

fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: axum::Router,
    limits: ListenerLimits,
) -> hyper::server::conn::http1::Connection<
    TokioIo<TcpStream>,
    impl hyper::service::Service<
        hyper::Request<Incoming>,
        Response = axum::response::Response,
        Error = Infallible,
        Future = impl Future<Output = Result<axum::response::Response, Infallible>> + Send,
    > + use<>,
> {
    let body_read_timeout = limits.body_read_timeout;
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let router = router.clone();
        let mut request = request.map(|body| {
            axum::body::Body::new(DeadlineBody {
                inner: body,
                deadline: Box::pin(tokio::time::sleep(body_read_timeout)),
                timeout: body_read_timeout,
            })
        });
        request.extensions_mut().insert(ConnectInfo(peer));
        router.oneshot(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8 * 1024));
    builder.serve_connection(TokioIo::new(stream), service)
}

/// Answers 503 on a fresh connection without waiting (the socket's send buffer is empty, so a
/// short write succeeds at once; if it does not, the connection is just closed).
fn refuse_busy(stream: &TcpStream) {
    let _ = stream.try_write(BUSY_ANSWER);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_keyed_by_address_and_ipv6_by_its_64_network() {
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(PeerKey::of(v4).to_string(), "192.0.2.7");
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(PeerKey::of(mapped), PeerKey::of(v4));
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(PeerKey::of(a), PeerKey::of(b));
        assert_ne!(PeerKey::of(a), PeerKey::of(other));
        assert_eq!(PeerKey::of(a).to_string(), "2001:db8:1:2::/64");
    }

    #[test]
    fn the_busy_answer_declares_its_exact_length() {
        let text = std::str::from_utf8(BUSY_ANSWER).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(body.trim_end()).unwrap();
        assert_eq!(json["error"], "too-many-connections");
    }

    #[test]
    fn connections_are_capped_in_total_and_per_peer() {
        let connections = Arc::new(Connections {
            limits: ListenerLimits {
                max_connections: 3,
                max_connections_per_ip: 2,
                ..ListenerLimits::default()
            },
            open: Mutex::new((0, HashMap::new())),
        });
        let a = PeerKey::of([10, 0, 0, 1].into());
        let b = PeerKey::of([10, 0, 0, 2].into());
        let first = connections.admit(a);
        let second = connections.admit(a);
        assert!(first.is_some() && second.is_some());
        assert!(connections.admit(a).is_none(), "per-peer cap");
        let third = connections.admit(b);
        assert!(third.is_some());
        assert!(connections.admit(b).is_none(), "total cap");
        drop(first);
        assert!(
            connections.admit(a).is_some(),
            "a closed connection frees its slot"
        );
        drop((second, third));
    }
}
