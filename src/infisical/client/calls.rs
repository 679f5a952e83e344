//! The retry loop: sending calls and decoding their answers.

use super::*;

impl HttpClient {
    // -----------------------------------------------------------------------------------------
    // The retry loop

    /// Sends `call` until it succeeds, fails for good, or (non-idempotent calls) its outcome is
    /// unknown.
    pub(super) async fn execute(&self, call: &Call, budget: &mut Budget) -> Result<Raw, Failure> {
        let config = &self.inner.config;
        let mut fresh_login_tried = false;
        loop {
            let token = if call.authenticated {
                // boxed: logging in runs an (anonymous) call through this same loop
                Some(Box::pin(self.token()).await.map_err(Failure::Final)?)
            } else {
                None
            };
            budget.record_attempt();
            let sent = {
                let _permit = self.inner.permits.acquire().await.map_err(|_| {
                    Failure::Final(ApiError::Network {
                        context: call.context(None, "client is shutting down".into()),
                        source: "semaphore closed".into(),
                    })
                })?;
                let started = Instant::now();
                let sent = transport::send_once(
                    &self.inner.http,
                    &self.inner.root,
                    call,
                    token.as_ref().map(|t| &t.token),
                    config.request_timeout,
                    config.max_response_bytes,
                )
                .await;
                if let Some(observer) = &self.inner.observer {
                    observer.request(&RequestRecord {
                        method: observer::method_label(&call.method),
                        route: call.route.template(),
                        status: transport::request_status(&sent),
                        duration: started.elapsed(),
                    });
                }
                sent
            };
            let (error, requested_wait) = match sent {
                Ok(raw) if raw.status.is_success() => return Ok(raw),
                Ok(raw) => {
                    let error = transport::map_error(call, &raw, &config.retry);
                    if transport::is_token_rejection(call, &error) && !fresh_login_tried {
                        fresh_login_tried = true;
                        let generation = token.as_ref().map_or(0, |t| t.generation);
                        if self.reject_token(generation).await {
                            tracing::info!(
                                method = %call.method,
                                path = %call.route.display(),
                                "token rejected; logging in again"
                            );
                            continue;
                        }
                    }
                    match error {
                        ApiError::RateLimited { retry_after, .. } => {
                            let wait = retry_after;
                            (error, wait)
                        }
                        ApiError::Server { .. } => {
                            if call.safety == Safety::NonIdempotent {
                                return Err(Failure::Ambiguous(error));
                            }
                            if call.safety == Safety::Delete {
                                budget.mark_ambiguous();
                            }
                            (error, None)
                        }
                        _ => return Err(Failure::Final(error)),
                    }
                }
                Err(SendError::TooLarge { status, too_large }) => {
                    return Err(Failure::Final(transport::too_large_error(
                        call, status, too_large,
                    )));
                }
                Err(SendError::NotSent(source)) => (
                    ApiError::Network {
                        context: call.context(None, "request not sent".into()),
                        source: Box::new(source),
                    },
                    None,
                ),
                Err(SendError::Unknown(source)) => {
                    let error = ApiError::Network {
                        context: call.context(None, "no complete answer".into()),
                        source,
                    };
                    if call.safety == Safety::NonIdempotent {
                        return Err(Failure::Ambiguous(error));
                    }
                    if call.safety == Safety::Delete {
                        budget.mark_ambiguous();
                    }
                    (error, None)
                }
            };
            transport::wait_or_give_up(budget, requested_wait, error, call)
                .await
                .map_err(Failure::Final)?;
        }
    }

    /// [`HttpClient::execute`] with a fresh budget, for idempotent calls.
    pub(super) async fn execute_plain(&self, call: &Call) -> Result<Raw, ApiError> {
        let mut budget = Budget::new(&self.inner.config.retry);
        match self.execute(call, &mut budget).await {
            Ok(raw) => Ok(raw),
            Err(Failure::Final(e) | Failure::Ambiguous(e)) => Err(e),
        }
    }

    /// Runs a create; when its outcome is unknown, `reread` says whether it happened
    /// (`Some(result)`) or not (`None`: the create is repeated, budget permitting).
    pub(super) async fn execute_create<T, F, Fut>(
        &self,
        call: &Call,
        decode: impl Fn(&Raw) -> Result<T, ApiError>,
        reread: F,
    ) -> Result<T, ApiError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Option<T>, ApiError>>,
    {
        let mut budget = Budget::new(&self.inner.config.retry);
        loop {
            match self.execute(call, &mut budget).await {
                Ok(raw) => return decode(&raw),
                Err(Failure::Final(error)) => return Err(error),
                Err(Failure::Ambiguous(error)) => {
                    tracing::warn!(
                        method = %call.method,
                        path = %call.route.display(),
                        error = %error,
                        "outcome of a create is unknown; re-reading before any retry"
                    );
                    match reread().await {
                        Ok(Some(done)) => {
                            tracing::info!(path = %call.route.display(), "the create had happened");
                            return Ok(done);
                        }
                        Ok(None) => {
                            transport::wait_or_give_up(&budget, None, error, call).await?;
                        }
                        Err(reread_error) => {
                            tracing::warn!(error = %reread_error, "re-read failed");
                            let mut context = error.context().clone();
                            context.message = format!(
                                "{}; the re-read to check whether it happened failed: {}",
                                context.message,
                                reread_error.context()
                            );
                            return Err(ApiError::OutcomeUnknown(context));
                        }
                    }
                }
            }
        }
    }

    /// Runs a delete; a 404 after an attempt with unknown outcome counts as done.
    pub(super) async fn execute_delete(&self, call: &Call) -> Result<Option<Raw>, ApiError> {
        let mut budget = Budget::new(&self.inner.config.retry);
        match self.execute(call, &mut budget).await {
            Ok(raw) => Ok(Some(raw)),
            Err(Failure::Final(ApiError::NotFound(_))) if budget.was_ambiguous() => Ok(None),
            Err(Failure::Final(e) | Failure::Ambiguous(e)) => Err(e),
        }
    }

    pub(super) async fn get<T: serde::de::DeserializeOwned>(
        &self,
        call: Call,
    ) -> Result<T, ApiError> {
        let raw = self.execute_plain(&call).await?;
        call.decode(&raw)
    }

    /// A read where 404 means "absent".
    pub(super) async fn get_optional<T: serde::de::DeserializeOwned>(
        &self,
        call: Call,
    ) -> Result<Option<T>, ApiError> {
        match self.execute_plain(&call).await {
            Ok(raw) => call.decode(&raw).map(Some),
            Err(ApiError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
