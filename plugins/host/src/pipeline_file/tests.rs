use super::*;

fn parse(text: &str) -> Result<PipelineFile, PluginHostError> {
    PipelineFile::parse(text, "dir/p.toml")
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn sections_take_any_type_and_sockets_default_to_the_module() {
    let p = parse(
        "plugins = ['plugins/']\nsavant = '0.6.0'\n\
         [module]\ninput = 'dealer+connect:ipc:///tmp/i'\noutput = 'router+bind:ipc:///tmp/o'\n\
         [[source]]\ntype = 'video_file'\npath = 'a.mp4'\nsource_id = 'cam-1'\n\
         [[source]]\ntype = 'synthetic'\nname = 'gen'\nprotocol_version = '1.15.1'\nsettings = { frames = 3, name = 'x' }\n\
         [[sink]]\ntype = 'video_files'\ndir = 'out'\nidle_timeout = 2\n\
         [[sink]]\ntype = 'metadata_json'\npath = 'm.jsonl'\n",
    )
    .unwrap();
    assert_eq!(p.plugins, vec![PathBuf::from("dir/plugins/")]);
    let s = &p.sources[0];
    assert_eq!(
        (s.type_name.as_str(), s.name.as_str()),
        ("video_file", "video_file#1")
    );
    assert_eq!(s.socket, "dealer+connect:ipc:///tmp/i");
    assert_eq!(s.version.as_str(), "1.13.0");
    assert_eq!(
        s.config.json,
        "{\n\"path\": \"a.mp4\",\n\"source_id\": \"cam-1\"\n}"
    );
    let g = &p.sources[1];
    assert_eq!((g.name.as_str(), g.version.as_str()), ("gen", "1.15.1"));
    assert!(g.config.json.contains("\"frames\": 3") && g.config.json.contains("\"name\": \"x\""));
    // both sinks share the module's output and its reader's idle timeout
    assert!(p
        .sinks
        .iter()
        .all(|s| s.socket == "router+bind:ipc:///tmp/o"));
    assert!(p
        .sinks
        .iter()
        .all(|s| s.idle_timeout == Some(std::time::Duration::from_secs(2))));
    assert_eq!(p.sinks[1].config.json, "{\n\"path\": \"m.jsonl\"\n}");
}

#[test]
fn errors_name_their_line() {
    let e = err("plugins = []\n\n[[source]]\nsocket = 'ipc:///a'\n");
    assert!(
        e.contains("line 3") && e.contains("`type` is missing"),
        "{e}"
    );
    let e = err("[[source]]\ntype = 'x'\n");
    assert!(
        e.contains("line 1") && e.contains("no [module] input"),
        "{e}"
    );
    let e = err("[[sink]]\ntype = 'x'\nsocket = 'ipc:///a'\nidle_timeout = 'soon'\n");
    assert!(e.contains("line 4") && e.contains("idle_timeout"), "{e}");
    let e = err("[[sink]]\ntype = 3\nsocket = 'ipc:///a'\n");
    assert!(
        e.contains("line 2") && e.contains("`type` must be a string"),
        "{e}"
    );
    let e = err("colour = 'red'\n");
    assert!(e.contains("line 1") && e.contains("colour"), "{e}");
    let e = err("[loopback]\ninput = 'a'\noutput = 'b'\nspin = 3\n");
    assert!(e.contains("line 4") && e.contains("spin"), "{e}");
    let e = err("plugins = []\nprotocol_version = '1.15.1'\nsavant = '0.6.1'\n");
    assert!(e.contains("line 2") && e.contains("not both"), "{e}");
    let e = err("[[source]]\ntype = 'x'\nsocket = 'a'\nsavant = '0.5.9'\n");
    assert!(
        e.contains("line 1") && e.contains("--protocol-version"),
        "{e}"
    );
    let e = err("[loopback]\ninput = 'a'\noutput = 'b'\nmark = 'nope'\n");
    assert!(e.contains("NAMESPACE/NAME"), "{e}");
    let e = err("[[sink]]\ntype = 'x'\nsocket = 'a'\naccept_version = '1.x.y'\n");
    assert!(e.contains("line 1") && e.contains("accept_version"), "{e}");
    let e = err(
        "[[sink]]\ntype = 'x'\nsocket = 's'\nidle_timeout = 1\n[[sink]]\ntype = 'y'\nsocket = 's'\nidle_timeout = 2\n",
    );
    assert!(
        e.contains("line 5") && e.contains("line 1") && e.contains("one reader"),
        "{e}"
    );
    let e = err("[[source]]\ntype = 'x'\nsocket = 's'\nk = 1\nsettings = { k = 2 }\n");
    assert!(e.contains("`k` is given both"), "{e}");
    let e = err("[[source]]\ntype = 'x'\nsocket = 's'\nsettings = 3\n");
    assert!(e.contains("line 4") && e.contains("must be a table"), "{e}");
    // a bad settings elsewhere blames only itself
    let e = err("[[source]]\ntype = 'x'\nsocket = 's'\nsettings = { a = 1 }\n[[source]]\ntype = 'y'\nsocket = 's'\nsettings = 'no'\n");
    assert!(e.contains("line 8") && e.contains("must be a table"), "{e}");
    let e = err("[[sink]]\ntype = 'x'\nsocket = 's'\nidle_timeout = 1e20\n");
    assert!(e.contains("line 4") && e.contains("idle_timeout"), "{e}");
    let e = err("[module]\nhealthcheck_timeout = inf\n");
    assert!(e.contains("healthcheck_timeout"), "{e}");
    let e = err("[[source]]\ntype = 'x'\nsocket = 's'\n\nfps = nan\n");
    assert!(e.contains("line 5") && e.contains("`fps`"), "{e}");
}

#[test]
fn a_loopback_module_nobody_reads_is_refused() {
    let e = err("[loopback]\ninput = 'router+bind:ipc:///tmp/i'\noutput = 'dealer+connect:ipc:///tmp/o'\n[[source]]\ntype = 'x'\nsocket = 'dealer+connect:ipc:///tmp/i'\n");
    assert!(
        e.contains("nothing reads the loopback module's output"),
        "{e}"
    );
    parse("[loopback]\ninput = 'router+bind:ipc:///tmp/i'\noutput = 'dealer+connect:ipc:///tmp/o'\n[[sink]]\ntype = 'x'\nsocket = 'router+bind:ipc:///tmp/o'\n").unwrap();
}

#[test]
fn component_keys_are_checked_by_the_component_with_their_line() {
    use savant_sdk_example_frame_counter as _;
    use savant_sdk_example_synthetic_source as _;
    let registry = crate::PluginRegistry::with_static().unwrap();
    let p = parse("[[source]]\ntype = 'synthetic'\nsocket = 's'\nframes = 3\nfsp = 30\n").unwrap();
    let e = p.validate(&registry).unwrap_err().to_string();
    assert!(e.contains("line 5") && e.contains("fsp"), "{e}");
    let p = parse("[[source]]\ntype = 'synthetic'\nsocket = 's'\n\nfps = 0\n").unwrap();
    let e = p.validate(&registry).unwrap_err().to_string();
    assert!(e.contains("line 5") && e.contains("fps"), "{e}");
    let p = parse("[[source]]\ntype = 'frame-counter'\nsocket = 's'\n").unwrap();
    let e = p.validate(&registry).unwrap_err().to_string();
    assert!(e.contains("is a sink, not a source"), "{e}");
    let p = parse("[[sink]]\ntype = 'nope'\nsocket = 's'\n").unwrap();
    let e = p.validate(&registry).unwrap_err().to_string();
    assert!(
        e.contains("no component \"nope\"") && e.contains("synthetic"),
        "{e}"
    );
    let p = parse("[[sink]]\ntype = 'frame-counter'\nsocket = 's'\nsummary = 'x.json'\n").unwrap();
    p.validate(&registry).unwrap();
    // a settings table of its own: each key keeps its line
    let p = parse("[[source]]\ntype = 'synthetic'\nsocket = 's'\n\n[source.settings]\nsource_id = 'cam'\nframes = 'many'\n").unwrap();
    let e = p.validate(&registry).unwrap_err().to_string();
    assert!(e.contains("line 7") && e.contains("`frames`"), "{e}");
    assert!(
        !e.contains("column"),
        "no position inside the generated text: {e}"
    );
}

#[test]
fn the_schema_covers_every_component_and_the_pipeline_keys() {
    use savant_sdk_example_frame_counter as _;
    use savant_sdk_example_synthetic_source as _;
    let registry = crate::PluginRegistry::with_static().unwrap();
    let s = schema::pipeline_schema(&registry).unwrap();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let sources = s["properties"]["source"]["items"]["oneOf"]
        .as_array()
        .unwrap();
    let synthetic = sources
        .iter()
        .find(|i| i["properties"]["type"]["const"] == "synthetic")
        .unwrap();
    for key in ["frames", "fps", "socket", "savant", "name"] {
        assert!(
            synthetic["properties"].get(key).is_some(),
            "{key}: {synthetic}"
        );
    }
    let sinks = s["properties"]["sink"]["items"]["oneOf"]
        .as_array()
        .unwrap();
    assert!(sinks
        .iter()
        .any(|i| i["properties"]["type"]["const"] == "frame-counter"));
    assert!(s["properties"]["telemetry"].is_object() && s["properties"]["loopback"].is_object());
    // every $ref resolves inside the document
    let text = s.to_string();
    for r in text.split("\"$ref\":\"#/$defs/").skip(1) {
        let name = r.split('"').next().unwrap();
        assert!(s["$defs"].get(name).is_some(), "dangling $ref {name}");
    }
    let list = schema::list(&registry).unwrap();
    assert!(
        list.contains("source synthetic") && list.contains("    frames ("),
        "{list}"
    );
}

#[test]
fn the_loopback_refusal_names_the_loopback_line() {
    let e = err("plugins = []\n[loopback]\ninput = 'router+bind:ipc:///tmp/i'\noutput = 'dealer+connect:ipc:///tmp/o'\n");
    assert!(e.contains("line 2") && e.contains("nothing reads"), "{e}");
}
