//! Server-side rendering while other apps in the same process start: the test binary runs
//! many apps side by side, and a page must never wait on another app's start-up.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use crate::helpers::spawn_app;

/// Listing an app's routes renders it with resource loading switched off by a process-wide
/// flag (leptos-rs/leptos#4773). A page whose data is first asked for while that flag is up
/// used to wait forever; here routes are listed without pause while pages with data render.
#[tokio::test]
async fn pages_finish_while_routes_are_listed_beside_them() {
    let app = spawn_app().await;
    let stop = StopOnDrop(Arc::new(AtomicBool::new(false)));
    let lister = tokio::task::spawn_blocking({
        let stop = stop.0.clone();
        move || {
            let mut listed = 0u32;
            while !stop.load(Ordering::Relaxed) {
                assert!(!server::startup::page_routes().is_empty());
                listed += 1;
            }
            listed
        }
    });

    for round in 0..40 {
        // The wallet page's sign-in form comes from a Resource (who is signed in).
        let page = tokio::time::timeout(Duration::from_secs(10), async {
            app.get("/wallet").await.text().await.unwrap()
        })
        .await
        .unwrap_or_else(|_| panic!("the wallet page never finished (request {round})"));
        assert!(
            page.contains("Mail me a sign-in link"),
            "request {round} rendered without its data: {page}"
        );
    }

    drop(stop);
    let listed = lister.await.unwrap();
    assert!(listed > 0, "routes were listed beside the pages");
    app.stop().await;
}

/// Stops the lister also when an assertion fails: the test's runtime waits for it on shutdown.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
