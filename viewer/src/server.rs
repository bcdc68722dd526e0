//! The viewer's HTTP server (axum on the caller's tokio runtime).
//!
//! | path | what |
//! |---|---|
//! | `/` | the page: a tile per source id, refreshed 4 times a second |
//! | `/api/streams` | every source's numbers ([`Snapshot`](crate::Snapshot)) as JSON |
//! | `/api/streams/<id>/frame.jpg` | the latest picture, annotated (404 with the reason when there is none) |
//! | `/api/streams/<id>/mjpeg` | the same as `multipart/x-mixed-replace` (VLC, ffplay, a browser tab) |
//!
//! `<id>` is the source id percent-encoded as one path segment.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::error::ViewerError;
use crate::viewer::Viewer;

/// MJPEG streams served at once at most; more get 503.
pub const MAX_MJPEG_CLIENTS: usize = 32;

const PAGE: &str = include_str!("page.html");
const BOUNDARY: &str = "savant-frame";

/// A running HTTP server of a [`Viewer`]; stopped by [`ViewerServer::stop`]
/// or when dropped.
#[derive(Debug)]
pub struct ViewerServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl ViewerServer {
    /// The address it listens on (the port chosen when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's URL, `http://ADDR/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops serving (open connections are closed).
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for ViewerServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct App {
    viewer: Viewer,
    mjpeg_clients: Arc<AtomicUsize>,
}

impl Viewer {
    /// Serves the page and the endpoints on `addr` (port 0: any free
    /// port; see [`ViewerServer::addr`]) on the current tokio runtime.
    pub async fn serve(&self, addr: SocketAddr) -> Result<ViewerServer, ViewerError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ViewerError::Bind { addr, source })?;
        self.serve_listener(listener, addr)
    }

    /// Serves on a listener bound already (synchronously, say, so that a
    /// taken port fails at once), on the current tokio runtime.
    pub fn serve_std(&self, listener: std::net::TcpListener) -> Result<ViewerServer, ViewerError> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| ViewerError::NoRuntime)?;
        let addr = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        let bind = |source| ViewerError::Bind { addr, source };
        listener.set_nonblocking(true).map_err(bind)?;
        let _entered = handle.enter();
        let listener = tokio::net::TcpListener::from_std(listener).map_err(bind)?;
        self.serve_listener(listener, addr)
    }

    fn serve_listener(
        &self,
        listener: tokio::net::TcpListener,
        asked: SocketAddr,
    ) -> Result<ViewerServer, ViewerError> {
        let addr = listener.local_addr().map_err(|source| ViewerError::Bind {
            addr: asked,
            source,
        })?;
        let app = router(App {
            viewer: self.clone(),
            mjpeg_clients: Arc::default(),
        });
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(%addr, error = %e, "the viewer's HTTP server stopped");
            }
        });
        tracing::info!(url = %format!("http://{addr}/"), "viewer serving");
        Ok(ViewerServer { addr, task })
    }
}

fn router(app: App) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/streams", get(streams))
        .route("/api/streams/{id}/frame.jpg", get(frame))
        .route("/api/streams/{id}/mjpeg", get(mjpeg))
        .with_state(app)
}

fn no_store() -> (header::HeaderName, HeaderValue) {
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            no_store(),
        ],
        body,
    )
        .into_response()
}

async fn page() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            no_store(),
        ],
        PAGE,
    )
        .into_response()
}

async fn streams(State(app): State<App>) -> Response {
    match serde_json::to_vec(&app.viewer.snapshot()) {
        Ok(body) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                no_store(),
            ],
            body,
        )
            .into_response(),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// 404 with the reason: no such source, or why it has no picture.
fn no_picture(viewer: &Viewer, id: &str) -> Response {
    match viewer.stream(id) {
        None => text(StatusCode::NOT_FOUND, format!("no source {id:?}")),
        Some(s) => text(
            StatusCode::NOT_FOUND,
            s.note.unwrap_or_else(|| "no picture".into()),
        ),
    }
}

async fn frame(State(app): State<App>, Path(id): Path<String>) -> Response {
    match app.viewer.frame_jpeg(&id).await {
        Ok(Some((jpeg, n))) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
                no_store(),
                (
                    header::HeaderName::from_static("x-frame-count"),
                    HeaderValue::from(n),
                ),
            ],
            jpeg,
        )
            .into_response(),
        Ok(None) => no_picture(&app.viewer, &id),
        Err(e) => text(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    }
}

/// Counts an MJPEG client while it lives.
struct ClientSlot(Arc<AtomicUsize>);

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn mjpeg(State(app): State<App>, Path(id): Path<String>) -> Response {
    if app.mjpeg_clients.fetch_add(1, Ordering::Relaxed) >= MAX_MJPEG_CLIENTS {
        app.mjpeg_clients.fetch_sub(1, Ordering::Relaxed);
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("at most {MAX_MJPEG_CLIENTS} MJPEG streams at once"),
        );
    }
    let slot = ClientSlot(app.mjpeg_clients.clone());
    if app.viewer.stream(&id).is_none() {
        return text(StatusCode::NOT_FOUND, format!("no source {id:?}"));
    }
    let (tx, rx) = mpsc::channel(2);
    tokio::spawn(mjpeg_parts(app.viewer.clone(), id, tx, slot));
    let content_type = format!("multipart/x-mixed-replace; boundary={BOUNDARY}");
    match Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from_stream(Parts(rx)))
    {
        Ok(r) => r,
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// Sends a part whenever the source has a newer picture, at most
/// `max_renders_per_second`, until the client goes away.
async fn mjpeg_parts(
    viewer: Viewer,
    id: String,
    tx: mpsc::Sender<Result<Bytes, Infallible>>,
    _slot: ClientSlot,
) {
    let mut changes = viewer.changes();
    let interval = Duration::from_secs_f64(1.0 / viewer.options().max_renders_per_second);
    let mut last = None;
    loop {
        changes.borrow_and_update();
        let mut behind = false;
        match viewer.frame_jpeg(&id).await {
            Ok(Some((jpeg, n))) => {
                if last != Some(n) {
                    let head = format!(
                        "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                        jpeg.len()
                    );
                    let mut part = Vec::with_capacity(head.len() + jpeg.len() + 2);
                    part.extend_from_slice(head.as_bytes());
                    part.extend_from_slice(&jpeg);
                    part.extend_from_slice(b"\r\n");
                    if tx.send(Ok(Bytes::from(part))).await.is_err() {
                        return;
                    }
                    last = Some(n);
                }
                // a render older than the latest frame (rate limit): again soon
                behind = viewer.stream(&id).is_some_and(|s| s.frames != n);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(source_id = %id, error = %e, "viewer: MJPEG part not rendered")
            }
        }
        if !behind {
            tokio::select! {
                r = changes.changed() => if r.is_err() { return },
                _ = tx.closed() => return,
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = tx.closed() => return,
        }
    }
}

/// The parts of an MJPEG response, as a body stream.
struct Parts(mpsc::Receiver<Result<Bytes, Infallible>>);

impl futures_core::Stream for Parts {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// `s` percent-encoded as one path segment (RFC 3986 unreserved
/// characters kept).
pub(crate) fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(super::path_segment("cam-1"), "cam-1");
        assert_eq!(super::path_segment("a/b c"), "a%2Fb%20c");
        assert_eq!(super::path_segment("é"), "%C3%A9");
    }
}
