//! The access token: log in, renew before it runs out, log in again when rejected.

use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// A token and what the client knows about its life.
#[derive(Clone)]
pub(super) struct CachedToken {
    /// The bearer token.
    pub token: SecretString,
    /// Increases with every login or renewal; a rejection names the generation it saw.
    pub generation: u64,
    /// Renew or log in again from this instant on (`None`: never, e.g. a given token).
    pub refresh_at: Option<Instant>,
    /// Renewal is useless from here on (max TTL); log in instead.
    pub renewable_until: Option<Instant>,
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken")
            .field("token", &"<redacted>")
            .field("generation", &self.generation)
            .field("refresh_at", &self.refresh_at)
            .field("renewable_until", &self.renewable_until)
            .finish()
    }
}

/// What to do to get a usable token.
#[derive(Debug)]
pub(super) enum TokenAction {
    /// Use this one.
    Use(CachedToken),
    /// Renew this one (it is about to expire but may be extended).
    Renew(CachedToken),
    /// Log in.
    Login,
}

/// The token cache. Callers hold the lock across a login or renewal so that concurrent calls
/// wait for one login instead of starting many.
#[derive(Debug, Default)]
pub(super) struct TokenCache {
    /// The current token.
    pub state: Mutex<Option<CachedToken>>,
}

impl TokenCache {
    /// Decides from the cached token what to do now.
    pub(super) fn action(current: Option<&CachedToken>, now: Instant) -> TokenAction {
        match current {
            None => TokenAction::Login,
            Some(token) if token.refresh_at.is_none_or(|at| now < at) => {
                TokenAction::Use(token.clone())
            }
            Some(token) if token.renewable_until.is_none_or(|until| now < until) => {
                TokenAction::Renew(token.clone())
            }
            Some(_) => TokenAction::Login,
        }
    }
}

/// When to refresh a token that lives `expires_in` seconds: `margin` before the end, but never
/// earlier than three quarters of its life (short test TTLs).
pub(super) fn refresh_at(now: Instant, expires_in: u64, margin: Duration) -> Instant {
    let life = Duration::from_secs(expires_in);
    let margin = margin.min(life / 4);
    now + life - margin
}

/// Until when a renewal can extend a token whose max TTL is `max_ttl` seconds from `created`.
pub(super) fn renewable_until(
    created: Instant,
    max_ttl: Option<u64>,
    margin: Duration,
) -> Option<Instant> {
    max_ttl.map(|ttl| {
        let life = Duration::from_secs(ttl);
        created + life - margin.min(life / 4)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn refresh_schedule() {
        let now = Instant::now();
        assert_eq!(
            refresh_at(now, 86_400, Duration::from_secs(60)),
            now + Duration::from_secs(86_340)
        );
        assert_eq!(
            refresh_at(now, 4, Duration::from_secs(60)),
            now + Duration::from_secs(3)
        );
        let token = CachedToken {
            token: SecretString::from("t".to_string()),
            generation: 1,
            refresh_at: Some(now + Duration::from_secs(10)),
            renewable_until: Some(now + Duration::from_secs(20)),
        };
        assert!(matches!(
            TokenCache::action(Some(&token), now),
            TokenAction::Use(_)
        ));
        assert!(matches!(
            TokenCache::action(Some(&token), now + Duration::from_secs(15)),
            TokenAction::Renew(_)
        ));
        assert!(matches!(
            TokenCache::action(Some(&token), now + Duration::from_secs(25)),
            TokenAction::Login
        ));
        assert!(matches!(TokenCache::action(None, now), TokenAction::Login));
        assert!(!format!("{token:?}").contains("\"t\""));
    }
}
