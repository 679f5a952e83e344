//! The `infisical-gitops` binary: see the library's `cli` module.

fn main() -> std::process::ExitCode {
    infisical_gitops::cli::main()
}
