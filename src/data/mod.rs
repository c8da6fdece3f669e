//! Records (prompt, target, references, meta): reading JSONL, the embedded tasks, and
//! turning records into padded token batches.

mod batch;
mod record;
pub mod task;

pub use batch::{Encoded, TrainBatch, Truncation, bucket_len, encode_all, encode_records};
pub use record::{Record, demonstrations, read_records};
