//! Plugin settings given as a value (a struct of the caller's own, a
//! `serde_json::Value`) instead of TOML text, for a linked and a loaded
//! plugin alike. (A test binary of its own: the one beside it captures the
//! plugin's logs with a thread-local subscriber, which frames generated on
//! another thread at the same time would disturb.)

mod support;

use savant_sdk_core::source::{Source, SourceItem};
use savant_sdk_plugin_host::PluginRegistry;
use support::{library, SOURCE_LIB};

// Linked statically: its `export_source!` registration comes with it.
use savant_sdk_example_synthetic_source as _;

/// The synthetic source's settings as a struct of the caller's own.
#[derive(serde::Serialize)]
struct Synthetic {
    frames: u64,
    width: u32,
    height: u32,
    source_id: String,
}

#[test]
fn settings_given_as_a_struct_or_a_serde_value_build_the_same_source() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let count = |mut source: Box<dyn Source>| {
        let mut ids = Vec::new();
        while let Some(item) = rt.block_on(source.next()).unwrap() {
            if let SourceItem::Frame(f) = item {
                ids.push((f.frame.source_id, f.frame.width));
            }
        }
        ids
    };
    let linked = PluginRegistry::with_static().unwrap();
    let mut loaded = PluginRegistry::new();
    loaded.load(library(SOURCE_LIB)).unwrap();
    for registry in [&linked, &loaded] {
        let settings = Synthetic {
            frames: 3,
            width: 48,
            height: 32,
            source_id: "typed".into(),
        };
        let typed = count(registry.source_with("synthetic", &settings).unwrap());
        assert_eq!(typed, vec![("typed".to_string(), 48); 3]);
        let value = serde_json::json!({"frames": 2, "width": 64, "height": 32, "source_id": "v"});
        let from_value = count(registry.source_with("synthetic", &value).unwrap());
        assert_eq!(from_value, vec![("v".to_string(), 64); 2]);
        // the plugin's own checks still apply, and a non-table is refused
        let e = registry
            .source_with("synthetic", &serde_json::json!({"frams": 2}))
            .err()
            .expect("unknown key");
        assert!(e.to_string().contains("frams"), "{e}");
        let e = registry
            .source_with("synthetic", &[1, 2])
            .err()
            .expect("not a table");
        assert!(e.to_string().contains("table"), "{e}");
    }
}
