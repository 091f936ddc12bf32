//! Persistence: an append-only log of blocks and invalidations, replayed on start.
//!
//! Record: `kind u8 | length u32 | checksum [4] (double SHA-256 of the payload) | payload`.
//! Each record is written with one `write_all` and synced before the call returns. A crash
//! can leave only the last record incomplete; on open such a tail is detected (short or
//! checksum mismatch) and cut off, so the chain restarts at the last complete record.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::block::Block;
use crate::encoding::{Decode, Encode};
use crate::hash::{sha256d, Hash256};

const KIND_BLOCK: u8 = 1;
const KIND_INVALIDATE: u8 = 2;
const HEADER_LEN: usize = 9;

/// Name of the chain file inside the data directory.
pub const CHAIN_FILE: &str = "devnet-chain.dat";

/// One logged event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A block appended to the chain.
    Block(Block),
    /// `invalidateblock` of this hash.
    Invalidate(Hash256),
}

/// The open chain file.
#[derive(Debug)]
pub struct ChainStore {
    file: File,
    path: PathBuf,
}

impl ChainStore {
    /// Opens (or creates) the chain file in `dir`, returning the records it holds.
    /// A damaged tail is truncated away.
    pub fn open(dir: &Path) -> std::io::Result<(ChainStore, Vec<Record>)> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(CHAIN_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let mut records = Vec::new();
        let mut pos = 0usize;
        while let Some((record, next)) = read_record(&bytes, pos) {
            records.push(record);
            pos = next;
        }
        if pos < bytes.len() {
            tracing::warn!(path = %path.display(), dropped = bytes.len() - pos, "devnet: ignoring incomplete last record of the chain file");
            file.set_len(pos as u64)?;
            file.sync_all()?;
        }
        file.seek(SeekFrom::Start(pos as u64))?;
        Ok((ChainStore { file, path }, records))
    }

    /// Path of the chain file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a record durably.
    pub fn append(&mut self, record: &Record) -> std::io::Result<()> {
        let (kind, payload) = match record {
            Record::Block(b) => (KIND_BLOCK, b.encode()),
            Record::Invalidate(h) => (KIND_INVALIDATE, h.0.to_vec()),
        };
        let mut buf = Vec::with_capacity(HEADER_LEN + payload.len());
        buf.push(kind);
        buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        buf.extend_from_slice(&sha256d(&payload)[..4]);
        buf.extend_from_slice(&payload);
        self.file.write_all(&buf)?;
        self.file.sync_data()
    }
}

/// The record at `pos` and the offset after it, or `None` if it is incomplete or damaged.
fn read_record(bytes: &[u8], pos: usize) -> Option<(Record, usize)> {
    let header = bytes.get(pos..pos + HEADER_LEN)?;
    let kind = header[0];
    let len = u32::from_le_bytes(header[1..5].try_into().ok()?) as usize;
    let payload = bytes.get(pos + HEADER_LEN..pos + HEADER_LEN + len)?;
    if sha256d(payload)[..4] != header[5..9] {
        return None;
    }
    let record = match kind {
        KIND_BLOCK => Record::Block(Block::decode(payload).ok()?),
        KIND_INVALIDATE => Record::Invalidate(Hash256(payload.try_into().ok()?)),
        _ => return None,
    };
    Some((record, pos + HEADER_LEN + len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devnet::chain::genesis_block;

    #[test]
    fn truncated_tail_is_ignored_and_cut() {
        let dir = tempfile::tempdir().unwrap();
        let genesis = genesis_block(None, 0, 1);
        {
            let (mut store, records) = ChainStore::open(dir.path()).unwrap();
            assert!(records.is_empty());
            store.append(&Record::Block(genesis.clone())).unwrap();
            store.append(&Record::Invalidate(Hash256([3; 32]))).unwrap();
        }
        // Simulate a crash in the middle of writing a third record.
        let path = dir.path().join(CHAIN_FILE);
        let full = std::fs::metadata(&path).unwrap().len();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[KIND_BLOCK, 200, 0, 0, 0, 1, 2]).unwrap();
        drop(f);

        let (mut store, records) = ChainStore::open(dir.path()).unwrap();
        assert_eq!(
            records,
            vec![
                Record::Block(genesis.clone()),
                Record::Invalidate(Hash256([3; 32]))
            ]
        );
        assert_eq!(std::fs::metadata(&path).unwrap().len(), full);
        store.append(&Record::Invalidate(Hash256([4; 32]))).unwrap();
        let (_, records) = ChainStore::open(dir.path()).unwrap();
        assert_eq!(records.len(), 3);
    }
}
