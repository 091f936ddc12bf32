//! The wire primitives: little-endian integers, Bitcoin CompactSize varints and
//! length-prefixed strings, plus the `Encode`/`Decode` traits built on them.

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended before a field was complete.
    #[error("unexpected end of data while reading {0}")]
    UnexpectedEnd(&'static str),
    /// A varint was not in its shortest form (consensus requires canonical encodings).
    #[error("non-canonical varint")]
    NonCanonicalVarint,
    /// A length prefix larger than the remaining data.
    #[error("length {0} of {1} exceeds the remaining data")]
    LengthTooLarge(u64, &'static str),
    /// A string field that is not valid UTF-8.
    #[error("{0} is not valid UTF-8")]
    InvalidUtf8(&'static str),
    /// A value that the format does not allow.
    #[error("invalid {field}: {value}")]
    InvalidValue {
        /// Name of the field.
        field: &'static str,
        /// The value that was read.
        value: u64,
    },
    /// Bytes left over after a complete object.
    #[error("{0} trailing bytes after the object")]
    TrailingBytes(usize),
    /// Text that is not hexadecimal.
    #[error("invalid hex: {0}")]
    InvalidHex(String),
}

/// Appends wire-format fields to a byte vector.
pub trait WriteExt {
    /// Little-endian u8.
    fn put_u8(&mut self, v: u8);
    /// Little-endian u32.
    fn put_u32(&mut self, v: u32);
    /// Little-endian u64.
    fn put_u64(&mut self, v: u64);
    /// Bitcoin CompactSize.
    fn put_varint(&mut self, v: u64);
    /// Varint length followed by raw bytes.
    fn put_var_bytes(&mut self, b: &[u8]);
    /// Varint length followed by UTF-8 bytes.
    fn put_str(&mut self, s: &str);
}

impl WriteExt for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_varint(&mut self, v: u64) {
        match v {
            0..=0xFC => self.push(v as u8),
            0xFD..=0xFFFF => {
                self.push(0xFD);
                self.extend_from_slice(&(v as u16).to_le_bytes());
            }
            0x1_0000..=0xFFFF_FFFF => {
                self.push(0xFE);
                self.extend_from_slice(&(v as u32).to_le_bytes());
            }
            _ => {
                self.push(0xFF);
                self.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    fn put_var_bytes(&mut self, b: &[u8]) {
        self.put_varint(b.len() as u64);
        self.extend_from_slice(b);
    }
    fn put_str(&mut self, s: &str) {
        self.put_var_bytes(s.as_bytes());
    }
}

/// Number of bytes `put_varint(v)` writes.
pub fn varint_len(v: u64) -> usize {
    match v {
        0..=0xFC => 1,
        0xFD..=0xFFFF => 3,
        0x1_0000..=0xFFFF_FFFF => 5,
        _ => 9,
    }
}

/// Reads wire-format fields from a byte slice, front to back.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Current offset from the start.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }

    /// The next `n` raw bytes.
    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::UnexpectedEnd(what));
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// A fixed-size array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        Ok(self.bytes(N, what)?.try_into().expect("length checked"))
    }

    /// A u8.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.bytes(1, what)?[0])
    }

    /// A little-endian u32.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// A little-endian u64.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A CompactSize varint; non-minimal encodings are rejected so that
    /// decode followed by encode always reproduces the same bytes.
    pub fn varint(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let first = self.u8(what)?;
        let (value, min) = match first {
            0xFD => (u16::from_le_bytes(self.array(what)?) as u64, 0xFD),
            0xFE => (u32::from_le_bytes(self.array(what)?) as u64, 0x1_0000),
            0xFF => (u64::from_le_bytes(self.array(what)?), 0x1_0000_0000),
            b => return Ok(b as u64),
        };
        if value < min {
            return Err(DecodeError::NonCanonicalVarint);
        }
        Ok(value)
    }

    /// A varint-prefixed byte string.
    pub fn var_bytes(&mut self, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.varint(what)?;
        if len > self.remaining() as u64 {
            return Err(DecodeError::LengthTooLarge(len, what));
        }
        self.bytes(len as usize, what)
    }

    /// A varint-prefixed UTF-8 string.
    pub fn string(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let b = self.var_bytes(what)?;
        String::from_utf8(b.to_vec()).map_err(|_| DecodeError::InvalidUtf8(what))
    }

    /// A count of following items; bounded by the remaining bytes (each item takes at
    /// least `min_item_size` bytes) so hostile input cannot make us allocate gigabytes.
    pub fn count(
        &mut self,
        what: &'static str,
        min_item_size: usize,
    ) -> Result<usize, DecodeError> {
        let n = self.varint(what)?;
        if n.saturating_mul(min_item_size as u64) > self.remaining() as u64 {
            return Err(DecodeError::LengthTooLarge(n, what));
        }
        Ok(n as usize)
    }
}

/// A type with an exact MVS wire encoding.
pub trait Encode {
    /// Appends the encoding to `out`.
    fn encode_to(&self, out: &mut Vec<u8>);

    /// The encoding as a new vector.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_to(&mut out);
        out
    }

    /// The encoding as lower-case hex.
    fn encode_hex(&self) -> String {
        hex::encode(self.encode())
    }
}

/// A type that can be read back from its MVS wire encoding.
pub trait Decode: Sized {
    /// Reads one object from `r`.
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes exactly one object occupying all of `bytes`.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let v = Self::decode_from(&mut r)?;
        r.finish()?;
        Ok(v)
    }

    /// Decodes exactly one object from hex.
    fn decode_hex(s: &str) -> Result<Self, DecodeError> {
        let bytes = hex::decode(s.trim()).map_err(|e| DecodeError::InvalidHex(e.to_string()))?;
        Self::decode(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trips_at_every_boundary() {
        for v in [
            0u64,
            0xFC,
            0xFD,
            0xFFFF,
            0x1_0000,
            0xFFFF_FFFF,
            0x1_0000_0000,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            out.put_varint(v);
            assert_eq!(out.len(), varint_len(v));
            let mut r = Reader::new(&out);
            assert_eq!(r.varint("v").unwrap(), v);
            r.finish().unwrap();
        }
    }

    #[test]
    fn non_canonical_varint_is_rejected() {
        let mut r = Reader::new(&[0xFD, 0x10, 0x00]);
        assert_eq!(r.varint("v"), Err(DecodeError::NonCanonicalVarint));
    }

    #[test]
    fn truncated_string_is_rejected() {
        let mut r = Reader::new(&[0x05, b'a', b'b']);
        assert!(matches!(
            r.string("s"),
            Err(DecodeError::LengthTooLarge(5, "s"))
        ));
    }
}
