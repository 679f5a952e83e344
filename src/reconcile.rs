//! The [`Reconciler`]: the use cases every front-end (CLI, daemon, MCP) calls.
//!
//! ```text
//! validate()  load the repository and check it (every problem at once)
//! plan()      resolve values → observe Infisical → plan (pure)
//! apply()     execute a planned run
//! apply_saved()  re-observe; refuse if Infisical or the repository changed since the plan
//! reconcile() plan() then apply()
//! ```

use std::sync::Arc;

use crate::apply::{Applier, ApplyError, ApplyProgress, ApplyReport};
use crate::infisical::InfisicalApi;
use crate::infisical::observe::{self, ObserveError};
use crate::model::{Address, DesiredState};
use crate::plan::{self, LiveState, Plan, PlanPolicy, ResolvedState};
use crate::resolve::{self, GeneratedValueStore, SecretResolver};

/// Run-wide options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconcileOptions {
    /// `--force-deletions`.
    pub force_deletions: bool,
    /// Concurrent reads (observe, resolve).
    pub read_concurrency: usize,
    /// Projects applied at once.
    pub apply_concurrency: usize,
}

impl Default for ReconcileOptions {
    fn default() -> Self {
        Self {
            force_deletions: false,
            read_concurrency: observe::DEFAULT_CONCURRENCY,
            apply_concurrency: crate::apply::DEFAULT_CONCURRENCY,
        }
    }
}

/// Everything a plan was made from, kept so that apply executes exactly it.
#[derive(Debug, Clone)]
pub struct PlannedRun {
    /// The desired state with values resolved.
    pub resolved: ResolvedState,
    /// What Infisical held.
    pub live: LiveState,
    /// The plan.
    pub plan: Plan,
}

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// Infisical could not be read.
    #[error("failed to observe Infisical")]
    Observe(#[from] ObserveError),
    /// The plan was refused.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// A saved plan no longer matches Infisical.
    #[error("Infisical changed since the plan was made; make a new plan")]
    LiveChanged,
    /// A saved plan no longer matches the repository (or a value's source).
    #[error("the repository or a value source changed since the plan was made; make a new plan")]
    SourceChanged,
}

/// The use cases.
#[derive(Clone)]
pub struct Reconciler {
    api: Arc<dyn InfisicalApi>,
    resolver: Arc<dyn SecretResolver>,
    generated_store: Option<Arc<dyn GeneratedValueStore>>,
    options: ReconcileOptions,
}

