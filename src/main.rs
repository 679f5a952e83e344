//! The `infisical-gitops` binary: see the library's `cli` module.

fn main() -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the async runtime: {error}");
            return std::process::ExitCode::from(1);
        }
    };
    runtime.block_on(infisical_gitops::cli::main())
}
