//! Refused and misbehaving plugins: each gives a typed error naming the
//! plugin, and the host goes on running the others.

mod support;

use std::path::Path;

use savant_sdk_core::source::{Source, SourceItem};
use savant_sdk_plugin_host::{PluginHostError, PluginRegistry};
use support::{library, SOURCE_LIB};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The healthy example source still loads and runs in `registry`.
fn others_still_run(registry: &PluginRegistry) {
    let mut source = registry
        .source("synthetic", "frames = 2\nwidth = 32\nheight = 32")
        .unwrap();
    let rt = rt();
    let mut n = 0;
    while let Some(item) = rt.block_on(source.next()).unwrap() {
        assert!(matches!(item, SourceItem::Frame(_)));
        n += 1;
    }
    assert_eq!(n, 2);
}

fn healthy_registry() -> PluginRegistry {
    let mut r = PluginRegistry::new();
    r.load(library(SOURCE_LIB)).unwrap();
    r
}

fn names(e: &PluginHostError, what: &Path) {
    let text = e.to_string();
    assert!(
        text.contains(&what.display().to_string()),
        "{text:?} names {}",
        what.display()
    );
}

#[test]
fn missing_path() {
    let mut r = healthy_registry();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("libnothing.so");
    let e = r.load(&path).unwrap_err();
    assert!(matches!(e, PluginHostError::NotFound { .. }), "{e:?}");
    names(&e, &path);
    others_still_run(&r);
}

#[test]
fn not_a_library() {
    let mut r = healthy_registry();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("libfake.so");
    std::fs::write(&path, "this is a text file\n").unwrap();
    let e = r.load(&path).unwrap_err();
    assert!(matches!(e, PluginHostError::NotALibrary { .. }), "{e:?}");
    names(&e, &path);
    others_still_run(&r);
}

#[test]
fn library_without_entry_point() {
    let mut r = healthy_registry();
    let path = library("savant_sdk_fixture_no_entry");
    let e = r.load(&path).unwrap_err();
    assert!(matches!(e, PluginHostError::NoEntryPoint { .. }), "{e:?}");
    names(&e, &path);
    others_still_run(&r);
}

#[test]
fn plugin_for_another_abi() {
    let mut r = healthy_registry();
    let path = library("savant_sdk_fixture_wrong_abi");
    let e = r.load(&path).unwrap_err();
    match &e {
        PluginHostError::AbiMismatch {
            plugin,
            found,
            expected,
        } => {
            assert_eq!(*found, 999);
            assert_eq!(*expected, savant_sdk_plugin_abi::ABI_VERSION);
            assert!(
                plugin.ends_with("#savant_sdk_plugin_entry_wrong_abi"),
                "{plugin}"
            );
        }
        other => panic!("{other:?}"),
    }
    names(&e, &path);
    assert_eq!(
        r.names().collect::<Vec<_>>(),
        vec!["synthetic"],
        "nothing of it registered"
    );
    others_still_run(&r);
}

#[test]
fn plugin_whose_next_panics() {
    let mut r = healthy_registry();
    assert_eq!(
        r.load(library("savant_sdk_fixture_panicking")).unwrap(),
        vec!["panicking"]
    );
    let mut source = r.source("panicking", "").unwrap();
    let rt = rt();
    assert!(
        rt.block_on(source.next()).unwrap().is_some(),
        "first call is fine"
    );
    let e = rt.block_on(source.next()).unwrap_err();
    match PluginHostError::find(&e) {
        Some(PluginHostError::Panicked {
            plugin,
            call,
            message,
        }) => {
            assert_eq!(plugin, "panicking");
            assert_eq!(*call, "next");
            assert!(message.contains("boom in next #2"), "{message}");
        }
        other => panic!("{other:?} from {e}"),
    }
    assert!(e.to_string().contains("panicking"), "{e}");
    // not called again after a panic
    let e = rt.block_on(source.next()).unwrap_err();
    assert!(
        matches!(
            PluginHostError::find(&e),
            Some(PluginHostError::Poisoned { .. })
        ),
        "{e}"
    );
    drop(source);
    others_still_run(&r);
}

#[test]
fn plugin_returning_malformed_bytes() {
    let mut r = healthy_registry();
    let path = library("savant_sdk_fixture_malformed");
    assert_eq!(r.load(&path).unwrap(), vec!["malformed"]);
    let mut source = r.source("malformed", "").unwrap();
    let rt = rt();
    for _ in 0..3 {
        let e = rt.block_on(source.next()).unwrap_err();
        match PluginHostError::find(&e) {
            Some(PluginHostError::Malformed { plugin, call, .. }) => {
                assert_eq!((plugin.as_str(), *call), ("malformed", "next"));
            }
            other => panic!("{other:?} from {e}"),
        }
    }
    // every buffer it lent was handed back to its own free
    // SAFETY: the fixture exports this function with this signature.
    let lib = unsafe { libloading::Library::new(&path) }.unwrap();
    let lent =
        unsafe { lib.get::<unsafe extern "C" fn() -> usize>(b"savant_sdk_fixture_malformed_lent") }
            .unwrap();
    assert_eq!(unsafe { lent() }, 0);
    others_still_run(&r);
}

#[test]
fn wrong_kind_unknown_name_and_duplicates() {
    let mut r = healthy_registry();
    let Err(e) = r.sink("synthetic", "") else {
        panic!("a source is not a sink")
    };
    assert!(matches!(e, PluginHostError::WrongKind { .. }), "{e:?}");
    let Err(e) = r.source("nope", "") else {
        panic!("unknown")
    };
    assert!(
        e.to_string().contains("nope") && e.to_string().contains("synthetic"),
        "{e}"
    );
    let e = r.load(library(SOURCE_LIB)).unwrap_err();
    assert!(matches!(e, PluginHostError::Duplicate { .. }), "{e:?}");
    // bad settings are the plugin's error, with the key it did not know
    let Err(e) = r.source("synthetic", "frams = 3") else {
        panic!("bad settings")
    };
    match &e {
        PluginHostError::Failed {
            plugin,
            call,
            message,
        } => {
            assert_eq!((plugin.as_str(), *call), ("synthetic", "create"));
            assert!(message.contains("frams"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    others_still_run(&r);
}

#[test]
fn a_folder_loads_what_it_can() {
    let dir = tempfile::tempdir().unwrap();
    for lib in [
        SOURCE_LIB,
        "savant_sdk_example_frame_counter",
        "savant_sdk_fixture_no_entry",
        "savant_sdk_fixture_wrong_abi",
    ] {
        let from = library(lib);
        std::fs::copy(&from, dir.path().join(from.file_name().unwrap())).unwrap();
    }
    std::fs::write(dir.path().join("libtext.so"), "not a library").unwrap();
    std::fs::write(dir.path().join("README.txt"), "ignored").unwrap();
    let mut r = PluginRegistry::new();
    let report = r.load_path(dir.path()).unwrap();
    assert_eq!(report.loaded, vec!["frame-counter", "synthetic"]);
    assert_eq!(report.failed.len(), 3, "{:?}", report.failed);
    others_still_run(&r);
}
