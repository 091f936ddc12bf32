//! Types that server functions return and pages display (compiled for browser and server).

use serde::{Deserialize, Serialize};

use crate::errors::AppError;

/// What a person may do in a store. Higher roles include everything lower ones may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    Staff,
    Manager,
    Owner,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Manager, Role::Staff];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Manager => "manager",
            Role::Staff => "staff",
        }
    }

    pub fn parse(text: &str) -> Result<Self, AppError> {
        match text.trim() {
            "owner" => Ok(Role::Owner),
            "manager" => Ok(Role::Manager),
            "staff" => Ok(Role::Staff),
            _ => Err(AppError::InvalidRole),
        }
    }

    /// Owners and managers bring people in; nobody can invite above their own role.
    pub fn can_invite(self, role: Role) -> bool {
        self >= Role::Manager && role <= self
    }

    /// Only owners change roles and remove members.
    pub fn can_manage_members(self) -> bool {
        self == Role::Owner
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorView {
    pub id: i64,
    pub email: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreSummary {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub operator_id: i64,
    pub email: String,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub created_at: i64,
}

/// Everything the staff page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffView {
    pub store: StoreSummary,
    pub me: OperatorView,
    pub members: Vec<MemberView>,
    pub invitations: Vec<InvitationView>,
}

/// What an invitation link offers, shown before accepting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationOfferView {
    pub store_name: String,
    pub role: Role,
    pub email: String,
    /// The signed-in operator, if any.
    pub signed_in_as: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn roles_are_ordered_and_capabilities_follow() {
        assert!(Role::Owner > Role::Manager && Role::Manager > Role::Staff);
        assert!(Role::Owner.can_invite(Role::Owner));
        assert!(Role::Manager.can_invite(Role::Staff) && Role::Manager.can_invite(Role::Manager));
        assert!(!Role::Manager.can_invite(Role::Owner));
        assert!(!Role::Staff.can_invite(Role::Staff));
        assert!(Role::Owner.can_manage_members() && !Role::Manager.can_manage_members());
        assert_eq!(Role::parse("manager"), Ok(Role::Manager));
        assert!(Role::parse("admin").is_err());
    }
}
