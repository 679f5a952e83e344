//! The [`Reconciler`]: the use cases every front-end (CLI, daemon, MCP) calls.
//!
//! ```text
//! plan()      resolve values → observe Infisical → plan (pure)
//! apply()     execute a planned run
//! apply_saved()  re-observe; refuse if Infisical or the repository changed since the plan
//! reconcile() plan(), forget cached values, then apply() when the plan can be applied
//! ```
//!
//! Loading and checking a repository is the source's (`crate::source::load_desired_state`);
//! the daemon reconciles through [`Reconciler::reconcile`], like the tests.

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
    /// The plan has errors (unowned objects, unsafe deletions, …): nothing was applied. The
    /// run is kept so that its errors and counts can be reported.
    #[error("the plan has {} error(s) and cannot be applied", .0.plan.errors.len())]
    PlanRefused(Box<PlannedRun>),
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
    /// ([`Self::reconcile`] calls it once its plan is made).
    pub async fn forget_cached_values(&self) {
        self.resolver.forget().await;
    }

    /// The Infisical it talks to.
    pub fn api(&self) -> &Arc<dyn InfisicalApi> {
        &self.api
    }

    /// Resolves values, observes Infisical and plans.
    ///
    /// # Errors
    /// When Infisical cannot be read (a partial observation is never planned from).
    pub async fn plan(&self, desired: DesiredState) -> Result<PlannedRun, ReconcileError> {
        let live =
            observe::observe(self.api.as_ref(), &desired, self.options.read_concurrency).await?;
        let resolved = resolve::resolve_state(
            desired,
            self.resolver.as_ref(),
            self.options.read_concurrency,
        )
        .await;
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
        progress: Option<Arc<dyn ApplyProgress>>,
    ) -> Result<(PlannedRun, ApplyReport), ReconcileError> {
        let run = self.plan(desired).await?;
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

    /// Plans and, when the plan can be applied, applies it: the daemon's reconcile. Cached
    /// values are forgotten once the plan is made, so the next plan reads every source again
    /// (a rotation at the source is picked up).
    ///
    /// # Errors
    /// As [`Self::plan`]; [`ReconcileError::PlanRefused`] (with the run) when the plan has
    /// errors. Single failed changes are in the report instead.
    pub async fn reconcile(
        &self,
        desired: DesiredState,
    ) -> Result<(PlannedRun, ApplyReport), ReconcileError> {
        let planned = self.plan(desired).await;
        self.forget_cached_values().await;
        let run = planned?;
        if !run.plan.is_applicable() {
            return Err(ReconcileError::PlanRefused(Box::new(run)));
        }
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
        assert_send(&reconciler.plan(DesiredState::default()));
        assert_send(&reconciler.apply(&run, None));
        assert_send(&reconciler.apply_saved(&run.plan, DesiredState::default(), None));
        assert_send(&reconciler.reconcile(DesiredState::default()));
        assert_send(&reconciler.forget_cached_values());
    }
}
