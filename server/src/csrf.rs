//! Cross-site request forgery defence for forms and server functions.
//!
//! The session cookie is `SameSite=Lax`, so browsers already leave it off cross-site
//! POSTs; this middleware is the second layer: a state-changing request whose `Origin`
//! names another site, or whose `Sec-Fetch-Site` says `cross-site`/`same-site`, is refused
//! before any handler runs. Requests without either header (curl, server-to-server) pass:
//! without cookies a browser did not attach, they carry no ambient authority.

use axum::{
    extract::{Request, State},
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// The origin (`scheme://host[:port]`) the server is published under.
#[derive(Clone, Debug)]
pub struct PublicOrigin(pub String);

const REFUSAL: &str =
    "This request came from another site and was refused. Submit the form from pointmint itself.";

pub async fn reject_cross_site(
    State(public): State<PublicOrigin>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) || request.uri().path().starts_with("/api/")
    {
        // Safe methods change nothing; the REST API authenticates with bearer keys, not cookies.
        return next.run(request).await;
    }
    if is_cross_site(&request, &public.0) {
        tracing::warn!(path = request.uri().path(), "cross-site request refused");
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            REFUSAL,
        )
            .into_response();
    }
    next.run(request).await
}

fn is_cross_site(request: &Request, public_origin: &str) -> bool {
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site") {
            return true;
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let Ok(origin) = origin.to_str() else {
        return true;
    };
    if origin.eq_ignore_ascii_case(public_origin) {
        return false;
    }
    // Also accept the host the request was sent to (a server reached under several names,
    // or behind a proxy that terminates TLS): compare the authority, scheme aside.
    let origin_authority = origin.split_once("://").map(|(_, rest)| rest);
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    !matches!((origin_authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn post(headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder()
            .method("POST")
            .uri("/fn/log_in")
            .header("host", "shop.example:3000");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[test]
    fn same_origin_passes_and_other_sites_do_not() {
        let public = "https://points.example";
        assert!(!is_cross_site(&post(&[]), public));
        assert!(!is_cross_site(
            &post(&[("origin", "https://points.example")]),
            public
        ));
        assert!(!is_cross_site(
            &post(&[("origin", "http://shop.example:3000")]),
            public
        ));
        assert!(!is_cross_site(
            &post(&[("sec-fetch-site", "same-origin")]),
            public
        ));
        assert!(is_cross_site(
            &post(&[("origin", "https://evil.example")]),
            public
        ));
        assert!(is_cross_site(&post(&[("origin", "null")]), public));
        assert!(is_cross_site(
            &post(&[("sec-fetch-site", "cross-site")]),
            public
        ));
        assert!(is_cross_site(
            &post(&[
                ("origin", "http://shop.example:3000"),
                ("sec-fetch-site", "cross-site")
            ]),
            public
        ));
    }
}
