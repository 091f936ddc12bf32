//! Development-chain blocks: a header, the transactions, and their encoding on disk.

use crate::encoding::{Decode, DecodeError, Encode, Reader, WriteExt};
use crate::hash::Hash256;
use crate::tx::Transaction;

/// Block header. Only what a chain follower needs; there is no proof of work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHeader {
    /// Header version.
    pub version: u32,
    /// Hash of the parent (zero for genesis).
    pub previous_block_hash: Hash256,
    /// Merkle root of the txids.
    pub merkle_tree_hash: Hash256,
    /// Unix time.
    pub timestamp: u32,
    /// Difficulty bits (constant).
    pub bits: u32,
    /// Nonce (always 0: blocks are produced, not mined).
    pub nonce: u64,
    /// Height, part of the header so equal-content blocks at different heights differ.
    pub number: u64,
}

/// A block: header and transactions, the first being the coinbase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Header.
    pub header: BlockHeader,
    /// Transactions.
    pub transactions: Vec<Transaction>,
}

impl Block {
    /// The block hash: double SHA-256 of the encoded header.
    pub fn hash(&self) -> Hash256 {
        Hash256::of(&self.header.encode())
    }
}

/// Bitcoin-style merkle root (the last hash of an odd level is paired with itself).
pub fn merkle_root(txids: &[Hash256]) -> Hash256 {
    if txids.is_empty() {
        return Hash256::ZERO;
    }
    let mut level: Vec<Hash256> = txids.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| {
                let mut buf = [0u8; 64];
                buf[..32].copy_from_slice(&pair[0].0);
                buf[32..].copy_from_slice(&pair.get(1).unwrap_or(&pair[0]).0);
                Hash256::of(&buf)
            })
            .collect();
    }
    level[0]
}

impl Encode for BlockHeader {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.put_u32(self.version);
        out.extend_from_slice(&self.previous_block_hash.0);
        out.extend_from_slice(&self.merkle_tree_hash.0);
        out.put_u32(self.timestamp);
        out.put_u32(self.bits);
        out.put_u64(self.nonce);
        out.put_u64(self.number);
    }
}

impl Decode for BlockHeader {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(BlockHeader {
            version: r.u32("block version")?,
            previous_block_hash: Hash256(r.array("previous block hash")?),
            merkle_tree_hash: Hash256(r.array("merkle root")?),
            timestamp: r.u32("timestamp")?,
            bits: r.u32("bits")?,
            nonce: r.u64("nonce")?,
            number: r.u64("number")?,
        })
    }
}

impl Encode for Block {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.header.encode_to(out);
        out.put_varint(self.transactions.len() as u64);
        for tx in &self.transactions {
            tx.encode_to(out);
        }
    }
}

impl Decode for Block {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let header = BlockHeader::decode_from(r)?;
        let n = r.count("transaction count", 10)?;
        let transactions = (0..n)
            .map(|_| Transaction::decode_from(r))
            .collect::<Result<_, _>>()?;
        Ok(Block {
            header,
            transactions,
        })
    }
}
