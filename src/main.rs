//! The `infisical-gitops` binary: see the library's `cli` module.

/// mimalloc returns memory freed after a reconcile to the operating system, where glibc's
/// allocator keeps each arena's peak (the idle daemon's memory grew with every drift check).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    infisical_gitops::cli::main()
}
