//! The `infisical-gitops` binary: see the library's `cli` module.

/// mimalloc returns memory freed after a reconcile to the operating system, where glibc's
/// allocator keeps each arena's peak (the idle daemon's memory grew with every drift check).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    allocator::tune();
    infisical_gitops::cli::main()
}

/// Settings for a process that is mostly idle between bursts of work (a daemon between
/// reconciles): pages freed by a reconcile go back to the system at once, and no transparent
/// huge pages. With mimalloc's defaults (a 1 s purge delay, purged only when the process next
/// allocates, and 2 MiB pages) an idle daemon kept the whole peak of its last drift check
/// resident. Measured in `benches/daemon.rs`; figures in docs/benchmarks.md.
mod allocator {
    // mimalloc 3's `mi_option_e` (include/mimalloc.h); `libmimalloc-sys` names only some.
    pub(crate) const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    pub(crate) const ALLOW_THP: libmimalloc_sys::mi_option_t = 43;

    /// The options set, and the environment variables that override them (mimalloc reads
    /// `MIMALLOC_<OPTION>` when it starts).
    const SETTINGS: [(libmimalloc_sys::mi_option_t, &str, std::ffi::c_long); 2] = [
        (PURGE_DELAY, "MIMALLOC_PURGE_DELAY", 0),
        (ALLOW_THP, "MIMALLOC_ALLOW_THP", 0),
    ];

    pub(crate) fn tune() {
        for (option, variable, value) in SETTINGS {
            if std::env::var_os(variable).is_none() {
                set(option, value);
            }
        }
    }

    #[expect(unsafe_code)]
    fn set(option: libmimalloc_sys::mi_option_t, value: std::ffi::c_long) {
        // SAFETY: `mi_option_set` stores an integer in mimalloc's option table; `option` is a
        // valid index (checked by the tests below against mimalloc's defaults). It is called
        // at the start of `main`, before any other thread exists (the table is not
        // synchronised).
        unsafe { libmimalloc_sys::mi_option_set(option, value) }
    }

    #[cfg(test)]
    #[expect(unsafe_code)]
    pub(crate) fn get(option: libmimalloc_sys::mi_option_t) -> std::ffi::c_long {
        // SAFETY: reads an integer from mimalloc's option table; `option` is a valid index.
        unsafe { libmimalloc_sys::mi_option_get(option) }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// The indices name the options meant: mimalloc 3's defaults are a 1,000 ms purge
        /// delay and transparent huge pages allowed. (Test processes do not call `tune`.)
        #[test]
        fn option_indices_match_mimalloc() {
            if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
                assert_eq!(get(PURGE_DELAY), 1000, "purge_delay's index moved");
            }
            if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
                assert_eq!(get(ALLOW_THP), 1, "allow_thp's index moved");
            }
            assert_eq!(
                libmimalloc_sys::_mi_option_last,
                47,
                "mimalloc's options changed"
            );
        }
    }
}
