//! The module health check against a real HTTP server that answers as a
//! Savant module's does (`savant_peer.py healthcheck-server`, modelled on
//! Savant's `healthcheck/server.py`: HTTP/1.0, status file, 200 only for
//! `running`, 503 otherwise, 404 for other paths).

use std::path::Path;
use std::time::{Duration, Instant};

use savant_sdk_core::client::{HealthCheck, SourceBuilder};
use savant_sdk_core::{Error, HealthCheckError};
use savant_sdk_tests::{free_tcp_port, Peer};

fn server(status_file: &Path) -> (Peer, String) {
    let mut p = Peer::spawn(&[
        "healthcheck-server",
        "--port",
        "0",
        "--status-file",
        status_file.to_str().unwrap(),
    ])
    .unwrap();
    let ready = loop {
        let l = p.next_line(Duration::from_secs(20)).unwrap();
        if l["event"] == "ready" {
            break l;
        }
    };
    let port = ready["port"].as_u64().expect("port");
    (p, format!("http://127.0.0.1:{port}/healthcheck"))
}

fn check(url: &str, timeout_ms: u64) -> HealthCheck {
    HealthCheck::new(url)
        .timeout(Duration::from_millis(timeout_ms))
        .interval(Duration::from_millis(100))
}

#[tokio::test]
async fn starting_then_running() {
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status");
    std::fs::write(&status, "starting\n").unwrap();
    let (_server, url) = server(&status);
    let s = status.clone();
    let flip = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        std::fs::write(&s, "running").unwrap();
    });
    let start = Instant::now();
    check(&url, 10_000).wait(&["running"]).await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(700),
        "waited for running"
    );
    flip.await.unwrap();
}

#[tokio::test]
async fn never_ready_is_a_timeout_with_the_last_status() {
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status");
    std::fs::write(&status, "starting").unwrap();
    let (_server, url) = server(&status);
    let e = check(&url, 1000).wait(&["running"]).await.unwrap_err();
    assert!(
        matches!(e, HealthCheckError::NotReady { ref last_status, .. } if last_status == "starting"),
        "{e}"
    );
    // a sink also accepts "stopping"
    std::fs::write(&status, "stopping").unwrap();
    check(&url, 2000)
        .wait(&["running", "stopping"])
        .await
        .unwrap();
    // no status file: 503 with an empty body, still "not ready"
    std::fs::remove_file(&status).unwrap();
    let e = check(&url, 600).wait(&["running"]).await.unwrap_err();
    assert!(
        matches!(e, HealthCheckError::NotReady { ref last_status, .. } if last_status.is_empty()),
        "{e}"
    );
}

#[tokio::test]
async fn unreachable_bad_path_and_bad_url() {
    let url = format!("http://127.0.0.1:{}/healthcheck", free_tcp_port());
    let e = check(&url, 600).wait(&["running"]).await.unwrap_err();
    assert!(matches!(e, HealthCheckError::Unreachable { .. }), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status");
    std::fs::write(&status, "running").unwrap();
    let (_server, url) = server(&status);
    let e = check(&url.replace("healthcheck", "health"), 1000)
        .wait(&["running"])
        .await
        .unwrap_err();
    assert!(
        matches!(e, HealthCheckError::UnexpectedStatus { code: 404, .. }),
        "{e}"
    );

    let e = check("https://127.0.0.1/healthcheck", 100)
        .wait(&["running"])
        .await
        .unwrap_err();
    assert!(matches!(e, HealthCheckError::BadUrl { .. }), "{e}");
}

#[tokio::test]
async fn a_source_waits_for_the_module() {
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status");
    std::fs::write(&status, "initializing").unwrap();
    let (_server, url) = server(&status);
    let socket = format!("dealer+connect:ipc://{}/in.ipc", dir.path().display());
    let e = SourceBuilder::new(&socket)
        .healthcheck(&url, Duration::from_millis(500), Duration::from_millis(100))
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::HealthCheck(HealthCheckError::NotReady { .. })),
        "{e}"
    );
    std::fs::write(&status, "running").unwrap();
    SourceBuilder::new(&socket)
        .healthcheck(&url, Duration::from_secs(5), Duration::from_millis(100))
        .build()
        .await
        .unwrap();
}

/// Both endpoints of our own module-side server (the loopback module's):
/// `/healthcheck` with a plain-text body, as Savant 0.4.x, and `/status`
/// with a JSON string body, as Savant 0.5+; the check reads either, and a
/// source waits on either.
#[tokio::test]
async fn the_loopback_serves_healthcheck_and_status_and_both_are_understood() {
    use savant_sdk_loopback::health_server::HealthServer;
    use savant_sdk_loopback::{LoopbackConfig, LoopbackModule};

    let server = HealthServer::start("127.0.0.1:0".parse().unwrap(), "starting").unwrap();
    for url in [server.url(), server.status_url()] {
        let e = check(&url, 300).wait(&["running"]).await.unwrap_err();
        assert!(
            matches!(e, HealthCheckError::NotReady { ref last_status, .. } if last_status == "starting"),
            "{url}: {e}"
        );
    }
    // flips to running while a check on /status waits
    let waiting = tokio::spawn({
        let url = server.status_url();
        async move { check(&url, 10_000).wait(&["running"]).await }
    });
    server.set_status("running");
    waiting.await.unwrap().unwrap();
    check(&server.url(), 2000).wait(&["running"]).await.unwrap();
    // a sink accepts "stopped" if asked to; the JSON quotes are not part of it
    server.set_status("stopped");
    check(&server.status_url(), 2000)
        .wait(&["stopped"])
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let module = LoopbackModule::start(
        LoopbackConfig::new(
            format!("router+bind:ipc://{}/in.ipc", dir.path().display()),
            format!("dealer+connect:ipc://{}/out.ipc", dir.path().display()),
        )
        .healthcheck_addr("127.0.0.1:0".parse().unwrap()),
    )
    .unwrap();
    let (health, status) = (module.health_url().unwrap(), module.status_url().unwrap());
    assert!(health.ends_with("/healthcheck") && status.ends_with("/status"));
    for url in [&health, &status] {
        SourceBuilder::new(format!(
            "dealer+connect:ipc://{}/in.ipc",
            dir.path().display()
        ))
        .healthcheck(url, Duration::from_secs(5), Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    }
    module.stop().unwrap();
}
