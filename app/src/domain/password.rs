//! Passwords: length rules, argon2id hashing off the async runtime, constant-work verification.

use std::{fmt, sync::OnceLock};

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};

use crate::errors::AppError;

pub const MIN_PASSWORD_CHARS: u32 = 10;
pub const MAX_PASSWORD_CHARS: u32 = 128;

/// A password that satisfies the length rules. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(input: String) -> Result<Self, AppError> {
        let chars = input.chars().count() as u32;
        if chars < MIN_PASSWORD_CHARS {
            return Err(AppError::PasswordTooShort(MIN_PASSWORD_CHARS));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(AppError::PasswordTooLong(MAX_PASSWORD_CHARS));
        }
        Ok(Self(input))
    }

    /// Wraps what someone typed into a log-in form: it is only ever compared, never stored,
    /// so no length rule applies (beyond a cap that keeps hashing cheap for attackers' inputs).
    pub fn candidate(input: String) -> Self {
        Self(
            input
                .chars()
                .take(MAX_PASSWORD_CHARS as usize * 2)
                .collect(),
        )
    }
}

/// The password's text, for comparing a "repeat password" field.
pub fn expose(password: &Password) -> &String {
    &password.0
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// argon2id with OWASP's minimum parameters: 19 MiB memory, 2 iterations, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .expect("hashing with valid parameters cannot fail")
        .to_string()
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    // The parameters come from the stored PHC string, so older hashes keep verifying if
    // the defaults are ever raised.
    PasswordHash::new(hash).is_ok_and(|parsed| {
        hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash of a random password, verified against when the e-mail is unknown so that the
/// answer takes as long as for a real account.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking(&hex::encode(rand::random::<[u8; 16]>())))
}

/// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`) of a new password.
pub async fn hash(password: &Password) -> Result<String, AppError> {
    let password = password.0.clone();
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|error| {
            tracing::error!(%error, "password hashing task failed");
            AppError::Internal
        })
}

/// Whether `password` matches `stored`; with no stored hash it does the same work and says no.
pub async fn verify(password: &Password, stored: Option<String>) -> Result<bool, AppError> {
    let password = password.0.clone();
    tokio::task::spawn_blocking(move || match stored {
        Some(hash) => verify_blocking(&password, &hash),
        None => {
            verify_blocking(&password, dummy_hash());
            false
        }
    })
    .await
    .map_err(|error| {
        tracing::error!(%error, "password verification task failed");
        AppError::Internal
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rules() {
        assert_eq!(
            Password::parse("short".into()).unwrap_err(),
            AppError::PasswordTooShort(10)
        );
        assert_eq!(
            Password::parse("x".repeat(129)).unwrap_err(),
            AppError::PasswordTooLong(128)
        );
        assert!(Password::parse("correct horse".into()).is_ok());
        assert_eq!(
            format!("{:?}", Password::parse("correct horse".into()).unwrap()),
            "Password(***)"
        );
    }

    #[tokio::test]
    async fn hashes_verify_only_the_right_password() {
        let password = Password::parse("correct horse battery".into()).unwrap();
        let hash = hash(&password).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify(&password, Some(hash.clone())).await.unwrap());
        assert!(!verify(
            &Password::candidate("wrong horse battery".into()),
            Some(hash)
        )
        .await
        .unwrap());
        assert!(!verify(&password, None).await.unwrap());
    }
}
