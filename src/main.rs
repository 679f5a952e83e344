//! The `infisical-gitops` binary: see the library's `cli` module.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
