//! One delivery attempt: check the target again, sign, POST, record the outcome.

use std::time::Duration;

use app::domain::{
    clock,
    db::Database,
    webhooks::{
        deliveries::{self, Attempt, Claimed, Next},
        endpoints, signing,
        target::WebhookUrl,
        SecretSealer,
    },
};
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::config::WebhookSettings;

const TIMEOUT: Duration = Duration::from_secs(10);

pub struct Sender {
    db: Database,
    sealer: SecretSealer,
    settings: WebhookSettings,
}

impl Sender {
    pub fn new(db: Database, sealer: SecretSealer, settings: WebhookSettings) -> Self {
        Self {
            db,
            sealer,
            settings,
        }
    }

    #[tracing::instrument(skip_all, fields(delivery = claim.delivery.id, endpoint = claim.delivery.endpoint_id, msg_id = %claim.delivery.msg_id))]
    pub async fn attempt(&self, claim: Claimed) {
        let delivery = &claim.delivery;
        let (attempt, retry_after, gone) = self.send(&claim).await;
        let attempts = u32::try_from(delivery.attempts + 1).unwrap_or(u32::MAX);
        let next = if attempt.status_code.is_some_and(|c| (200..300).contains(&c)) {
            Next::Succeeded
        } else if gone {
            Next::GiveUp
        } else {
            match self.settings.schedule.delay_after(attempts, retry_after) {
                Some(delay) => Next::RetryAt {
                    millis: deliveries::now_millis() + delay.as_millis() as i64,
                },
                None => Next::GiveUp,
            }
        };
        tracing::info!(status = ?attempt.status_code, error = ?attempt.error, ?next, "webhook attempt");
        if let Err(error) = deliveries::record(&self.db, delivery.id, &attempt, next).await {
            // The lease runs out and the delivery is tried again: at-least-once.
            tracing::error!(%error, "recording a webhook attempt failed");
        }
        if gone {
            if let Err(error) = endpoints::disable(
                &self.db,
                delivery.endpoint_id,
                "the endpoint answered 410 Gone",
            )
            .await
            {
                tracing::error!(%error, "disabling a gone webhook endpoint failed");
            }
        }
    }

    /// Returns the attempt, a `Retry-After` the receiver asked for, and whether it said 410.
    async fn send(&self, claim: &Claimed) -> (Attempt, Option<Duration>, bool) {
        let failed = |error: String| {
            (
                Attempt {
                    status_code: None,
                    excerpt: None,
                    error: Some(error),
                },
                None,
                false,
            )
        };
        let url = match WebhookUrl::parse(&claim.url) {
            Ok(url) => url,
            Err(error) => return failed(error.to_string()),
        };
        // Resolved again now (DNS rebinding), and the connection goes to exactly these addresses.
        let addrs = match url.resolve(self.settings.allow_private).await {
            Ok(addrs) => addrs,
            Err(error) => return failed(error.to_string()),
        };
        let secret = match endpoints::sealed_secret(&self.db, claim.delivery.endpoint_id).await {
            Ok(sealed) => match self.sealer.open(&sealed) {
                Ok(secret) => secret,
                Err(error) => return failed(error.to_string()),
            },
            Err(error) => return failed(format!("database: {error}")),
        };
        let client = match reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .resolve_to_addrs(url.host(), &addrs)
            .user_agent(concat!("pointmint-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            Ok(client) => client,
            Err(error) => return failed(format!("HTTP client: {error}")),
        };
        let timestamp = clock::now();
        let body = claim.delivery.payload.clone();
        let signature = signing::sign(&secret, &claim.delivery.msg_id, timestamp, &body);
        let response = client
            .post(url.as_str())
            .header("content-type", "application/json")
            .header("webhook-id", &claim.delivery.msg_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => return failed(describe(error)),
        };
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let excerpt = match response.bytes().await {
            Ok(bytes) => Some(deliveries::excerpt(&bytes)),
            Err(_) => None,
        };
        (
            Attempt {
                status_code: Some(status),
                excerpt,
                error: None,
            },
            retry_after,
            status == 410,
        )
    }
}

/// A short reason without the URL (which the log already shows next to the delivery).
fn describe(error: reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "could not connect".into()
    } else {
        error.without_url().to_string()
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "120".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(120)));
        let later = std::time::SystemTime::now() + Duration::from_secs(3600);
        headers.insert(RETRY_AFTER, httpdate::fmt_http_date(later).parse().unwrap());
        let parsed = retry_after(&headers).unwrap();
        assert!(parsed > Duration::from_secs(3590) && parsed <= Duration::from_secs(3600));
        headers.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }
}
