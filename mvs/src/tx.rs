//! Transactions: inputs, outputs, their exact wire encoding and the txid.

use crate::attachment::Attachment;
use crate::encoding::{Decode, DecodeError, Encode, Reader, WriteExt};
use crate::hash::Hash256;
use crate::script::Script;

/// Transaction version of every ordinary MVS transaction.
pub const TX_VERSION: u32 = 4;
/// Sequence number of a final input.
pub const SEQUENCE_FINAL: u32 = 0xFFFF_FFFF;

/// A transaction id (double SHA-256 of the raw bytes; displayed byte-reversed).
pub type Txid = Hash256;

/// A reference to an output of an earlier transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutPoint {
    /// Transaction that created the output.
    pub txid: Txid,
    /// Position of the output in that transaction.
    pub index: u32,
}

impl OutPoint {
    /// The previous output of a coinbase input.
    pub const NULL: OutPoint = OutPoint {
        txid: Hash256::ZERO,
        index: u32::MAX,
    };

    /// An outpoint from its parts.
    pub fn new(txid: Txid, index: u32) -> OutPoint {
        OutPoint { txid, index }
    }

    /// Whether this is the coinbase's null reference.
    pub fn is_null(&self) -> bool {
        *self == OutPoint::NULL
    }
}

impl std::fmt::Display for OutPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.txid, self.index)
    }
}

/// A transaction input: which output it spends and the script that unlocks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The output being spent.
    pub previous_output: OutPoint,
    /// scriptSig: `<signature+hashtype> <public key>` for P2PKH.
    pub script: Script,
    /// Sequence number (0xFFFFFFFF).
    pub sequence: u32,
}

impl Input {
    /// An unsigned input spending `previous_output`.
    pub fn unsigned(previous_output: OutPoint) -> Input {
        Input {
            previous_output,
            script: Script::default(),
            sequence: SEQUENCE_FINAL,
        }
    }
}

/// A transaction output: ETP value, locking script and attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// ETP in satoshi (10^-8 ETP).
    pub value: u64,
    /// Locking script.
    pub script_pubkey: Script,
    /// What else the output carries.
    pub attachment: Attachment,
}

/// An MVS transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// 4 for every ordinary transaction.
    pub version: u32,
    /// Inputs, in signing order.
    pub inputs: Vec<Input>,
    /// Outputs.
    pub outputs: Vec<Output>,
    /// Lock time (0).
    pub lock_time: u32,
}

impl Transaction {
    /// The transaction id.
    pub fn txid(&self) -> Txid {
        Hash256::of(&self.encode())
    }

    /// Whether this is a block's first transaction that creates new coins.
    pub fn is_coinbase(&self) -> bool {
        self.inputs.len() == 1 && self.inputs[0].previous_output.is_null()
    }

    /// Sum of output values, or `None` on overflow.
    pub fn total_output_value(&self) -> Option<u64> {
        self.outputs
            .iter()
            .try_fold(0u64, |acc, o| acc.checked_add(o.value))
    }
}

impl Encode for OutPoint {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.txid.0);
        out.put_u32(self.index);
    }
}

impl Decode for OutPoint {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(OutPoint {
            txid: Hash256(r.array("previous txid")?),
            index: r.u32("previous index")?,
        })
    }
}

impl Encode for Input {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.previous_output.encode_to(out);
        out.put_var_bytes(self.script.as_bytes());
        out.put_u32(self.sequence);
    }
}

impl Decode for Input {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Input {
            previous_output: OutPoint::decode_from(r)?,
            script: Script(r.var_bytes("input script")?.to_vec()),
            sequence: r.u32("sequence")?,
        })
    }
}

impl Encode for Output {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.put_u64(self.value);
        out.put_var_bytes(self.script_pubkey.as_bytes());
        self.attachment.encode_to(out);
    }
}

impl Decode for Output {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Output {
            value: r.u64("output value")?,
            script_pubkey: Script(r.var_bytes("output script")?.to_vec()),
            attachment: Attachment::decode_from(r)?,
        })
    }
}

impl Encode for Transaction {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.put_u32(self.version);
        out.put_varint(self.inputs.len() as u64);
        for input in &self.inputs {
            input.encode_to(out);
        }
        out.put_varint(self.outputs.len() as u64);
        for output in &self.outputs {
            output.encode_to(out);
        }
        out.put_u32(self.lock_time);
    }
}

impl Decode for Transaction {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u32("transaction version")?;
        // Smallest encodings: input 41 bytes, output 17 bytes.
        let n_in = r.count("input count", 41)?;
        let inputs = (0..n_in)
            .map(|_| Input::decode_from(r))
            .collect::<Result<Vec<_>, _>>()?;
        let n_out = r.count("output count", 17)?;
        let outputs = (0..n_out)
            .map(|_| Output::decode_from(r))
            .collect::<Result<Vec<_>, _>>()?;
        let lock_time = r.u32("lock time")?;
        Ok(Transaction {
            version,
            inputs,
            outputs,
            lock_time,
        })
    }
}
