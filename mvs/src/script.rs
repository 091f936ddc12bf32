//! Scripts: the standard locking scripts, scriptSig pushes, and the textual form
//! mvsd shows in decoded transactions.

/// A raw script (scriptPubKey or scriptSig).
#[derive(Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Script(pub Vec<u8>);

const OP_RETURN: u8 = 0x6a;
const OP_DUP: u8 = 0x76;
const OP_HASH160: u8 = 0xa9;
const OP_EQUAL: u8 = 0x87;
const OP_EQUALVERIFY: u8 = 0x88;
const OP_CHECKSIG: u8 = 0xac;
const OP_PUSHDATA1: u8 = 0x4c;
const OP_PUSHDATA2: u8 = 0x4d;
const OP_PUSHDATA4: u8 = 0x4e;

impl Script {
    /// `OP_DUP OP_HASH160 <hash> OP_EQUALVERIFY OP_CHECKSIG`.
    pub fn p2pkh(hash: &[u8; 20]) -> Script {
        let mut s = Vec::with_capacity(25);
        s.extend_from_slice(&[OP_DUP, OP_HASH160, 20]);
        s.extend_from_slice(hash);
        s.extend_from_slice(&[OP_EQUALVERIFY, OP_CHECKSIG]);
        Script(s)
    }

    /// `OP_HASH160 <hash> OP_EQUAL`.
    pub fn p2sh(hash: &[u8; 20]) -> Script {
        let mut s = Vec::with_capacity(23);
        s.extend_from_slice(&[OP_HASH160, 20]);
        s.extend_from_slice(hash);
        s.push(OP_EQUAL);
        Script(s)
    }

    /// A bare `OP_RETURN`: outputs locked by it are unspendable, which is how MST is burned.
    pub fn op_return() -> Script {
        Script(vec![OP_RETURN])
    }

    /// A script of data pushes, e.g. scriptSig `<sig> <pubkey>`.
    pub fn from_pushes(items: &[&[u8]]) -> Script {
        let mut s = Vec::new();
        for item in items {
            push_data(&mut s, item);
        }
        Script(s)
    }

    /// Raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Lower-case hex of the raw bytes.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }

    /// Whether the script starts with `OP_RETURN` (provably unspendable).
    pub fn is_op_return(&self) -> bool {
        self.0.first() == Some(&OP_RETURN)
    }

    /// The public key hash of a standard P2PKH script.
    pub fn p2pkh_hash(&self) -> Option<[u8; 20]> {
        let s = &self.0;
        (s.len() == 25
            && s[..3] == [OP_DUP, OP_HASH160, 20]
            && s[23..] == [OP_EQUALVERIFY, OP_CHECKSIG])
        .then(|| s[3..23].try_into().expect("length checked"))
    }

    /// The script hash of a standard P2SH script.
    pub fn p2sh_hash(&self) -> Option<[u8; 20]> {
        let s = &self.0;
        (s.len() == 23 && s[..2] == [OP_HASH160, 20] && s[22] == OP_EQUAL)
            .then(|| s[2..22].try_into().expect("length checked"))
    }

    /// The data items of a push-only script; `None` if it contains any other opcode
    /// or a truncated push.
    pub fn pushes(&self) -> Option<Vec<&[u8]>> {
        let s = &self.0;
        let mut items = Vec::new();
        let mut i = 0;
        while i < s.len() {
            let op = s[i];
            i += 1;
            let len = match op {
                0x00 => 0,
                0x01..=0x4b => op as usize,
                OP_PUSHDATA1 => {
                    let n = *s.get(i)? as usize;
                    i += 1;
                    n
                }
                OP_PUSHDATA2 => {
                    let n = u16::from_le_bytes(s.get(i..i + 2)?.try_into().ok()?) as usize;
                    i += 2;
                    n
                }
                OP_PUSHDATA4 => {
                    let n = u32::from_le_bytes(s.get(i..i + 4)?.try_into().ok()?) as usize;
                    i += 4;
                    n
                }
                _ => return None,
            };
            items.push(s.get(i..i + len)?);
            i += len;
        }
        Some(items)
    }

    /// The textual form mvsd prints, e.g. `OP_DUP OP_HASH160 [ 48b6... ] OP_EQUALVERIFY OP_CHECKSIG`
    /// or `[ 3044... ] [ 0320... ]` for a scriptSig.
    pub fn to_asm(&self) -> String {
        if let Some(items) = self.pushes() {
            return items
                .iter()
                .map(|d| format!("[ {} ]", hex::encode(d)))
                .collect::<Vec<_>>()
                .join(" ");
        }
        let s = &self.0;
        let mut parts = Vec::new();
        let mut i = 0;
        while i < s.len() {
            let op = s[i];
            i += 1;
            match op {
                0x01..=0x4b => {
                    let end = (i + op as usize).min(s.len());
                    parts.push(format!("[ {} ]", hex::encode(&s[i..end])));
                    i = end;
                }
                OP_RETURN => parts.push("return".into()),
                OP_DUP => parts.push("dup".into()),
                OP_HASH160 => parts.push("hash160".into()),
                OP_EQUAL => parts.push("equal".into()),
                OP_EQUALVERIFY => parts.push("equalverify".into()),
                OP_CHECKSIG => parts.push("checksig".into()),
                other => parts.push(format!("0x{other:02x}")),
            }
        }
        // mvsd spells opcodes in upper case with the OP_ prefix.
        parts
            .into_iter()
            .map(|p| {
                if p.starts_with('[') || p.starts_with("0x") {
                    p
                } else {
                    format!("OP_{}", p.to_uppercase())
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Appends a minimal data push of `data`.
fn push_data(s: &mut Vec<u8>, data: &[u8]) {
    match data.len() {
        n @ 0..=0x4b => s.push(n as u8),
        n @ 0x4c..=0xff => {
            s.push(OP_PUSHDATA1);
            s.push(n as u8);
        }
        n @ 0x100..=0xffff => {
            s.push(OP_PUSHDATA2);
            s.extend_from_slice(&(n as u16).to_le_bytes());
        }
        n => {
            s.push(OP_PUSHDATA4);
            s.extend_from_slice(&(n as u32).to_le_bytes());
        }
    }
    s.extend_from_slice(data);
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Script({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p2pkh_asm_matches_mvsd() {
        let hash: [u8; 20] = hex::decode("48b6adc8508180d58d2efe4a6068e7934fdf8b30")
            .unwrap()
            .try_into()
            .unwrap();
        let s = Script::p2pkh(&hash);
        assert_eq!(s.p2pkh_hash(), Some(hash));
        assert_eq!(
            s.to_asm(),
            "OP_DUP OP_HASH160 [ 48b6adc8508180d58d2efe4a6068e7934fdf8b30 ] OP_EQUALVERIFY OP_CHECKSIG"
        );
        assert!(Script::op_return().is_op_return());
        assert_eq!(Script::op_return().to_asm(), "OP_RETURN");
    }

    #[test]
    fn pushes_round_trip() {
        let a = [1u8; 72];
        let b = [2u8; 33];
        let s = Script::from_pushes(&[&a, &b]);
        assert_eq!(s.pushes().unwrap(), vec![&a[..], &b[..]]);
        assert!(Script(vec![0x05, 1, 2]).pushes().is_none());
    }
}