impl std::fmt::Debug for Reconciler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconciler")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Reconciler {
    /// A reconciler over an Infisical and a resolver.
    pub fn new(api: Arc<dyn InfisicalApi>, resolver: Arc<dyn SecretResolver>) -> Self {
        Self {
            api,
            resolver,
            generated_store: None,
            options: ReconcileOptions::default(),
        }
    }

    /// Where generated values with `backupTo: bitwarden` are backed up before being written.
    pub fn with_generated_store(mut self, store: Option<Arc<dyn GeneratedValueStore>>) -> Self {
        self.generated_store = store;
        self
    }

    /// With options.
    pub fn with_options(mut self, options: ReconcileOptions) -> Self {
        self.options = options;
        self
    }

    /// Makes the resolver forget cached values, so the next plan reads every source again
    /// (the daemon calls it after each reconcile).
    pub async fn forget_cached_values(&self) {
        self.resolver.forget().await;
    }

    /// The Infisical it talks to.
    pub fn api(&self) -> &Arc<dyn InfisicalApi> {
        &self.api
    }

    /// Loads and checks a repository directory: the desired state with its warnings, or every
    /// problem. Nothing is planned from an invalid repository.
    ///
    /// # Errors
    /// The diagnostics, when the repository has errors.
    pub fn validate(
        &self,
        path: &std::path::Path,
    ) -> Result<(DesiredState, crate::model::Diagnostics), crate::model::Diagnostics> {
        crate::source::load_desired_state(path)
    }

    /// Resolves values, observes Infisical and plans.
    ///
    /// # Errors
    /// When Infisical cannot be read (a partial observation is never planned from).
    pub async fn plan(
        &self,
        desired: DesiredState,
        source_complete: bool,
    ) -> Result<PlannedRun, ReconcileError> {
        let live =
            observe::observe(self.api.as_ref(), &desired, self.options.read_concurrency).await?;
        let mut resolved = resolve::resolve_state(
            desired,
            self.resolver.as_ref(),
            self.options.read_concurrency,
        )
        .await;
        resolved.source_complete = source_complete;
        let plan = plan::plan(
            &resolved,
            &live,
            &PlanPolicy {
                force_deletions: self.options.force_deletions,
                generated_backup: self.generated_store.is_some(),
            },
        );
        Ok(PlannedRun {
            resolved,
            live,
            plan,
        })
    }

    /// Executes a planned run.
    ///
    /// # Errors
    /// When the plan has errors; single failed changes are in the report instead.
    pub async fn apply(
        &self,
        run: &PlannedRun,
        progress: Option<Arc<dyn ApplyProgress>>,
    ) -> Result<ApplyReport, ReconcileError> {
        let mut applier =
            Applier::new(self.api.clone()).with_concurrency(self.options.apply_concurrency);
        if let Some(progress) = progress {
            applier = applier.with_progress(progress);
        }
        if let Some(store) = &self.generated_store {
            applier = applier.with_generated_store(Arc::clone(store));
        }
        Ok(applier.apply(&run.plan, &run.resolved, &run.live).await?)
    }

    /// Applies a saved plan: observes again and refuses when Infisical's fingerprint differs
    /// or when a fresh plan differs from the saved one (the repository or a value changed).
    ///
    /// # Errors
    /// [`ReconcileError::LiveChanged`], [`ReconcileError::SourceChanged`], or as [`Self::apply`].
    pub async fn apply_saved(
        &self,
        saved: &Plan,
        desired: DesiredState,
        source_complete: bool,
        progress: Option<Arc<dyn ApplyProgress>>,
    ) -> Result<(PlannedRun, ApplyReport), ReconcileError> {
        let run = self.plan(desired, source_complete).await?;
        if run.plan.observed != saved.observed {
            return Err(ReconcileError::LiveChanged);
        }
        let unresolved = |plan: &Plan| -> Vec<Address> {
            plan.unresolved.iter().map(|u| u.address.clone()).collect()
        };
        if run.plan.changes != saved.changes
            || run.plan.errors != saved.errors
            || unresolved(&run.plan) != unresolved(saved)
        {
            return Err(ReconcileError::SourceChanged);
        }
        let report = self.apply(&run, progress).await?;
        Ok((run, report))
    }

    /// Plans and applies.
    ///
    /// # Errors
    /// As [`Self::plan`] and [`Self::apply`].
    pub async fn reconcile(
        &self,
        desired: DesiredState,
        source_complete: bool,
    ) -> Result<(PlannedRun, ApplyReport), ReconcileError> {
        let run = self.plan(desired, source_complete).await?;
        let report = self.apply(&run, None).await?;
        Ok((run, report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// The daemon spawns its loop: every use case's future must be `Send`.
    #[test]
    fn use_case_futures_are_send() {
        let api: Arc<dyn InfisicalApi> = Arc::new(crate::infisical::memory::MemoryInfisical::new());
        let resolver: Arc<dyn SecretResolver> = Arc::new(resolve::LiteralResolver);
        let reconciler = Reconciler::new(api, resolver);
        let run = PlannedRun {
            resolved: ResolvedState::default(),
            live: LiveState::default(),
            plan: Plan::default(),
        };
        assert_send(&reconciler.plan(DesiredState::default(), true));
        assert_send(&reconciler.apply(&run, None));
        assert_send(&reconciler.apply_saved(&run.plan, DesiredState::default(), true, None));
        assert_send(&reconciler.reconcile(DesiredState::default(), true));
        assert_send(&reconciler.forget_cached_values());
    }
}
