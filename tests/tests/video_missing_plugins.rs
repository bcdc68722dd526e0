//! A GStreamer installation without the parser plugin: the video file
//! source names the missing element and the Debian package that has it.
//!
//! GStreamer reads its plugin path once per process, so this is a test
//! binary of its own: it points GStreamer at a folder holding only some of
//! the real plugins (links to the installed ones) and a fresh registry.

use savant_sdk_core::source::Source;
use savant_sdk_sources::{SourceError, VideoFileSource};
use savant_sdk_tests::media::{Clip, TestCodec, TestContainer};

/// Where the installed plugins are (`pkg-config --variable=pluginsdir`).
fn plugin_dir() -> std::path::PathBuf {
    let out = std::process::Command::new("pkg-config")
        .args(["--variable=pluginsdir", "gstreamer-1.0"])
        .output()
        .expect("pkg-config (scripts/setup.sh installs it)");
    assert!(out.status.success(), "pkg-config knows gstreamer-1.0");
    std::path::PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

#[test]
fn a_missing_parser_is_named_with_its_debian_package() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    // Made by gst-launch-1.0 in its own process, with every plugin.
    Clip::new(TestCodec::H264, TestContainer::Mp4)
        .frames(5, 5)
        .write(&clip)
        .unwrap();

    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    // Core elements (filesrc), appsink, the type finders and the
    // MP4 demuxer, but not videoparsersbad (h264parse).
    for lib in [
        "libgstcoreelements.so",
        "libgstapp.so",
        "libgsttypefindfunctions.so",
        "libgstisomp4.so",
    ] {
        let real = plugin_dir().join(lib);
        assert!(
            real.exists(),
            "{} is installed (scripts/setup.sh)",
            real.display()
        );
        std::os::unix::fs::symlink(real, plugins.join(lib)).unwrap();
    }
    // Set before GStreamer starts in this process (nothing else runs here).
    std::env::set_var("GST_PLUGIN_SYSTEM_PATH_1_0", &plugins);
    std::env::set_var("GST_PLUGIN_PATH_1_0", &plugins);
    std::env::set_var("GST_REGISTRY_1_0", dir.path().join("registry.bin"));
    std::env::set_var("GST_REGISTRY_FORK", "no");

    let mut source = VideoFileSource::builder("cam-1", clip.to_str().unwrap())
        .build()
        .expect("filesrc and appsink are there");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(source.next())
        .expect_err("h264parse is missing");
    let message = format!("{err}");
    assert!(
        message.contains("`h264parse` is missing") && message.contains("gstreamer1.0-plugins-bad"),
        "{message}"
    );
    let savant_sdk_core::Error::Source { source, .. } = err else {
        panic!("a source error: {err:?}");
    };
    assert!(matches!(
        source.downcast_ref::<SourceError>(),
        Some(SourceError::MissingElement {
            element: "h264parse",
            package: "gstreamer1.0-plugins-bad"
        })
    ));
}
