//! The knobs of the WAL and of group commit, each with its unit last, and `validate()` that
//! refuses combinations that could not work.
//!
//! ```text
//!   WalOptions          segment_bytes_max > segment header + record header (a roll threshold)
//!                       record_bytes_max  ≤ the format's limit (1 GiB)
//!   GroupCommitOptions  queue_records_max ≥ 1, queue_bytes_max ≥ record_bytes_max
//! ```
//!
//! Invariant: a record the options accept always fits in one fresh segment and in an empty
//! group-commit queue, so no accepted record can be stuck forever. A fresh segment takes one
//! record of any accepted size: `segment_bytes_max` is where the WAL rolls, not a bound a
//! record must fit under, so a record larger than it gets a segment of its own (`Wal::append`
//! rolls before it and after it). The road not taken: requiring segments to hold the largest
//! record, which ties the roll size (how finely compaction frees disk) to the largest value
//! a client may write (Redis' 512 MB).

use crate::error::WalError;
use crate::format::{RECORD_BYTES_LIMIT, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES};

/// How a [`crate::Wal`] lays out its files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalOptions {
    /// Roll to a new segment before a record would push the current one past this size.
    /// Smaller segments let compaction free space sooner; larger ones mean fewer files and
    /// fewer directory fsyncs. A segment holding one record may exceed it by that record.
    pub segment_bytes_max: u64,
    /// The largest payload `append` accepts. Bounds the memory recovery and a reader need
    /// per record, and turns a runaway caller into an error instead of a giant file.
    pub record_bytes_max: usize,
}

impl Default for WalOptions {
    /// 64 MiB segments, 8 MiB records: eight of Raft's default 1 MiB appends fit a record
    /// with room to spare, and a segment holds a few seconds of heavy traffic.
    fn default() -> Self {
        WalOptions {
            segment_bytes_max: 64 << 20,
            record_bytes_max: 8 << 20,
        }
    }
}

impl WalOptions {
    /// Refuse options under which some accepted record could never be written.
    pub fn validate(&self) -> Result<(), WalError> {
        if self.record_bytes_max > RECORD_BYTES_LIMIT {
            return Err(WalError::InvalidOptions(format!(
                "record_bytes_max {} exceeds the format limit {RECORD_BYTES_LIMIT}",
                self.record_bytes_max
            )));
        }
        let smallest = (SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES + 1) as u64;
        if self.segment_bytes_max < smallest {
            return Err(WalError::InvalidOptions(format!(
                "segment_bytes_max {} is below {smallest}: a segment must hold its header \
                 and a record",
                self.segment_bytes_max
            )));
        }
        Ok(())
    }
}

/// How a [`crate::GroupCommit`] bounds the work waiting for the flusher.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupCommitOptions {
    /// Records (and other jobs) that may wait for the flusher before `submit` blocks. This is
    /// the backpressure: producers faster than the disk slow down instead of growing memory.
    pub queue_records_max: usize,
    /// Payload bytes that may wait for the flusher before `submit` blocks, for the same reason
    /// measured in memory rather than in count.
    pub queue_bytes_max: usize,
}

impl Default for GroupCommitOptions {
    /// 4096 records / 64 MiB: far more than one fdatasync's worth at any realistic rate, so the
    /// bound only bites when the disk is really slower than the producers.
    fn default() -> Self {
        GroupCommitOptions {
            queue_records_max: 4096,
            queue_bytes_max: 64 << 20,
        }
    }
}

impl GroupCommitOptions {
    /// Refuse a queue that could not hold one record of `record_bytes_max`.
    pub fn validate(&self, record_bytes_max: usize) -> Result<(), WalError> {
        if self.queue_records_max == 0 {
            return Err(WalError::InvalidOptions(
                "queue_records_max is 0: nothing could ever be submitted".into(),
            ));
        }
        if self.queue_bytes_max < record_bytes_max {
            return Err(WalError::InvalidOptions(format!(
                "queue_bytes_max {} is below record_bytes_max {record_bytes_max}: \
                 a record the WAL accepts could never enter the queue",
                self.queue_bytes_max
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        let wal = WalOptions::default();
        wal.validate().expect("wal defaults");
        GroupCommitOptions::default()
            .validate(wal.record_bytes_max)
            .expect("group commit defaults");
    }

    #[test]
    fn a_segment_too_small_for_any_record_is_refused_with_the_reason() {
        let opts = WalOptions {
            segment_bytes_max: 20,
            record_bytes_max: 100,
        };
        let err = opts.validate().unwrap_err().to_string();
        assert!(err.contains("segment_bytes_max 20 is below 33"), "{err}");
        let roll_below_the_largest_record = WalOptions {
            segment_bytes_max: 100,
            record_bytes_max: 1000,
        };
        assert!(roll_below_the_largest_record.validate().is_ok());
    }

    #[test]
    fn a_record_limit_beyond_the_format_is_refused() {
        let opts = WalOptions {
            segment_bytes_max: u64::MAX,
            record_bytes_max: RECORD_BYTES_LIMIT + 1,
        };
        assert!(opts.validate().is_err());
    }

    #[test]
    fn a_queue_that_cannot_hold_one_record_is_refused() {
        let opts = GroupCommitOptions {
            queue_records_max: 8,
            queue_bytes_max: 10,
        };
        assert!(opts.validate(11).is_err());
        let empty = GroupCommitOptions {
            queue_records_max: 0,
            queue_bytes_max: 10,
        };
        assert!(empty.validate(1).is_err());
    }
}
