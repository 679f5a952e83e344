//! Bounded MCP sessions over HTTP.
//!
//! rmcp's [`LocalSessionManager`] keeps every session (about 110 KB each) until the client
//! deletes it or it has been idle for five minutes, with no limit on their number. Here:
//!
//! - [`SessionLedger`] counts open sessions per token (by its fingerprint) and in total. The
//!   HTTP guard reserves a place before a request that may open a session (a `POST` without
//!   `Mcp-Session-Id`) reaches rmcp, and refuses it when the token or the server is at its limit;
//!   when the answer carries a new session id, the place is the session's until it closes.
//! - [`BoundedSessions`] wraps the session manager so that the ledger hears about every session
//!   that opens and closes (by `DELETE`, idle timeout or shutdown).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::Stream;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::{
    EventStore, RestoreOutcome, ServerSseMessage, SessionId, SessionManager,
};

/// Default limit of open sessions per token.
pub(crate) const DEFAULT_MAX_SESSIONS_PER_TOKEN: usize = 16;
/// Default limit of open sessions in total.
pub(crate) const DEFAULT_MAX_SESSIONS: usize = 64;

/// Why no session can be opened now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionsFull {
    /// The token has this many sessions open.
    Token(usize),
    /// The server has this many sessions open.
    Server(usize),
}

#[derive(Debug, Default)]
struct Counts {
    /// Open sessions: their owner once known (`None` between creation and the answer).
    open: HashMap<SessionId, Option<String>>,
    /// Places reserved by requests in flight, per owner.
    reserved: HashMap<String, usize>,
}

impl Counts {
    fn of(&self, owner: &str) -> usize {
        let open = self
            .open
            .values()
            .filter(|o| o.as_deref() == Some(owner))
            .count();
        open + self.reserved.get(owner).copied().unwrap_or(0)
    }

    fn total(&self) -> usize {
        let open = self.open.values().filter(|o| o.is_some()).count();
        open + self.reserved.values().sum::<usize>()
    }
}

/// Open MCP sessions, per token and in total.
#[derive(Debug)]
pub(crate) struct SessionLedger {
    per_token: usize,
    total: usize,
    counts: Mutex<Counts>,
}

/// A place held for a request that may open a session; released when dropped unless the
/// answer named a session ([`Reservation::settle`]).
#[derive(Debug)]
pub(crate) struct Reservation {
    ledger: Arc<SessionLedger>,
    owner: String,
}

impl SessionLedger {
    /// A ledger allowing `per_token` sessions per token and `total` in all (each at least 1).
    pub(crate) fn new(per_token: usize, total: usize) -> Arc<Self> {
        Arc::new(Self {
            per_token: per_token.max(1),
            total: total.max(1),
            counts: Mutex::new(Counts::default()),
        })
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The limit per token.
    pub(crate) fn per_token_limit(&self) -> usize {
        self.per_token
    }

    /// The limit in total.
    pub(crate) fn total_limit(&self) -> usize {
        self.total
    }

    /// Open sessions (those whose owner is known) and reserved places.
    #[cfg(test)]
    pub(crate) fn in_use(&self) -> usize {
        self.counts().total()
    }

    /// Holds a place for `owner` (a token fingerprint), or says which limit is reached.
    ///
    /// # Errors
    /// [`SessionsFull`] when the token or the server is at its limit.
    pub(crate) fn reserve(self: &Arc<Self>, owner: &str) -> Result<Reservation, SessionsFull> {
        let mut counts = self.counts();
        let mine = counts.of(owner);
        if mine >= self.per_token {
            return Err(SessionsFull::Token(mine));
        }
        let total = counts.total();
        if total >= self.total {
            return Err(SessionsFull::Server(total));
        }
        *counts.reserved.entry(owner.to_string()).or_insert(0) += 1;
        Ok(Reservation {
            ledger: self.clone(),
            owner: owner.to_string(),
        })
    }

    fn opened(&self, id: &SessionId) {
        self.counts().open.insert(id.clone(), None);
    }

    fn closed(&self, id: &SessionId) {
        self.counts().open.remove(id);
    }
}

impl Reservation {
    /// The answer named session `id`: it now counts for the owner (unless it closed already),
    /// and the reserved place is released.
    pub(crate) fn settle(self, id: Option<&str>) {
        if let Some(id) = id {
            let mut counts = self.ledger.counts();
            if let Some(owner) = counts.open.get_mut(id) {
                *owner = Some(self.owner.clone());
            }
        }
        // Drop releases the reservation.
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut counts = self.ledger.counts();
        if let Some(count) = counts.reserved.get_mut(&self.owner) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.reserved.remove(&self.owner);
            }
        }
    }
}

/// A session manager that reports every opened and closed session to a [`SessionLedger`].
#[derive(Debug)]
pub(crate) struct BoundedSessions<M> {
    inner: M,
    ledger: Arc<SessionLedger>,
}

impl<M> BoundedSessions<M> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: M, ledger: Arc<SessionLedger>) -> Self {
        Self { inner, ledger }
    }
}

impl<M: SessionManager> SessionManager for BoundedSessions<M> {
    type Error = M::Error;
    type Transport = M::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        let (id, transport) = self.inner.create_session().await?;
        self.ledger.opened(&id);
        Ok((id, transport))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        self.inner.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        self.inner.has_session(id).await
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        let closed = self.inner.close_session(id).await;
        self.ledger.closed(id);
        closed
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.create_stream(id, message).await
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.create_standalone_stream(id).await
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.resume(id, last_event_id).await
    }

    async fn restore_session(
        &self,
        id: SessionId,
    ) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        let restored = self.inner.restore_session(id.clone()).await?;
        if matches!(restored, RestoreOutcome::Restored(_)) {
            self.ledger.opened(&id);
        }
        Ok(restored)
    }

    fn event_store(&self) -> Option<Arc<dyn EventStore>> {
        self.inner.event_store()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> SessionId {
        SessionId::from(text)
    }

    #[test]
    fn places_are_capped_per_token_and_in_total() {
        let ledger = SessionLedger::new(2, 3);
        let a1 = ledger.reserve("a").unwrap();
        ledger.opened(&id("s1"));
        a1.settle(Some("s1"));
        let a2 = ledger.reserve("a").unwrap();
        assert_eq!(ledger.reserve("a").unwrap_err(), SessionsFull::Token(2));
        let b1 = ledger.reserve("b").unwrap();
        assert_eq!(ledger.reserve("b").unwrap_err(), SessionsFull::Server(3));
        // A request that opened no session gives its place back.
        drop(a2);
        drop(b1);
        assert_eq!(ledger.in_use(), 1);
        ledger.closed(&id("s1"));
        assert_eq!(ledger.in_use(), 0);
        assert!(ledger.reserve("a").is_ok());
    }

    #[test]
    fn a_session_closed_before_its_answer_does_not_count() {
        let ledger = SessionLedger::new(1, 1);
        let reservation = ledger.reserve("a").unwrap();
        ledger.opened(&id("s1"));
        ledger.closed(&id("s1"));
        reservation.settle(Some("s1"));
        assert_eq!(ledger.in_use(), 0);
        assert!(ledger.reserve("a").is_ok());
    }
}
