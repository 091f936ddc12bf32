//! The attachment every MVS output carries: what the output transfers besides ETP.

use crate::encoding::{Decode, DecodeError, Encode, Reader, WriteExt};

/// Attachment version of an ordinary output.
pub const ATTACHMENT_VERSION_PLAIN: u32 = 1;
/// Attachment version of an output that names avatars (`to_did`, `from_did`).
pub const ATTACHMENT_VERSION_DID: u32 = 207;

/// Wire type numbers.
mod type_id {
    pub const ETP: u32 = 0;
    pub const ASSET: u32 = 2;
    pub const MESSAGE: u32 = 3;
    pub const AVATAR: u32 = 4;
    pub const CERTIFICATE: u32 = 5;
}

/// An output's attachment: a version, the avatar routing of version 207, and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// 1, or 207 when `to_did`/`from_did` are present on the wire.
    pub version: u32,
    /// Avatar the output is sent to (only encoded with version 207).
    pub to_did: String,
    /// Avatar the output is sent from (only encoded with version 207).
    pub from_did: String,
    /// What the output carries.
    pub body: AttachmentBody,
}

/// What an output carries besides its ETP value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentBody {
    /// Plain ETP (type 0).
    Etp,
    /// MST creation (type 2, status 1).
    AssetIssue(AssetDetail),
    /// MST movement (type 2, status 2).
    AssetTransfer(AssetTransfer),
    /// A text message (type 3).
    Message(String),
    /// Avatar registration or transfer (type 4).
    Avatar(AvatarBody),
    /// A certificate: right to issue, domain or naming (type 5).
    Certificate(Certificate),
}

/// The asset detail of an MST issue output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetDetail {
    /// Upper-case symbol.
    pub symbol: String,
    /// Total supply in base units; all of it is created by the issue output.
    pub max_supply: u64,
    /// Decimal places (0..=19).
    pub decimal_number: u8,
    /// Raw secondary-issue threshold byte: 0 none, 1..=100 percent, 127 free.
    pub secondaryissue_threshold: u8,
    /// Two bytes the node writes as zero; kept so decoding and re-encoding is lossless.
    pub reserved: [u8; 2],
    /// Avatar (or address) that issued the asset.
    pub issuer: String,
    /// Address that received the supply.
    pub address: String,
    /// Free text, < 64 bytes.
    pub description: String,
}

/// Threshold byte meaning "anyone holding the cert may issue more freely" (metaversejs shows -1).
pub const SECONDARY_ISSUE_FREE: u8 = 127;

/// Added to the threshold byte of an issue output that is a secondary issue (more supply
/// of an existing symbol): the node's `asset_detail::set_secondaryissue` and metaversejs'
/// `setAssetIssue(.., is_secondaryissue)` both add 128, and both decoders subtract it.
pub const SECONDARY_ISSUE_FLAG: u8 = 128;

impl AssetDetail {
    /// Whether this issue output adds supply to an existing symbol.
    pub fn is_secondary_issue(&self) -> bool {
        self.secondaryissue_threshold >= SECONDARY_ISSUE_FLAG
    }

    /// The policy threshold without the secondary-issue flag: 0 none, 1..=100 percent,
    /// 127 free.
    pub fn threshold(&self) -> u8 {
        self.secondaryissue_threshold & !SECONDARY_ISSUE_FLAG
    }
}

/// An MST transfer body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetTransfer {
    /// Symbol of the asset moved.
    pub symbol: String,
    /// Base units moved to this output.
    pub quantity: u64,
}

/// Avatar attachment status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AvatarStatus {
    /// A new avatar (status 1).
    Register,
    /// Moving an existing avatar to another address (status 2).
    Transfer,
}

/// An avatar (DID) body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvatarBody {
    /// Register or transfer.
    pub status: AvatarStatus,
    /// Avatar name.
    pub symbol: String,
    /// Address the avatar is bound to.
    pub address: String,
}

/// Certificate kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CertType {
    /// Right to issue more of an asset (1).
    Issue,
    /// Ownership of a symbol domain, the text before the first '.' (2).
    Domain,
    /// Right to issue a symbol under someone's domain (3).
    Naming,
    /// Any other number, kept as read.
    Other(u32),
}

