//! The gst-rtsp-server half of the always-on output: one server, one
//! shared media per source id, its GLib main loop on its own thread.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_rtsp_server as rtsp_server;
use rtsp_server::glib;
use rtsp_server::prelude::*;

use crate::error::SinkError;

/// Where a media's `appsrc` is, once a player made the server start it.
pub(crate) type AppSrcSlot = Arc<Mutex<Option<gst_app::AppSrc>>>;

/// A running RTSP server.
pub(crate) struct Server {
    context: glib::MainContext,
    main_loop: glib::MainLoop,
    server: Option<rtsp_server::RTSPServer>,
    source: Option<glib::SourceId>,
    thread: Option<JoinHandle<()>>,
    port: u16,
    address: String,
}

impl Server {
    /// Listens on `address:port` (port 0: any free port).
    pub(crate) fn start(address: &str, port: u16) -> Result<Self, SinkError> {
        let context = glib::MainContext::new();
        let main_loop = glib::MainLoop::new(Some(&context), false);
        let server = rtsp_server::RTSPServer::new();
        server.set_address(address);
        server.set_service(&port.to_string());
        let source = server.attach(Some(&context)).map_err(|e| SinkError::Rtsp {
            what: format!("cannot listen on {address}:{port}"),
            detail: e.to_string(),
        })?;
        let bound = server.bound_port();
        let thread = {
            let (context, main_loop) = (context.clone(), main_loop.clone());
            std::thread::Builder::new()
                .name("rtsp-server".into())
                .spawn(move || {
                    let _ = context.with_thread_default(|| main_loop.run());
                })
                .map_err(|e| SinkError::Rtsp {
                    what: "cannot start the server's thread".into(),
                    detail: e.to_string(),
                })?
        };
        Ok(Self {
            context,
            main_loop,
            server: Some(server),
            source: Some(source),
            thread: Some(thread),
            port: u16::try_from(bound).unwrap_or(port),
            address: address.to_string(),
        })
    }

    /// The port listened on.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The URL of `path` (with `127.0.0.1` for an unspecified address).
    pub(crate) fn url(&self, path: &str) -> String {
        let host = match self.address.as_str() {
            "0.0.0.0" | "::" | "" => "127.0.0.1",
            a => a,
        };
        format!("rtsp://{host}:{}{path}", self.port)
    }

    /// Serves `launch` (with an `appsrc name=src` and a `pay0`) at `path`,
    /// one media shared by every player; `slot` gets the appsrc each time
    /// the server starts the media, `caps` first.
    pub(crate) fn mount(&self, path: &str, launch: &str, slot: AppSrcSlot, caps: gst::Caps) {
        let Some(server) = &self.server else {
            return;
        };
        let factory = rtsp_server::RTSPMediaFactory::new();
        factory.set_launch(launch);
        factory.set_shared(true);
        // the media stays up while the feed runs, whoever comes and goes
        factory.set_suspend_mode(rtsp_server::RTSPSuspendMode::None);
        factory.connect_media_configure(move |_, media| {
            let element = media.element();
            let Some(bin) = element.downcast_ref::<gst::Bin>() else {
                return;
            };
            if let Some(appsrc) = bin
                .by_name_recurse_up("src")
                .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
            {
                appsrc.set_caps(Some(&caps));
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(appsrc);
            }
        });
        if let Some(mounts) = server.mount_points() {
            mounts.add_factory(path, factory);
        }
    }

    /// Stops serving: mounts, client connections and sessions closed, the
    /// main loop ended.
    pub(crate) fn stop(&mut self) {
        let (Some(server), Some(source), Some(thread)) =
            (self.server.take(), self.source.take(), self.thread.take())
        else {
            return;
        };
        let (context, main_loop) = (self.context.clone(), self.main_loop.clone());
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        self.context.invoke(move || {
            server.client_filter(Some(&mut |_, _| rtsp_server::RTSPFilterResult::Remove));
            if let Some(pool) = server.session_pool() {
                pool.filter(Some(&mut |_, _| rtsp_server::RTSPFilterResult::Remove));
            }
            if let Some(listening) = context.find_source_by_id(&source) {
                listening.destroy();
            }
            drop(server);
            main_loop.quit();
            let _ = done_tx.send(());
        });
        if done_rx.recv_timeout(Duration::from_secs(5)).is_ok() {
            let _ = thread.join();
        } else {
            tracing::warn!("the RTSP server's main loop did not stop within 5 s");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
