//! The body of a webhook message and its id.

use rand::{distributions::Alphanumeric, Rng};
use serde_json::{json, Value};

/// A new `webhook-id`: `msg_` + 27 random base62 characters (the Standard Webhooks style).
pub fn new_msg_id() -> String {
    let random: String = rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(27)
        .map(char::from)
        .collect();
    format!("msg_{random}")
}

/// `{"type": ..., "timestamp": RFC 3339, "data": ...}` as sent (DESIGN.md, "Webhooks").
pub fn body(event_type: &str, unix_seconds: i64, data: &Value) -> String {
    json!({ "type": event_type, "timestamp": rfc3339(unix_seconds), "data": data }).to_string()
}

/// Formats unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_format_as_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1649367553), "2022-04-07T21:39:13Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn message_ids_are_fresh() {
        let id = new_msg_id();
        assert!(id.starts_with("msg_") && id.len() == 31);
        assert_ne!(id, new_msg_id());
    }
}