impl CertType {
    /// Wire number.
    pub fn to_u32(self) -> u32 {
        match self {
            CertType::Issue => 1,
            CertType::Domain => 2,
            CertType::Naming => 3,
            CertType::Other(n) => n,
        }
    }
    /// From the wire number.
    pub fn from_u32(n: u32) -> CertType {
        match n {
            1 => CertType::Issue,
            2 => CertType::Domain,
            3 => CertType::Naming,
            n => CertType::Other(n),
        }
    }
}

/// Certificate status byte values.
pub mod cert_status {
    /// Held without change.
    pub const NORMAL: u8 = 0;
    /// Created by an issue.
    pub const ISSUE: u8 = 1;
    /// Moved to a new owner.
    pub const TRANSFER: u8 = 2;
    /// Created automatically with an issue (what new certificates use).
    pub const AUTO_ISSUE: u8 = 3;
}

/// A certificate body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// Asset symbol (issue cert) or domain (domain cert).
    pub symbol: String,
    /// Avatar that owns the certificate.
    pub owner: String,
    /// Address of the owner.
    pub address: String,
    /// Issue, domain or naming.
    pub cert_type: CertType,
    /// See [`cert_status`].
    pub status: u8,
}

impl Attachment {
    /// A version-1 attachment.
    pub fn plain(body: AttachmentBody) -> Attachment {
        Attachment {
            version: ATTACHMENT_VERSION_PLAIN,
            to_did: String::new(),
            from_did: String::new(),
            body,
        }
    }

    /// A version-207 attachment addressed to avatar `to_did` (and optionally from `from_did`).
    pub fn with_dids(
        body: AttachmentBody,
        to_did: impl Into<String>,
        from_did: impl Into<String>,
    ) -> Attachment {
        Attachment {
            version: ATTACHMENT_VERSION_DID,
            to_did: to_did.into(),
            from_did: from_did.into(),
            body,
        }
    }

    /// A plain ETP attachment.
    pub fn etp() -> Attachment {
        Attachment::plain(AttachmentBody::Etp)
    }

    /// Whether the version carries `to_did`/`from_did`.
    pub fn has_dids(&self) -> bool {
        self.version == ATTACHMENT_VERSION_DID
    }

    /// The wire type number of the body.
    pub fn type_id(&self) -> u32 {
        match self.body {
            AttachmentBody::Etp => type_id::ETP,
            AttachmentBody::AssetIssue(_) | AttachmentBody::AssetTransfer(_) => type_id::ASSET,
            AttachmentBody::Message(_) => type_id::MESSAGE,
            AttachmentBody::Avatar(_) => type_id::AVATAR,
            AttachmentBody::Certificate(_) => type_id::CERTIFICATE,
        }
    }

    /// The MST symbol this output issues or moves, if any.
    pub fn asset_symbol(&self) -> Option<&str> {
        match &self.body {
            AttachmentBody::AssetIssue(d) => Some(&d.symbol),
            AttachmentBody::AssetTransfer(t) => Some(&t.symbol),
            _ => None,
        }
    }

    /// Base units of MST this output holds (issue: the whole supply).
    pub fn asset_quantity(&self) -> u64 {
        match &self.body {
            AttachmentBody::AssetIssue(d) => d.max_supply,
            AttachmentBody::AssetTransfer(t) => t.quantity,
            _ => 0,
        }
    }
}

impl Encode for Attachment {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.put_u32(self.version);
        out.put_u32(self.type_id());
        if self.has_dids() {
            out.put_str(&self.to_did);
            out.put_str(&self.from_did);
        }
        match &self.body {
            AttachmentBody::Etp => {}
            AttachmentBody::AssetIssue(d) => {
                out.put_u32(1);
                out.put_str(&d.symbol);
                out.put_u64(d.max_supply);
                out.put_u8(d.decimal_number);
                out.put_u8(d.secondaryissue_threshold);
                out.put_u8(d.reserved[0]);
                out.put_u8(d.reserved[1]);
                out.put_str(&d.issuer);
                out.put_str(&d.address);
                out.put_str(&d.description);
            }
            AttachmentBody::AssetTransfer(t) => {
                out.put_u32(2);
                out.put_str(&t.symbol);
                out.put_u64(t.quantity);
            }
            AttachmentBody::Message(m) => out.put_str(m),
            AttachmentBody::Avatar(a) => {
                out.put_u32(match a.status {
                    AvatarStatus::Register => 1,
                    AvatarStatus::Transfer => 2,
                });
                out.put_str(&a.symbol);
                out.put_str(&a.address);
            }
            AttachmentBody::Certificate(c) => {
                out.put_str(&c.symbol);
                out.put_str(&c.owner);
                out.put_str(&c.address);
                out.put_u32(c.cert_type.to_u32());
                out.put_u8(c.status);
            }
        }
    }
}

