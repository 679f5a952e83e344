//! The live heap of a benchmark process and its sampled peak, shared by the benchmarks that
//! report memory.

use std::alloc::System;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The system allocator, counting the bytes live in this process.
#[global_allocator]
pub(crate) static ALLOCATOR: cap::Cap<System> = cap::Cap::new(System, usize::MAX);

/// The highest live heap seen by [`start_peak_sampler`] since the last reset (a store).
pub(crate) static PEAK: AtomicUsize = AtomicUsize::new(0);

/// Samples the live heap every millisecond, keeping the highest value in [`PEAK`] (a sampled
/// peak: a spike shorter than a millisecond can be missed).
pub(crate) fn start_peak_sampler() {
    std::thread::spawn(|| {
        loop {
            PEAK.fetch_max(ALLOCATOR.allocated(), Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}
