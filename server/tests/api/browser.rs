//! A cookie-keeping HTTP client that acts like a person's browser: plain form posts (as
//! before the wasm loads), page loads, and server function calls as the hydrated page makes them.

use reqwest::{header, StatusCode};

use crate::helpers::TestApp;

pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
}

/// The answer to a plain form post: a redirect target.
#[derive(Debug)]
pub struct Posted {
    pub status: StatusCode,
    pub location: String,
}

impl Posted {
    /// The `?error=` code the form page is sent back with, if any.
    pub fn error(&self) -> Option<String> {
        self.location
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("error="))
            .map(str::to_owned)
    }
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self {
            base: app.address.clone(),
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(crate::helpers::REQUEST_TIMEOUT)
                .build()
                .unwrap(),
        }
    }

    /// Submits a form the way a browser without JavaScript does (`Accept: text/html`, same-origin).
    pub async fn submit(&self, server_fn: &str, from_page: &str, form: &[(&str, &str)]) -> Posted {
        let response = self
            .client
            .post(format!("{}/fn/{server_fn}", self.base))
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .header(header::ORIGIN, &self.base)
            .header(header::REFERER, format!("{}{from_page}", self.base))
            .form(form)
            .send()
            .await
            .unwrap();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        Posted {
            status: response.status(),
            location,
        }
    }

    /// Calls a server function as the hydrated page does; returns the status and JSON body.
    pub async fn call(
        &self,
        server_fn: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, serde_json::Value) {
        let response = self
            .client
            .post(format!("{}/fn/{server_fn}", self.base))
            .header(header::ACCEPT, "application/json")
            .header(header::ORIGIN, &self.base)
            .form(form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    /// Loads a page; returns status, `Location` (for redirects) and body.
    pub async fn page(&self, path_or_url: &str) -> (StatusCode, String, String) {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        };
        let response = self
            .client
            .get(url)
            .header(header::ACCEPT, "text/html")
            .send()
            .await
            .unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, location, response.text().await.unwrap())
    }

    /// Signs up and confirms through the mailed link, then logs in. Returns the signed-in browser.
    pub async fn signed_up(
        app: &TestApp,
        inbox: &crate::smtp::Inbox,
        email: &str,
        password: &str,
    ) -> Self {
        let browser = Self::new(app);
        let posted = browser
            .submit(
                "sign_up",
                "/signup",
                &[
                    ("email", email),
                    ("password", password),
                    ("password_repeat", password),
                ],
            )
            .await;
        assert_eq!(posted.location, "/signup?done=1", "{posted:?}");
        let mail = inbox
            .wait_for(email, "Confirm", std::time::Duration::from_secs(30))
            .await;
        let token = token_of(&mail.link(&format!("{}/verify-email?token=", app.address)));
        let posted = browser
            .submit("verify_email", "/verify-email", &[("token", &token)])
            .await;
        assert_eq!(posted.location, "/login?verified=1", "{posted:?}");
        let posted = browser
            .submit(
                "log_in",
                "/login",
                &[("email", email), ("password", password)],
            )
            .await;
        assert_eq!(posted.location, "/dashboard", "{posted:?}");
        browser
    }
}

/// The `token` parameter of a link.
pub fn token_of(link: &str) -> String {
    link.split("token=")
        .nth(1)
        .unwrap_or_else(|| panic!("no token in {link}"))
        .to_owned()
}

/// The value of the hidden field `name` as the page rendered it (the first one).
pub fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}