impl Decode for Attachment {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u32("attachment version")?;
        if version != ATTACHMENT_VERSION_PLAIN && version != ATTACHMENT_VERSION_DID {
            return Err(DecodeError::InvalidValue {
                field: "attachment version",
                value: version as u64,
            });
        }
        let type_id = r.u32("attachment type")?;
        let (to_did, from_did) = if version == ATTACHMENT_VERSION_DID {
            (r.string("to_did")?, r.string("from_did")?)
        } else {
            (String::new(), String::new())
        };
        let body = match type_id {
            type_id::ETP => AttachmentBody::Etp,
            type_id::ASSET => match r.u32("asset status")? {
                1 => AttachmentBody::AssetIssue(AssetDetail {
                    symbol: r.string("asset symbol")?,
                    max_supply: r.u64("max supply")?,
                    decimal_number: r.u8("decimal number")?,
                    secondaryissue_threshold: r.u8("secondary issue threshold")?,
                    reserved: [r.u8("asset detail")?, r.u8("asset detail")?],
                    issuer: r.string("issuer")?,
                    address: r.string("asset address")?,
                    description: r.string("description")?,
                }),
                2 => AttachmentBody::AssetTransfer(AssetTransfer {
                    symbol: r.string("asset symbol")?,
                    quantity: r.u64("asset quantity")?,
                }),
                s => {
                    return Err(DecodeError::InvalidValue {
                        field: "asset status",
                        value: s as u64,
                    })
                }
            },
            type_id::MESSAGE => AttachmentBody::Message(r.string("message")?),
            type_id::AVATAR => {
                let status = match r.u32("avatar status")? {
                    1 => AvatarStatus::Register,
                    2 => AvatarStatus::Transfer,
                    s => {
                        return Err(DecodeError::InvalidValue {
                            field: "avatar status",
                            value: s as u64,
                        })
                    }
                };
                AttachmentBody::Avatar(AvatarBody {
                    status,
                    symbol: r.string("avatar symbol")?,
                    address: r.string("avatar address")?,
                })
            }
            type_id::CERTIFICATE => AttachmentBody::Certificate(Certificate {
                symbol: r.string("cert symbol")?,
                owner: r.string("cert owner")?,
                address: r.string("cert address")?,
                cert_type: CertType::from_u32(r.u32("cert type")?),
                status: r.u8("cert status")?,
            }),
            t => {
                return Err(DecodeError::InvalidValue {
                    field: "attachment type",
                    value: t as u64,
                })
            }
        };
        Ok(Attachment {
            version,
            to_did,
            from_did,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_matches_vector_bytes() {
        let a = Attachment::plain(AttachmentBody::AssetTransfer(AssetTransfer {
            symbol: "SHOP.POINTS".into(),
            quantity: 150,
        }));
        assert_eq!(
            a.encode_hex(),
            "0100000002000000020000000b53484f502e504f494e54539600000000000000"
        );
        assert_eq!(Attachment::decode(&a.encode()).unwrap(), a);
    }

    #[test]
    fn did_attachment_round_trips() {
        let a = Attachment::with_dids(
            AttachmentBody::Certificate(Certificate {
                symbol: "SHOP".into(),
                owner: "shop".into(),
                address: "tX".into(),
                cert_type: CertType::Domain,
                status: cert_status::AUTO_ISSUE,
            }),
            "shop",
            "",
        );
        let bytes = a.encode();
        assert_eq!(&bytes[..4], &207u32.to_le_bytes());
        assert_eq!(Attachment::decode(&bytes).unwrap(), a);
    }

    #[test]
    fn unknown_type_is_an_error() {
        let mut bytes = Vec::new();
        bytes.put_u32(1);
        bytes.put_u32(9);
        assert!(matches!(
            Attachment::decode(&bytes),
            Err(DecodeError::InvalidValue {
                field: "attachment type",
                value: 9
            })
        ));
    }
}
