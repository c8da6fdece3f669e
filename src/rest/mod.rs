//! ReST (Gulcehre et al. 2023): Grow samples and scores, Improve filters by
//! rising thresholds and fine-tunes, the loop repeats and resumes.

pub mod compare;
pub mod grow;
pub mod improve;
pub mod rm_arm;
pub mod run;
pub mod schedule;
pub mod setup;
pub mod shard;
pub mod state;

pub use grow::{Grown, grow};
pub use improve::{filter, improve_examples};
pub use run::{RunOptions, run};
pub use schedule::thresholds;
