//! Diff desired against live state, order the changes, render them. PURE.
