//! Building and checking the URLs that pages and server functions redirect to.

/// Percent-encodes a query parameter value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// `path` with `key=value` added to its query string.
pub fn with_query(path: &str, key: &str, value: &str) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    format!("{path}{separator}{key}={}", encode(value))
}

/// Where to go after logging in: a local path only, so a crafted link cannot send a
/// freshly signed-in person to another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.contains("://") =>
        {
            path.to_owned()
        }
        _ => "/dashboard".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_appended_and_encoded() {
        assert_eq!(
            with_query("/login", "error", "rate_limited-3"),
            "/login?error=rate_limited-3"
        );
        assert_eq!(
            with_query("/login?next=/x", "next", "/a?b=c&d"),
            "/login?next=/x&next=/a%3Fb%3Dc%26d"
        );
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(
            safe_next(Some("/dashboard/stores/4/staff")),
            "/dashboard/stores/4/staff"
        );
        for evil in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "evil",
        ] {
            assert_eq!(safe_next(Some(evil)), "/dashboard", "{evil}");
        }
        assert_eq!(safe_next(None), "/dashboard");
    }
}
